"""`create_app(settings)`: the FastAPI application, its lifespan and its error handling."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import __version__
from app.agents.desk import router as desk_router
from app.agents.desk_view import DeskReads
from app.api import health
from app.api.router import API_PREFIX, API_ROUTERS
from app.auth.rate_limit import (
    InMemoryRateLimiter,
    Limit,
    LoginThrottle,
    RateLimiter,
    RedisRateLimiter,
)
from app.calls.service import end_calls_left_up
from app.channels.chat.places import REFRESH_EVERY_S as PLACES_EVERY_S
from app.channels.chat.places import PlaceTracker
from app.channels.chat.socket import router as chat_socket_router
from app.db.session import autocommit_reads, create_engine, create_session_factory
from app.errors import install_error_handlers
from app.interactions.follow_ups import CHECK_EVERY_S as FOLLOW_UPS_EVERY_S
from app.interactions.follow_ups import FollowUpScheduler
from app.interactions.service import build_created
from app.middleware import BodySizeLimitMiddleware, RequestIdMiddleware
from app.realtime.bus import create_bus
from app.realtime.grace import CHECK_EVERY_S as GRACE_EVERY_S
from app.realtime.grace import GraceKeeper
from app.realtime.hub import Hub
from app.realtime.redis_client import open_redis
from app.runtime import recovery
from app.runtime.host import WriterHost
from app.runtime.node import ClusterNode, EmbeddedNode, RoutingNode
from app.runtime.periodic import PeriodicTask
from app.runtime.reads import READS
from app.runtime.service import RoutingService, bus_publisher, write_outbox
from app.runtime.worker import RoutingWorker
from app.settings import Settings, resolve_secret_key
from app.state import Resources
from app.supervisors.live import HISTORY_STEP_S
from app.supervisors.metrics import metrics_router
from app.supervisors.snapshot import SnapshotBuilder
from app.supervisors.socket import router as supervisor_socket_router
from app.web.router import STATIC_DIR
from app.web.router import router as web_router
from app.webhooks.dispatcher import WebhookDispatcher
from app.webhooks.targets import TargetPolicy

logger = logging.getLogger(__name__)
# One for the batch being stored, one for a rebuild or a fence check beside it.
WRITER_POOL_SIZE = 2


def create_app(settings: Settings) -> FastAPI:
    """Build the app; nothing connects until the lifespan starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        secret_key = resolve_secret_key(settings)
        engine = create_engine(
            settings.effective_database_url, pool_size=settings.database_pool_size
        )
        bus = create_bus(settings.redis_url, prefix=settings.redis_prefix)
        sessions = create_session_factory(engine)
        # The routing writer's own connections: it never queues behind hundreds of desk
        # reads and API requests for a pooled connection, which would stall every change.
        writer_engine = create_engine(settings.effective_database_url, pool_size=WRITER_POOL_SIZE)
        writer_sessions = create_session_factory(writer_engine)
        webhooks = WebhookDispatcher(
            sessions, targets=TargetPolicy.from_networks(settings.webhook_allowed_networks)
        )

        def new_worker(fence: int | None) -> RoutingWorker:
            return RoutingWorker(
                sessions=writer_sessions,
                rebuild=recovery.rebuild,
                publish=bus_publisher(bus),
                outbox=write_outbox,
                on_deliveries=webhooks.notify,
                consequences=end_calls_left_up,
                sweep_interval_s=settings.sweep_interval_s,
                fence=fence,
            )

        node = _routing_node(settings, sessions, new_worker)
        # Shared by every process: a guesser gains nothing by spreading tries over them.
        throttle_redis = _redis_client(settings)
        login_throttle = (
            LoginThrottle.in_memory()
            if throttle_redis is None
            else LoginThrottle.on_redis(throttle_redis, prefix=settings.redis_prefix)
        )
        hub = Hub(bus)
        routing = RoutingService(node)
        read_engine = autocommit_reads(engine)
        resources = app.state.resources = Resources(
            settings=settings,
            secret_key=secret_key,
            engine=engine,
            sessions=sessions,
            read_sessions=create_session_factory(read_engine),
            read_engine=read_engine,
            desk_reads=DeskReads(read_engine),
            bus=bus,
            routing=routing,
            webhooks=webhooks,
            hub=hub,
            places=PlaceTracker(routing),
            chat_starts=_chat_starts(settings, throttle_redis),
            login_throttle=login_throttle,
        )
        snapshots = SnapshotBuilder(resources)
        resources.live.use(snapshots.build, snapshots.expire_figures)
        await webhooks.start()
        await hub.start()
        await node.start()
        chores = _chores(resources)
        for chore in chores:
            chore.start()
        logger.info(
            "switchboard %s ready: database=%s bus=%s role=%s",
            __version__,
            settings.database_backend,
            "redis" if settings.redis_url else "in-process",
            node.role,
        )
        try:
            yield
        finally:
            for chore in chores:
                await chore.stop()
            await resources.live.stop()
            await node.stop()
            await hub.stop()
            if throttle_redis is not None:
                await throttle_redis.aclose()
            await webhooks.stop()
            await bus.close()
            await writer_engine.dispose()
            await engine.dispose()

    app = FastAPI(
        title="Switchboard",
        version=__version__,
        summary="Omnichannel contact-center routing: chat, voice, video and casework.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # Added last runs first: the request id exists before the size check answers.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health.router)
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(chat_socket_router)
    app.include_router(desk_router)
    app.include_router(supervisor_socket_router)
    if settings.metrics_enabled:
        app.include_router(metrics_router)
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _chat_starts(settings: Settings, redis: Redis | None) -> RateLimiter:
    limit = Limit(settings.chat_starts_per_address, settings.chat_start_window_s)
    if redis is None:
        return InMemoryRateLimiter(limit)
    # Shared by every process, like the log-in throttle.
    return RedisRateLimiter(redis, limit, prefix=settings.redis_prefix)


def _chores(resources: Resources) -> list[PeriodicTask]:
    """Background rounds: places in line from every process; chores that act on shared
    state (grace periods, follow-ups) only where the routing writer runs."""

    def writing() -> bool:
        return resources.routing.role == "writer"

    return [
        PeriodicTask("chat-places", PLACES_EVERY_S, resources.places.refresh),
        PeriodicTask("socket-grace", GRACE_EVERY_S, GraceKeeper(resources).check_once, writing),
        PeriodicTask(
            "follow-ups", FOLLOW_UPS_EVERY_S, FollowUpScheduler(resources).check_once, writing
        ),
        # One snapshot every 30 s, so a dashboard opened later still has sparklines.
        PeriodicTask(
            "supervisor-history",
            HISTORY_STEP_S,
            lambda: resources.live.current(max_age_s=HISTORY_STEP_S),
        ),
    ]


def _redis_client(settings: Settings) -> Redis | None:
    if not settings.redis_url:
        return None
    return open_redis(settings.redis_url, socket_timeout=2)


def _routing_node(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    new_worker: Callable[[int | None], RoutingWorker],
) -> RoutingNode:
    """The writer in this process alone, or a contender for the lease among many (Redis)."""

    def host(worker: RoutingWorker) -> WriterHost:
        return WriterHost(worker, queries=READS, build_created=build_created)

    if not settings.redis_url:
        return EmbeddedNode(new_worker(None), host)
    return ClusterNode(
        redis_url=settings.redis_url,
        sessions=sessions,
        worker_factory=new_worker,
        host_factory=host,
        lease_ttl_s=settings.writer_lease_ttl_s,
        call_timeout_s=settings.writer_call_timeout_s,
        prefix=settings.redis_prefix,
    )
