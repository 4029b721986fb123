"""A real HTTP receiver on 127.0.0.1, a migrated database of our own, and dispatcher makers."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import clock
from app.db.migrate import upgrade_async
from app.db.session import create_engine, create_session_factory
from app.webhooks.dispatcher import WebhookDispatcher
from app.webhooks.models import WebhookEventType, WebhookSubscription
from app.webhooks.outbox import OutboundEvent
from app.webhooks.targets import TargetPolicy
from tests.conftest import LOOPBACK_NETWORKS

SECRET = "whsec_test-secret-test-secret-test-secret"
# Loading the CA bundle takes a while; one context serves every test's HTTP client.
SSL_CONTEXT = ssl.create_default_context()


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Route:
    """How the receiver answers on one path: statuses in turn (then 200), and a delay."""

    statuses: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class _QuietServer(ThreadingHTTPServer):
    # Handler threads of a test that ended (a hung "slow" request) must not hold the close.
    daemon_threads = True
    block_on_close = False
    # The default backlog of 5 drops bursts of connections (the client retries a second later).
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up early (a timed-out dispatcher) is expected here."""


class Receiver:
    """An HTTP server in a thread that records every POST and answers as scripted."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.routes: dict[str, Route] = {}
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def url(self, path: str) -> str:
        """The full URL of `path` on this receiver."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def on(self, path: str, *statuses: int, delay_s: float = 0.0, **headers: str) -> str:
        """Script `path` and return its URL."""
        self.routes[path] = Route(list(statuses), delay_s, dict(headers))
        return self.url(path)

    def received(self, path: str) -> list[Received]:
        """The requests that reached `path`, oldest first."""
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Route]:
        with self._lock:
            self.requests.append(Received(path, headers, body, time.monotonic()))
            route = self.routes.setdefault(path, Route())
            status = route.statuses.pop(0) if route.statuses else 200
        return status, route

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, route = receiver._answer(self.path, body, dict(self.headers.items()))
                if route.delay_s and receiver.closing.wait(route.delay_s):
                    return
                self.send_response(status)
                for name, value in route.headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running receiver on a free port of 127.0.0.1."""
    server = Receiver()
    server.start()
    yield server
    server.close()


@pytest.fixture
async def engine(migrated_template: Path, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh migrated SQLite database (no app, so no other dispatcher)."""
    path = tmp_path / "webhooks.db"
    shutil.copyfile(migrated_template, path)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`."""
    return create_session_factory(engine)


@pytest.fixture
async def backend_sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a migrated database of each backend in turn (PostgreSQL where configured)."""
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    yield create_session_factory(engine)
    await engine.dispose()


DispatcherFactory = Callable[..., Awaitable[WebhookDispatcher]]


@pytest.fixture
async def start_dispatcher(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[DispatcherFactory]:
    """Start dispatchers with fast test settings; every one is stopped afterwards."""
    started: list[WebhookDispatcher] = []
    http = httpx.AsyncClient(verify=SSL_CONTEXT)

    async def start(
        on: async_sessionmaker[AsyncSession] | None = None, **options: Any
    ) -> WebhookDispatcher:
        """`http=None` makes the dispatcher build (and close) its own client."""
        defaults: dict[str, Any] = {
            "http": http,
            "timeout_s": 1.0,
            "lease_s": 2.0,
            "poll_interval_s": 0.02,
            "stop_timeout_s": 1.0,
            "jitter": lambda: 0.0,
            # Its own client (`http=None`) must reach the receiver on loopback.
            "targets": TargetPolicy.from_networks(LOOPBACK_NETWORKS),
        }
        dispatcher = WebhookDispatcher(on or sessions, **(defaults | options))
        await dispatcher.start()
        started.append(dispatcher)
        return dispatcher

    yield start
    for dispatcher in started:
        await dispatcher.stop()
    await http.aclose()


async def add_subscription(
    sessions: async_sessionmaker[AsyncSession],
    url: str,
    event_types: list[str] | None = None,
    *,
    active: bool = True,
) -> uuid.UUID:
    """Store a subscription directly and return its id."""
    async with sessions() as session, session.begin():
        subscription = WebhookSubscription(
            url=url,
            event_types=event_types or [WebhookEventType.INTERACTION_CREATED.value],
            description="",
            secret=SECRET,
            active=active,
        )
        session.add(subscription)
        await session.flush()
        return subscription.id


def event(
    event_type: WebhookEventType = WebhookEventType.INTERACTION_CREATED, **data: Any
) -> OutboundEvent:
    """A fresh event of `event_type`."""
    return OutboundEvent(
        id=uuid.uuid4(), type=event_type.value, occurred_at=clock.utcnow(), data=data
    )


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 5.0) -> None:
    """Wait until `check()` is true, failing after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)
