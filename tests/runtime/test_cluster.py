"""Scale-out in one event loop: two apps ("processes") sharing one PostgreSQL and one Redis.

Each test gets a fresh migrated PostgreSQL database and a Redis key prefix of its own (its keys
are deleted afterwards). The real-process versions of these behaviours (kills, fail-over under
traffic) are in tests/runtime/test_failover.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.auth.principals import Role
from app.auth.tokens import issue_staff_token
from app.db.session import create_engine, create_session_factory
from app.interactions.models import Interaction, InteractionEvent
from app.interactions.service import build_created
from app.main import create_app
from app.queues.models import Queue
from app.realtime.bus import Subscription
from app.routing import commands as c
from app.routing.model import Channel, InteractionId, QueueId
from app.runtime import recovery
from app.runtime.fencing import claim_fence, current_fence
from app.runtime.host import WriterHost
from app.runtime.lease import WriterLease
from app.runtime.models import AppliedRequest, WriterFence
from app.runtime.node import ClusterNode
from app.runtime.persistence import IdempotencyRecord, NewInteraction, StoredEvent
from app.runtime.reads import READS
from app.runtime.requests import CreateInteraction, Execute, WriterRequest, encode_request
from app.runtime.stream import stream_key
from app.runtime.worker import RoutingWorker
from app.settings import Settings, load_settings
from tests.conftest import Caller
from tests.services import require_redis
from tests.world import add_queue, engine_of, resources_of

pytestmark = [pytest.mark.integration, pytest.mark.serial]

CHAT = {"channel": "chat", "queue": "UI", "customer": {"name": "Ana"}}
# The default lease: a takeover faster than this can only come from the lease's release.
LEASE_TTL_S = 3.0
TAKEOVER_LIMIT_S = 1.0
# Longer than any answer should take here, shorter than the test's own timeout.
WAIT_S = 5.0
POLL_S = 0.01


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A Redis key prefix of this test alone; every key under it is deleted afterwards."""
    url = require_redis()
    prefix = f"switchboard-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client: Redis = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    """A client of the test Redis, for what the test does there itself."""
    client: Redis = Redis.from_url(require_redis())
    yield client
    await client.aclose()


@pytest.fixture
def cluster_settings(postgres_migrated_url: str, redis_prefix: str, tmp_path: Path) -> Settings:
    """Settings of a cluster member: the test's database, Redis and prefix, a shared data dir.

    The data directory (and so the secret key) is shared, so a token works on every member.
    """
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=postgres_migrated_url,
        redis_url=require_redis(),
        redis_prefix=redis_prefix,
        writer_lease_ttl_s=LEASE_TTL_S,
        writer_call_timeout_s=WAIT_S,
    )


@pytest.fixture
async def sessions(postgres_migrated_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions of the test itself on the cluster's database."""
    engine = create_engine(postgres_migrated_url)
    yield create_session_factory(engine)
    await engine.dispose()


@dataclass
class Process:
    """One app with its lifespan running and an in-process HTTP client: a "process"."""

    app: FastAPI
    client: httpx.AsyncClient
    stack: contextlib.AsyncExitStack = field(repr=False)

    @property
    def role(self) -> str:
        """`writer` or `standby`, as this process sees itself now."""
        return resources_of(self.app).routing.role

    async def stop(self) -> None:
        """Shut down cleanly (the lifespan's end); a second call does nothing."""
        await self.stack.aclose()


async def start_process(settings: Settings) -> Process:
    """Create the app on `settings` and run its lifespan until `stop`."""
    stack = contextlib.AsyncExitStack()
    application = create_app(settings)
    await stack.enter_async_context(application.router.lifespan_context(application))
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    client = await stack.enter_async_context(
        httpx.AsyncClient(transport=transport, base_url="http://testserver")
    )
    return Process(application, client, stack)


@pytest.fixture
async def processes(cluster_settings: Settings) -> AsyncIterator[list[Process]]:
    """Two processes on the same database and Redis, started one after the other."""
    started: list[Process] = []
    try:
        for _ in range(2):
            started.append(await start_process(cluster_settings))
        yield started
    finally:
        for process in reversed(started):
            await process.stop()


def writer_and_standby(processes: list[Process]) -> tuple[Process, Process]:
    """The one writer and the one standby among two processes."""
    writers = [p for p in processes if p.role == "writer"]
    standbys = [p for p in processes if p.role == "standby"]
    assert len(writers) == 1 and len(standbys) == 1, [p.role for p in processes]
    return writers[0], standbys[0]


def admin_of(app: FastAPI) -> Caller:
    """An admin bearer token signed with the cluster's (shared) secret key."""
    token = issue_staff_token(
        resources_of(app).secret_key,
        staff_id=str(uuid.uuid4()),
        role=Role.ADMIN,
        name="admin",
        now=clock.now_s(),
    )
    return Caller("admin", {"Authorization": f"Bearer {token.token}"})


async def create_chat(process: Process, caller: Caller) -> dict[str, Any]:
    """POST a chat to the queue "UI" on `process`; its 201 body."""
    response = await process.client.post("/api/v1/interactions", json=CHAT, headers=caller.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def new_chat(
    queue_id: uuid.UUID, idempotency: IdempotencyRecord | None = None
) -> CreateInteraction:
    """The writer request an edge sends for a new chat in `queue_id`."""
    interaction_id = uuid.uuid4()
    return CreateInteraction(
        c.Arrive(InteractionId(str(interaction_id)), Channel.CHAT, queue_id=QueueId(str(queue_id))),
        NewInteraction(
            id=interaction_id, channel=Channel.CHAT, queue_id=queue_id, idempotency=idempotency
        ),
    )


async def wait_until(condition: Callable[[], bool], limit_s: float) -> float:
    """Poll `condition` until true or `limit_s` passed; the seconds it took."""
    started = time.monotonic()
    for _ in range(int(limit_s / POLL_S)):
        if condition():
            break
        await asyncio.sleep(POLL_S)
    return time.monotonic() - started


async def event_types_of(
    subscription: Subscription, interaction_id: str, wanted: set[str]
) -> set[str]:
    """Read `subscription` until every `wanted` event of the interaction came (or WAIT_S)."""
    seen: set[str] = set()
    messages = aiter(subscription)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(WAIT_S):
            while not wanted <= seen:
                _channel, payload = await anext(messages)
                event = json.loads(payload)
                if event["data"].get("interaction_id") == interaction_id:
                    seen.add(event["type"])
    await messages.aclose()  # type: ignore[attr-defined]
    return seen


class RawSender:
    """Adds entries to the writer's request stream by hand, and reads their replies."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self.channel = f"{prefix}writer:replies:test-{uuid.uuid4().hex[:8]}"
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)

    async def __aenter__(self) -> RawSender:
        await self._pubsub.subscribe(self.channel)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    async def send(self, request_id: str, request: WriterRequest) -> dict[str, Any]:
        """XADD one entry with this id and wait for the writer's reply to it."""
        await self._redis.xadd(
            stream_key(self._prefix),
            {"id": request_id, "reply": self.channel, "body": json.dumps(encode_request(request))},
        )
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            message = await self._pubsub.get_message(timeout=0.2)
            if message is not None and message["type"] == "message":
                reply: dict[str, Any] = json.loads(message["data"])
                assert reply["id"] == request_id
                return reply
        raise AssertionError(f"no reply to {request_id} within {WAIT_S}s")


async def count(sessions: async_sessionmaker[AsyncSession], statement: Any) -> int:
    """The number a `select(func.count())...` statement counts, in a fresh session."""
    async with sessions() as session:
        return int(await session.scalar(statement) or 0)


# ---------------------------------------------------------------------------------------------
# Roles and forwarding


async def test_exactly_one_of_two_processes_is_the_writer_and_both_are_ready(
    processes: list[Process],
) -> None:
    writer, standby = writer_and_standby(processes)
    assert writer.app is processes[0].app  # the first to start took the lease
    for process in (writer, standby):
        response = await process.client.get("/readyz")
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["status"], body["role"]) == ("ready", process.role)
        assert body["checks"] == {"database": "ok", "bus": "ok", "routing": "ok"}
    assert resources_of(standby.app).routing.node.host is None


async def test_a_create_sent_to_the_standby_is_applied_by_the_writer_and_answered_the_same(
    processes: list[Process],
) -> None:
    writer, standby = writer_and_standby(processes)
    await add_queue(standby.app, "UI", {"ui": 1})  # a reload, forwarded to the writer too
    admin = admin_of(writer.app)
    first = await create_chat(writer, admin)
    second = await create_chat(standby, admin)
    assert set(second) == set(first)
    assert (second["state"], second["position"]) == ("queued", 2)
    view = engine_of(writer.app).interaction(InteractionId(second["id"]))
    assert view is not None and view.queue_id == first["queue_id"]
    for process in (writer, standby):
        response = await process.client.get(
            f"/api/v1/interactions/{second['id']}", headers=admin.headers
        )
        assert response.status_code == 200, response.text
        assert (response.json()["state"], response.json()["position"]) == ("queued", 2)


async def test_events_published_by_the_writer_reach_a_subscriber_of_the_other_process(
    processes: list[Process],
) -> None:
    writer, standby = writer_and_standby(processes)
    await add_queue(writer.app, "UI", {"ui": 1})
    subscription = await resources_of(standby.app).bus.subscribe("events")
    try:
        created = await create_chat(writer, admin_of(writer.app))
        seen = await event_types_of(
            subscription, created["id"], {"interaction.created", "interaction.queued"}
        )
    finally:
        await subscription.close()
    assert seen == {"interaction.created", "interaction.queued"}


# ---------------------------------------------------------------------------------------------
# Hand-over and fencing


async def test_the_standby_takes_over_within_a_second_when_the_writer_shuts_down_cleanly(
    processes: list[Process],
) -> None:
    writer, standby = writer_and_standby(processes)
    await add_queue(writer.app, "UI", {"ui": 1})
    admin = admin_of(writer.app)
    waiting = [(await create_chat(p, admin))["id"] for p in (writer, standby, writer)]
    await writer.stop()
    took_s = await wait_until(lambda: standby.role == "writer", 3 * LEASE_TTL_S)
    assert standby.role == "writer"
    assert took_s < TAKEOVER_LIMIT_S, f"took {took_s:.2f}s: the lease was not released"
    engine = engine_of(standby.app)
    places = [engine.position(InteractionId(one)) for one in waiting]
    assert [place[0] if place else None for place in places] == [1, 2, 3]
    for position, interaction_id in enumerate(waiting, start=1):
        response = await standby.client.get(
            f"/api/v1/interactions/{interaction_id}", headers=admin.headers
        )
        assert response.json()["position"] == position, response.text
    ready = await standby.client.get("/readyz")
    assert (ready.status_code, ready.json()["role"]) == (200, "writer")


async def test_a_writer_that_lost_its_lease_steps_down_and_can_take_over_again(
    processes: list[Process], redis: Redis, redis_prefix: str
) -> None:
    first, second = writer_and_standby(processes)
    # The lease lapses behind the writer's back (as if it had been paused): the standby wins.
    await redis.delete(f"{redis_prefix}writer:lease")
    await wait_until(lambda: second.role == "writer", 3 * LEASE_TTL_S)
    await wait_until(lambda: first.role == "standby", 3 * LEASE_TTL_S)
    assert (first.role, second.role) == ("standby", "writer")
    await second.stop()
    took_s = await wait_until(lambda: first.role == "writer", 3 * LEASE_TTL_S)
    assert first.role == "writer", f"no writer {took_s:.1f}s after the second one stopped"
    await add_queue(first.app, "UI", {"ui": 1})
    created = await create_chat(first, admin_of(first.app))
    assert created["state"] == "queued"


@dataclass
class _Published:
    events: list[StoredEvent] = field(default_factory=list)

    async def __call__(self, stored: Sequence[StoredEvent]) -> None:
        self.events.extend(stored)


async def test_a_writer_whose_fence_was_superseded_is_refused_and_stores_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    queue_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        session.add(Queue(id=queue_id, name="UI"))
    async with sessions() as session:
        await claim_fence(session, 1, "old-writer")
    published = _Published()
    worker = RoutingWorker(sessions=sessions, rebuild=recovery.rebuild, publish=published, fence=1)
    await worker.start()
    try:
        assert worker.running
        async with sessions() as session:
            await claim_fence(session, 2, "new-writer")
        request = new_chat(queue_id)
        interaction_id = request.new.id
        host = WriterHost(worker, queries=READS, build_created=build_created)
        reply = await host.handle(request, "request-from-a-stale-writer")
    finally:
        await worker.stop()
    assert reply.result is None and reply.error is not None
    assert reply.error["status"] == 503, reply.error
    assert "no longer the routing writer" in reply.error["detail"]
    assert worker.fenced_out
    assert worker.status == "stopped: a newer writer took over"
    assert await count(sessions, select(func.count()).select_from(Interaction)) == 0
    assert await count(sessions, select(func.count()).select_from(InteractionEvent)) == 0
    assert await count(sessions, select(func.count()).select_from(AppliedRequest)) == 0
    assert [e for e in published.events if e.interaction_id == str(interaction_id)] == []
    async with sessions() as session:
        fence = await session.get(WriterFence, 1)
    assert fence is not None and (fence.fence, fence.holder) == (2, "new-writer")


async def test_a_writer_whose_fence_is_stale_at_start_never_starts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await claim_fence(session, 2, "new-writer")
    worker = RoutingWorker(
        sessions=sessions, rebuild=recovery.rebuild, publish=_Published(), fence=1
    )
    await worker.start()
    try:
        assert not worker.running and worker.fenced_out
        assert worker.status == "stopped: a newer writer took over"
    finally:
        await worker.stop()


async def test_a_lease_after_redis_lost_its_data_is_numbered_above_the_database_fence(
    sessions: async_sessionmaker[AsyncSession], redis: Redis, redis_prefix: str
) -> None:
    async with sessions() as session:
        await claim_fence(session, 7, "writer-before-the-loss")
        floor = await current_fence(session)
    assert floor == 7
    # A prefix Redis has never seen: no lease, no counter, as after losing its data.
    lease = WriterLease(redis, holder="after-the-loss", ttl_s=1.0, prefix=redis_prefix)
    assert await lease.acquire(database_fence=floor) == 8
    await lease.release(8)
    assert await lease.acquire(database_fence=floor) == 9  # and it keeps growing from there


async def test_a_process_taking_over_after_redis_lost_its_data_claims_a_newer_fence(
    sessions: async_sessionmaker[AsyncSession], cluster_settings: Settings
) -> None:
    async with sessions() as session:
        await claim_fence(session, 7, "writer-before-the-loss")
    process = await start_process(cluster_settings)
    try:
        assert process.role == "writer"
        node = resources_of(process.app).routing.node
        assert isinstance(node, ClusterNode)
        async with sessions() as session:
            fence = await session.get(WriterFence, 1)
        assert fence is not None and (fence.fence, fence.holder) == (8, node.node_id)
    finally:
        await process.stop()


# ---------------------------------------------------------------------------------------------
# Re-delivered requests


async def test_a_create_delivered_twice_on_the_stream_is_applied_once_and_answered_alike(
    processes: list[Process],
    redis: Redis,
    redis_prefix: str,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    writer, _ = writer_and_standby(processes)
    queue_id = await add_queue(writer.app, "UI", {"ui": 1})
    request = new_chat(queue_id)
    interaction_id = request.new.id
    request_id = uuid.uuid4().hex
    async with RawSender(redis, redis_prefix) as sender:
        first = await sender.send(request_id, request)
        again = await sender.send(request_id, request)
    assert first["error"] is None, first
    assert first["result"]["response"]["id"] == str(interaction_id)
    assert again == first
    of_it = Interaction.id == interaction_id
    assert await count(sessions, select(func.count()).select_from(Interaction).where(of_it)) == 1
    created = select(func.count()).where(
        InteractionEvent.interaction_id == interaction_id,
        InteractionEvent.type == "interaction.created",
    )
    assert await count(sessions, created) == 1
    assert await count(sessions, select(func.count()).where(AppliedRequest.id == request_id)) == 1


async def test_a_create_repeating_another_calls_idempotency_key_is_answered_as_a_replay(
    processes: list[Process], redis: Redis, redis_prefix: str
) -> None:
    # Two processes may both miss the key in the database; the writer then answers the later
    # call with the earlier response, and says so (the Idempotent-Replayed header).
    writer, _ = writer_and_standby(processes)
    queue_id = await add_queue(writer.app, "UI", {"ui": 1})
    record = IdempotencyRecord("caller-1", "key-1", "hash-1")
    first, second = new_chat(queue_id, record), new_chat(queue_id, record)
    async with RawSender(redis, redis_prefix) as sender:
        original = await sender.send(uuid.uuid4().hex, first)
        repeat = await sender.send(uuid.uuid4().hex, second)
    assert original["result"]["replayed"] is False
    assert repeat["result"]["replayed"] is True
    assert repeat["result"]["response"] == original["result"]["response"]


async def test_a_cancel_delivered_twice_on_the_stream_is_applied_once_and_answered_alike(
    processes: list[Process],
    redis: Redis,
    redis_prefix: str,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    writer, _ = writer_and_standby(processes)
    await add_queue(writer.app, "UI", {"ui": 1})
    interaction_id = (await create_chat(writer, admin_of(writer.app)))["id"]
    request = Execute(c.Cancel(InteractionId(interaction_id)))
    request_id = uuid.uuid4().hex
    async with RawSender(redis, redis_prefix) as sender:
        first = await sender.send(request_id, request)
        again = await sender.send(request_id, request)
    assert first["error"] is None, first
    assert again == first
    cancelled = select(func.count()).where(
        InteractionEvent.interaction_id == uuid.UUID(interaction_id),
        InteractionEvent.type == "interaction.cancelled",
    )
    assert await count(sessions, cancelled) == 1


# ---------------------------------------------------------------------------------------------
# Without Redis


async def test_without_redis_a_process_starts_not_ready_and_refuses_creates_with_503(
    postgres_migrated_url: str, tmp_path: Path, free_port: int
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data",
        database_url=postgres_migrated_url,
        redis_url=f"redis://127.0.0.1:{free_port}/0",
        writer_call_timeout_s=WAIT_S,
    )
    process = await start_process(settings)
    try:
        assert process.role == "standby"
        ready = await process.client.get("/readyz")
        assert ready.status_code == 503, ready.text
        body = ready.json()
        assert body["role"] == "standby"
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["bus"] != "ok" and body["checks"]["routing"] != "ok"
        assert "bus" in body["detail"] and "routing" in body["detail"]
        started = time.monotonic()
        response = await process.client.post(
            "/api/v1/interactions", json=CHAT, headers=admin_of(process.app).headers
        )
        took_s = time.monotonic() - started
    finally:
        await process.stop()
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["Retry-After"] == "2"
    assert response.json()["code"] == "routing_unavailable"
    assert took_s < 1.0, f"a refusal took {took_s:.2f}s"
