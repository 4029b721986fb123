"""This process's part in routing: the writer itself, or a standby that forwards to it.

One process alone (the embedded default) is always the writer. With Redis, processes contest a
lease: its holder claims the lease's fencing number in the database, rebuilds the engine and
serves the request stream; every other process is a standby that sends its requests there and
takes over when the lease lapses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.realtime.redis_client import open_redis
from app.runtime.fencing import claim_fence, current_fence
from app.runtime.host import WriterHost
from app.runtime.lease import WriterLease
from app.runtime.requests import Reply, WriterRequest
from app.runtime.stream import StreamConsumer, StreamGateway, ensure_group
from app.runtime.tasks import cancel_and_wait
from app.runtime.worker import RoutingWorker

logger = logging.getLogger(__name__)

# Builds the worker for a writer term, given the term's fencing number (None: no lease).
WorkerFactory = Callable[[int | None], RoutingWorker]
# Wraps a worker in the host that answers requests with it.
HostFactory = Callable[[RoutingWorker], WriterHost]


class RoutingNode(Protocol):
    """How the edges of this process reach the routing writer, wherever it runs."""

    @property
    def role(self) -> str: ...

    @property
    def host(self) -> WriterHost | None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def call(self, request: WriterRequest) -> Reply: ...

    async def readiness(self) -> str: ...


def node_id() -> str:
    """A name for this process, unique across hosts and restarts."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class EmbeddedNode:
    """One process: always the writer, no lease, requests applied directly."""

    def __init__(self, worker: RoutingWorker, host_factory: HostFactory) -> None:
        self._worker = worker
        self._host = host_factory(worker)

    @property
    def role(self) -> str:
        """Always `writer`."""
        return "writer"

    @property
    def host(self) -> WriterHost | None:
        """The host answering requests in this process."""
        return self._host

    async def start(self) -> None:
        """Rebuild the engine and start the writer."""
        await self._worker.start()

    async def stop(self) -> None:
        """Stop the writer."""
        await self._worker.stop()

    async def call(self, request: WriterRequest) -> Reply:
        """Apply or answer `request` here."""
        return await self._host.handle(request)

    async def readiness(self) -> str:
        """`ok`, or why requests are refused."""
        return self._worker.status


class ClusterNode:
    """One of many processes sharing PostgreSQL and Redis: writer while it holds the lease."""

    def __init__(
        self,
        *,
        redis_url: str,
        sessions: async_sessionmaker[AsyncSession],
        worker_factory: WorkerFactory,
        host_factory: HostFactory,
        lease_ttl_s: float,
        call_timeout_s: float,
        prefix: str = "switchboard:",
    ) -> None:
        self.node_id = node_id()
        # Blocking stream reads wait up to a second; the socket timeout must outlast them.
        self._redis: Redis = open_redis(redis_url, socket_timeout=5)
        self._sessions = sessions
        self._worker_factory = worker_factory
        self._host_factory = host_factory
        self._prefix = prefix
        self._lease = WriterLease(
            self._redis, holder=self.node_id, ttl_s=lease_ttl_s, prefix=prefix
        )
        self._lease_ttl_s = lease_ttl_s
        self._gateway = StreamGateway(
            self._redis, prefix=prefix, node_id=self.node_id, timeout_s=call_timeout_s
        )
        self._host: WriterHost | None = None
        self._fence: int | None = None
        self._renewed_at = 0.0
        self._consumer_task: asyncio.Task[None] | None = None
        self._campaign_task: asyncio.Task[None] | None = None
        self.terms = 0

    @property
    def role(self) -> str:
        """`writer` while this process holds the lease, `standby` otherwise."""
        return "writer" if self._host is not None else "standby"

    @property
    def host(self) -> WriterHost | None:
        """The host answering requests while this process is the writer."""
        return self._host

    async def start(self) -> None:
        """Listen for replies and start contesting the lease (first attempt before returning)."""
        await self._gateway.start()
        with contextlib.suppress(Exception):
            await ensure_group(self._redis, self._prefix)
        await self._contest()
        self._campaign_task = asyncio.create_task(self._campaign(), name="writer-lease")

    async def stop(self) -> None:
        """Step down (releasing the lease at once for a standby) and close the connections."""
        await cancel_and_wait(self._campaign_task)
        await self._step_down("shutting down")
        await self._gateway.stop()
        await self._redis.aclose()

    async def call(self, request: WriterRequest) -> Reply:
        """Apply here when this process is the writer; otherwise send it over the stream."""
        host = self._host
        if host is not None and host.worker.running:
            return await host.handle(request)
        return await self._gateway.call(request)

    async def readiness(self) -> str:
        """`ok` when a writer holds the lease and (if it is this process) is running."""
        host = self._host
        if host is not None:
            return host.worker.status
        try:
            holder = await self._lease.holder_now()
        except Exception as exc:
            return f"unavailable: Redis cannot be reached ({exc})"
        if holder is None:
            return "unavailable: no process holds the writer lease (a fail-over is under way)"
        return "ok"

    async def _campaign(self) -> None:
        # A standby tries often so a lapsed lease is taken quickly; the writer renews at a
        # third of the lease's time, so two renewals may fail before it could lapse.
        while True:
            if self._host is None:
                await asyncio.sleep(min(0.5, self._lease_ttl_s / 6))
                await self._contest()
            else:
                await asyncio.sleep(self._lease_ttl_s / 3)
                await self._renew()

    async def _contest(self) -> None:
        try:
            async with self._sessions() as session:
                floor = await current_fence(session)
            fence = await self._lease.acquire(floor)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.debug("writer lease not contested: %s", exc)
            return
        if fence is None:
            return
        try:
            async with self._sessions() as session:
                await claim_fence(session, fence, self.node_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("won the writer lease but could not claim fence %d: %s", fence, exc)
            with contextlib.suppress(Exception):
                await self._lease.release(fence)
            return
        await self._become_writer(fence)

    async def _become_writer(self, fence: int) -> None:
        self._fence = fence
        self._renewed_at = clock.monotonic_s()
        worker = self._worker_factory(fence)
        await worker.start()
        host = self._host_factory(worker)
        self._host = host
        self.terms += 1
        consumer = StreamConsumer(self._redis, host, prefix=self._prefix, consumer=self.node_id)
        self._consumer_task = asyncio.create_task(consumer.run(), name="writer-requests")
        logger.info(
            "routing writer: this process (%s) took over with fence %d", self.node_id, fence
        )

    async def _renew(self) -> None:
        fence = self._fence
        host = self._host
        if fence is None or host is None:
            return
        if host.worker.fenced_out:
            await self._step_down("a newer writer fenced this one out")
            return
        try:
            held = await self._lease.renew(fence)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            held = None
            logger.warning("writer lease not renewed: %s", exc)
        if held is False:
            await self._step_down("the writer lease was lost")
            return
        if held:
            self._renewed_at = clock.monotonic_s()
        elif clock.monotonic_s() - self._renewed_at > self._lease_ttl_s * 0.75:
            # Unable to prove the lease is ours before it could lapse: stop writing first.
            await self._step_down("the writer lease could not be renewed in time")

    async def _step_down(self, why: str) -> None:
        host, fence = self._host, self._fence
        if host is None:
            return
        logger.warning("routing writer: stepping down (%s)", why)
        self._host = None
        self._fence = None
        await cancel_and_wait(self._consumer_task)
        self._consumer_task = None
        await host.worker.stop()
        if fence is not None:
            with contextlib.suppress(Exception):
                await self._lease.release(fence)
