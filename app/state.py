"""The resources one process holds, created in the lifespan and reached from requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.agents.desk_view import DeskReads
from app.auth.api_keys import VerifiedKeys
from app.auth.rate_limit import InMemoryRateLimiter, Limit, LoginThrottle, RateLimiter
from app.channels.chat.places import PlaceTracker
from app.interactions.idempotency import KeyedLocks
from app.realtime.bus import Bus
from app.realtime.hub import Hub
from app.runtime.service import RoutingService
from app.settings import Settings
from app.supervisors.live import LiveBoard
from app.webhooks.dispatcher import WebhookDispatcher


@dataclass(frozen=True, slots=True)
class Resources:
    """Everything the lifespan opened, closed again in reverse order at shutdown."""

    settings: Settings
    secret_key: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # Autocommit, for single-statement reads on hot paths: no BEGIN/ROLLBACK round trips.
    read_sessions: async_sessionmaker[AsyncSession]
    # The same, without an ORM session: for hot reads that build no model objects.
    read_engine: AsyncEngine
    # Agent desks' reads, made together when many desks ask at once.
    desk_reads: DeskReads
    bus: Bus
    routing: RoutingService
    webhooks: WebhookDispatcher
    hub: Hub
    places: PlaceTracker
    # New web chats per client address (shared through Redis with scale-out).
    chat_starts: RateLimiter = field(
        default_factory=lambda: InMemoryRateLimiter(Limit(max_hits=10, window_s=600))
    )
    idempotency_locks: KeyedLocks = field(default_factory=KeyedLocks)
    verified_keys: VerifiedKeys = field(default_factory=VerifiedKeys)
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle.in_memory)
    # The supervisor dashboard's shared snapshots (built once a tick while anyone watches).
    live: LiveBoard = field(default_factory=LiveBoard)


# Dependencies are `async def` even when they do not await: FastAPI runs plain functions
# in a thread pool, a hop per request for nothing.
async def get_resources(request: Request) -> Resources:
    """The process's resources, as stored on the app by the lifespan."""
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_routing(request: Request) -> RoutingService:
    """The routing service of this process."""
    resources: Resources = request.app.state.resources
    return resources.routing


RoutingDep = Annotated[RoutingService, Depends(get_routing)]
