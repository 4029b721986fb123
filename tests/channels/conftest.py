"""Shared fixtures and helpers of the web chat and agent desk tests.

* `settings_update`: settings to change for one test (parametrize it by name); `app` is the
  root fixture's app built from `migrated_settings.model_copy(update=settings_update)`,
  with the background grace check put to sleep (`quiet_grace_keeper`) so that only
  `GraceKeeper.check_once()`, called by the test itself, acts on old disconnections.
* `queue_id`: the "Unemployment Insurance" queue (skill `ui`), the default topic.
* `start_chat(client, **form)`: the pre-chat form posted, answered 201; a `Chat`.
* `add_chat_agent(app, username, display_name)`: an agent with the queue's skill whose
  token carries its display name, as a real sign-in's does; an `Agent`.
* `sockets` (a `Sockets`): `sockets.claimant(token)`, `sockets.desk(token)` and
  `sockets.open(path, hello)` open a real websocket (the `websockets` library) to the app
  served on 127.0.0.1 that sent its hello; each is a `Peer` with bounded `receive`,
  `until`, `ready`, `settle` and `closed`.
* `presence_of`, `wait_for_presence`, `age_disconnection`: the `socket_presence` rows that
  grace periods work from.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app import clock
from app import main as app_main
from app.agents.models import Staff
from app.auth.principals import Role
from app.auth.tokens import issue_staff_token
from app.interactions.models import Interaction
from app.main import create_app
from app.realtime.models import SocketPresence
from app.settings import Settings
from tests.world import add_agent, add_queue, resources_of

# Every wait of these tests is bounded by this.
WAIT_S = 5.0
POLL_S = 0.01
# `quiesce`: the pool idle for this many polls in a row, waited for at most this long.
QUIET_POLLS = 3
QUIET_BOUND_S = 2.0
QUEUE = "Unemployment Insurance"
SKILL = "ui"
FORM: dict[str, Any] = {
    "name": "José Ramírez",
    "language": "es",
    "topic": QUEUE,
    "email": "jose@example.org",
    "case_number": "UI-2026-004512",
    "message": "I have not received my payment",
}


@pytest.fixture
def settings_update() -> dict[str, Any]:
    """Settings this test changes (parametrize `settings_update` to change some)."""
    return {}


def quiet_grace_keeper(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's own grace check waits an hour between rounds, so only the test's own
    `GraceKeeper.check_once()` acts on the disconnections it made old."""
    monkeypatch.setattr(app_main, "GRACE_EVERY_S", 3600.0)


@pytest.fixture(name="quiet_grace_keeper")
def _quiet_grace_keeper(monkeypatch: pytest.MonkeyPatch) -> None:
    quiet_grace_keeper(monkeypatch)


@pytest.fixture
async def app(
    migrated_settings: Settings, settings_update: dict[str, Any], quiet_grace_keeper: None
) -> AsyncIterator[FastAPI]:
    """The application on `migrated_settings` changed by `settings_update`, lifespan running."""
    application = create_app(migrated_settings.model_copy(update=settings_update))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def queue_id(app: FastAPI) -> uuid.UUID:
    """The Unemployment Insurance queue, needing the `ui` skill: the chats' topic."""
    return await add_queue(app, QUEUE, {SKILL: 3})


# --- chats and agents ------------------------------------------------------------------------


@dataclass(frozen=True)
class Chat:
    """A started chat: its id, the claimant's token, and the 201 answer."""

    id: str
    token: str
    started: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        """The claimant's bearer header."""
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def path(self) -> str:
        """The chat's REST path."""
        return f"/api/v1/chats/{self.id}"

    @property
    def interaction(self) -> str:
        """The interaction's REST path."""
        return f"/api/v1/interactions/{self.id}"


async def start_chat(client: httpx.AsyncClient, **form: Any) -> Chat:
    """Post the pre-chat form (`FORM` changed by `form`); it must answer 201."""
    response = await client.post("/api/v1/chats", json={**FORM, **form})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return Chat(body["interaction_id"], body["token"], body)


@dataclass(frozen=True)
class Agent:
    """An agent signed in: id, bearer token and display name."""

    id: str
    token: str
    name: str

    @property
    def headers(self) -> dict[str, str]:
        """The agent's bearer header."""
        return {"Authorization": f"Bearer {self.token}"}


async def add_chat_agent(
    app: FastAPI, username: str, display_name: str, *, available: bool = True, chats: int = 3
) -> Agent:
    """An agent with the `ui` skill named `display_name` (its token carries that name)."""
    caller = await add_agent(app, username, {SKILL: 5}, chats=chats, available=available)
    resources = resources_of(app)
    async with resources.sessions() as session, session.begin():
        await session.execute(
            update(Staff).where(Staff.id == uuid.UUID(caller.id)).values(display_name=display_name)
        )
    token = issue_staff_token(
        resources.secret_key,
        staff_id=caller.id,
        role=Role.AGENT,
        name=display_name,
        now=clock.now_s(),
    )
    return Agent(caller.id, token.token, display_name)


async def act(client: httpx.AsyncClient, chat: Chat, agent: Agent, action: str) -> None:
    """An agent's lifecycle action on the chat (accept, reject, complete...); must answer 200."""
    response = await client.post(f"{chat.interaction}/{action}", headers=agent.headers)
    assert response.status_code == 200, response.text


async def send_as(
    client: httpx.AsyncClient, chat: Chat, headers: dict[str, str], body: str, **more: Any
) -> httpx.Response:
    """POST a chat message as whoever `headers` speak for."""
    return await client.post(f"{chat.path}/messages", json={"body": body, **more}, headers=headers)


async def interaction_row(app: FastAPI, interaction_id: str) -> Interaction:
    """The interaction as stored now."""
    async with resources_of(app).sessions() as session:
        row = await session.get(Interaction, uuid.UUID(interaction_id))
    assert row is not None
    return row


# --- websockets ------------------------------------------------------------------------------


class Peer:
    """One websocket client speaking JSON frames; every wait is bounded by `WAIT_S`."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, frame: dict[str, Any]) -> None:
        """Send one frame."""
        await self.ws.send(json.dumps(frame))

    async def receive(self) -> dict[str, Any]:
        """The next frame."""
        async with asyncio.timeout(WAIT_S):
            text = await self.ws.recv()
        frame: dict[str, Any] = json.loads(text)
        return frame

    async def until(
        self, kind: str, *, within_s: float = WAIT_S, **match: Any
    ) -> list[dict[str, Any]]:
        """Frames received up to and including the first of type `kind` (with `match`)."""
        frames: list[dict[str, Any]] = []
        async with asyncio.timeout(within_s):
            while True:
                frame = json.loads(await self.ws.recv())
                frames.append(frame)
                if frame.get("type") == kind and all(
                    frame.get(key) == value for key, value in match.items()
                ):
                    return frames

    async def ready(self) -> list[dict[str, Any]]:
        """The frames up to and including the welcome and everything sent before the socket
        began to read (the replay, the state): the connection is set up after this."""
        frames = await self.until("welcome")
        return frames + await self.settle()

    async def settle(self) -> list[dict[str, Any]]:
        """Ping and return every frame that arrived before the pong (not the pong)."""
        await self.send({"type": "ping"})
        return (await self.until("pong"))[:-1]

    async def closed(self) -> int | None:
        """Wait for the server to close the socket; its close code."""
        async with asyncio.timeout(WAIT_S):
            try:
                while True:
                    await self.ws.recv()
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd is not None else None


@dataclass(frozen=True)
class Sockets:
    """Opens websockets to the live server of `app`; see `open`."""

    app: FastAPI
    live_url: str

    @asynccontextmanager
    async def open(self, path: str, hello: dict[str, Any]) -> AsyncIterator[Peer]:
        """A websocket to `path` that has sent `hello` as its first frame.

        Before closing, it waits for the server's socket tasks to be idle: a socket closed
        while its server side is in the middle of a database call can leave a pooled
        connection unreturned (a server bug; see `quiesce`).
        """
        async with connect(
            f"ws://{self.live_url}{path}", open_timeout=WAIT_S, close_timeout=WAIT_S
        ) as ws:
            peer = Peer(ws)
            await peer.send(hello)
            try:
                yield peer
            finally:
                await quiesce(self.app)

    def claimant(self, token: str, last_seq: int = 0) -> AbstractAsyncContextManager[Peer]:
        """The claimant's `/ws/chat` after its hello."""
        return self.open("/ws/chat", {"type": "hello", "token": token, "last_seq": last_seq})

    def desk(
        self, token: str, last_seq: dict[str, int] | None = None
    ) -> AbstractAsyncContextManager[Peer]:
        """The agent's `/ws/agent` after its hello."""
        return self.open("/ws/agent", {"type": "hello", "token": token, "last_seq": last_seq or {}})


@pytest.fixture
def sockets(app: FastAPI, live_url: str) -> Sockets:
    """Websockets to `app` served on 127.0.0.1."""
    return Sockets(app, live_url)


async def quiesce(app: FastAPI) -> None:
    """Wait (bounded, best effort) until no pooled database connection has been in use for a
    few polls in a row, i.e. the server's socket tasks are idle.

    The sockets run their reader and pusher with `run_until_first_ends`, which cancels the
    pusher when the client goes away even in the middle of a database call; such a
    cancellation sometimes leaves a pooled connection unreturned, which the garbage
    collector later reports (an error under `filterwarnings = error`).
    """
    pool = resources_of(app).engine.pool
    idle = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(QUIET_BOUND_S):
            while idle < QUIET_POLLS:
                idle = idle + 1 if pool.checkedout() == 0 else 0  # type: ignore[attr-defined]
                await asyncio.sleep(POLL_S)


def of_type(frames: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The frames of one type, in order."""
    return [frame for frame in frames if frame.get("type") == kind]


def seqs(frames: list[dict[str, Any]]) -> list[int]:
    """The numbers of the message frames among `frames`, in order."""
    return [frame["seq"] for frame in of_type(frames, "message")]


# --- socket presence and grace periods -------------------------------------------------------


async def presence_of(app: FastAPI, kind: str, subject_id: str) -> SocketPresence | None:
    """The `socket_presence` row of a claimant's chat or an agent's desk."""
    async with resources_of(app).sessions() as session:
        found: SocketPresence | None = await session.scalar(
            select(SocketPresence).where(
                SocketPresence.kind == kind, SocketPresence.subject_id == subject_id
            )
        )
        return found


async def wait_for_presence(
    app: FastAPI, kind: str, subject_id: str, test: Callable[[SocketPresence], bool]
) -> SocketPresence:
    """Poll (bounded) until the subject's presence row passes `test`."""
    async with asyncio.timeout(WAIT_S):
        while True:
            row = await presence_of(app, kind, subject_id)
            if row is not None and test(row):
                return row
            await asyncio.sleep(POLL_S)


def disconnected(row: SocketPresence) -> bool:
    """The subject's last socket closed."""
    return row.disconnected_at is not None


def connected(row: SocketPresence) -> bool:
    """A socket of the subject is open."""
    return row.disconnected_at is None


async def age_disconnection(app: FastAPI, kind: str, subject_id: str, seconds: float) -> None:
    """Move the subject's disconnection `seconds` into the past."""
    async with resources_of(app).sessions() as session, session.begin():
        await session.execute(
            update(SocketPresence)
            .where(SocketPresence.kind == kind, SocketPresence.subject_id == subject_id)
            .values(disconnected_at=clock.utcnow() - timedelta(seconds=seconds))
        )
