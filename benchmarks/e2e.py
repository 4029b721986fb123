"""End to end: offers pushed to agents over websockets, chat relay, memory per socket, bare ceiling.

It prepares a throwaway database (embedded SQLite in a temporary data directory, or a scratch
PostgreSQL database with --backend postgresql) with a queue that needs one skill, N agents
who hold it and an integrator API key, starts the real service (`switchboard serve`) and a
bare FastAPI app (`benchmarks/bare_ws_app.py`: one row stored and one frame pushed per POST,
same driver) as subprocesses on 127.0.0.1, and then, from this one process:

1. desks: connects the N agent desks on /ws/agent (hello, then a ping every 20 s; a desk the
   server closes reconnects, a bounded number of times) and makes them available. The
   server's RSS before and after gives the memory per agent desk;
2. relay: starts --chats web chats (POST /api/v1/chats, --chat-slots at a time, each slot
   waiting until an agent holds its chat), opens every claimant's /ws/chat (every other one
   offering permessage-deflate as browsers do; the server's RSS growth over them, once idle,
   gives bytes_per_websocket), then
   sends --relay-rate messages per second for --relay-duration s, alternately agent to
   claimant (POST /api/v1/chats/{id}/messages) and claimant to agent (a `message` frame),
   timed from the send to the other side's frame. The claimants then close their sockets;
   their chats stay with the agents, on top of the --capacity the offers get;
3. ceiling: the most creates per second each server sustains (closed loop: --concurrency
   requests in flight for --ceiling-s s after a warm-up, rounds alternating between the two
   servers; medians). The service's agents keep working every offer; the bare app pushes to
   as many sockets as there are agents. throughput_ratio = service / bare;
4. offers: POSTs /api/v1/interactions at a fixed --rate (open loop) for --duration s. Each
   agent accepts every offer its desk pushes, holds it --handle-s, completes it and
   finishes wrap-up. Create-to-offer latency is the `offer` frame's arrival minus the moment
   the POST was written. It runs last: a service that cannot keep up with the rate may not
   recover, and would spoil what came after.

HTTP goes over a thin keep-alive HTTP/1.1 client (httpx's async pool tops out near the rates
measured here). The agents' REST calls share --agent-connections connections (default 64,
500 independent agents would use up to 500). Beware: an accept/complete/finish-wrap-up
request holds a database connection while it waits for the routing writer, which needs one
too, and a desk re-reading a new chat holds one while it opens another, so about 20 of them
at once exhaust the service's pool of 20 and it stalls (pool timeouts, desks dropped). With
--agent-connections 10 it stays up longer, but the agents are then throttled by the client
and the offers wait for their capacity: not a measure of the service.

Progress goes to stderr; the result to stdout. Every loop is bounded in count and time, and
the servers, scratch databases and temporary directories are removed on the way out. The
default run takes about 3 minutes (longer when the service stalls: requests time out).

    .venv/bin/python benchmarks/e2e.py [--agents 500] [--rate 200] [--duration 20] [--chats 1000]
                                       [--backend sqlite|postgresql] [--json] [--logs DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import websockets
from sqlalchemy import select
from sqlalchemy.engine import make_url
from websockets.asyncio.client import ClientConnection, connect

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.agents.models import AgentSkill, Staff, StaffRole  # noqa: E402
from app.auth.passwords import hash_password  # noqa: E402
from app.auth.principals import Role  # noqa: E402
from app.auth.tokens import issue_staff_token  # noqa: E402
from app.db.session import create_engine, create_session_factory  # noqa: E402
from app.queues.models import Queue, QueueSkill  # noqa: E402
from app.skills.models import Skill, SkillKind  # noqa: E402
from benchmarks.api_create import (  # noqa: E402
    free_port,
    postgres_reachable,
    prepare_service_database,
    run_admin_statement,
    wait_until_ready,
)

QUEUE = "Benchmark"  # made by prepare_service_database
SKILL = "benchmark-chat"
AGENT_PASSWORD = "e2e-agent-password-1"
LOAD_NAME = "Load"  # customer name of the integrator's interactions (worked and completed)
RELAY_NAME = "Relay"  # customer name of the web chats (accepted and held for the relay)
TOKEN_TTL_S = 4 * 3600
STARTUP_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
REQUEST_TIMEOUT_S = 15.0
CONNECT_TIMEOUT_S = 30.0
DESK_RECONNECTS = 5
SOCKET_ATTEMPTS = 5  # opening a socket at the start of a phase
JOB_TIMEOUT_S = 120.0  # one job of a batch run at most so many at once
DESK_PING_S = 20.0
SETTLE_S = 2.0
# Starting the relay's chats stops after this long.
CHATS_LIMIT_S = 90.0
# Targets of the issue, for a 2-core machine.
TARGET_OFFER_P99_MS = 50.0
TARGET_RATIO = 0.5
TARGET_BYTES_PER_SOCKET = 50 * 1024
PHASES = ("relay", "ceiling", "offers")
# How long an agent waits for the answer to an action frame.
ACTION_TIMEOUT_S = 30.0


def main() -> None:
    """Run the benchmark and print a table (or one JSON object with --json)."""
    options = _parse()
    # A SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C: the servers are stopped on the way.
    signal.signal(signal.SIGTERM, _interrupt)
    _raise_open_file_limit()
    if options.backend == "postgresql" and not postgres_reachable(options.postgres_url):
        raise SystemExit(f"PostgreSQL at {options.postgres_url} is not reachable")
    result = _run_loop(E2E(options).run())
    if options.json or "targets" not in result:
        print(json.dumps(result, indent=2))
    else:
        _print_table(result)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500, help="agent desks on /ws/agent")
    parser.add_argument("--rate", type=float, default=200.0, help="creates per second (open loop)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds at --rate")
    parser.add_argument("--chats", type=int, default=1000, help="concurrent chats for the relay")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "SWITCHBOARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server for --backend postgresql (scratch databases are made there)",
    )
    parser.add_argument(
        "--capacity",
        type=int,
        default=3,
        help="chats per agent for the offers (the relay's chats come on top)",
    )
    parser.add_argument(
        "--handle-s", type=float, default=1.0, help="how long an agent holds an interaction"
    )
    parser.add_argument("--warmup-s", type=float, default=2.0, help="seconds at --rate first")
    parser.add_argument(
        "--chat-slots", type=int, default=8, help="relay chats being started at once"
    )
    parser.add_argument("--relay-rate", type=float, default=50.0, help="chat messages per second")
    parser.add_argument("--relay-duration", type=float, default=10.0, help="seconds of messages")
    parser.add_argument(
        "--ceiling-s", type=float, default=10.0, help="seconds of each closed-loop round"
    )
    parser.add_argument(
        "--concurrency", type=int, default=32, help="closed-loop requests in flight"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternating ceiling rounds per server (medians)"
    )
    parser.add_argument(
        "--agent-connections",
        type=int,
        default=64,
        help="HTTP connections the agents' REST calls share (default 64; see the module "
        "docstring for why fewer keep the service up but slow the agents down)",
    )
    parser.add_argument(
        "--agent-actions",
        choices=["ws", "rest"],
        default="ws",
        help="how agents accept, complete and finish wrap-up: frames on their desk socket "
        "(default) or POST /api/v1/interactions/{id}/...",
    )
    parser.add_argument(
        "--phases",
        type=lambda text: [part for part in text.split(",") if part],
        default=list(PHASES),
        help="comma list of the phases to run (default all: relay,ceiling,offers); a partial "
        "run prints JSON and judges no target",
    )
    parser.add_argument("--logs", help="copy the servers' logs into this directory at the end")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    options = parser.parse_args()
    if options.agents < 1 or options.chats < 1 or options.rate <= 0 or options.duration <= 0:
        parser.error("--agents, --chats, --rate and --duration must be positive")
    if not options.phases or set(options.phases) - set(PHASES):
        parser.error(f"--phases: a comma list of {', '.join(PHASES)}")
    return options


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _raise_open_file_limit() -> None:
    # Thousands of sockets on each side; the servers inherit the limit from this process.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _run_loop(job: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(job)
    # The load generator shares the machine with the servers: keep it thin.
    result: dict[str, Any] = uvloop.run(job)
    return result


# --- the servers -----------------------------------------------------------------------------


class ServerError(Exception):
    """A server did not start or answer; the message carries its log tail."""


class Process:
    """A server subprocess on 127.0.0.1 writing its output to a log file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.command = [*command, "--host", "127.0.0.1", "--port", str(self.port)]
        self.env = env
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self, *, ready_path: bool) -> None:
        """Start it and wait until it listens (and /readyz answers 200 when `ready_path`)."""
        with self.log_path.open("wb") as log:
            self.process = await asyncio.to_thread(
                subprocess.Popen,
                self.command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _listening(self.port):
            if self.process.poll() is not None:
                raise ServerError(
                    f"{self.name} exited with {self.process.returncode} while starting "
                    f"(log tail below)"
                )
            if time.monotonic() > deadline:
                raise ServerError(f"{self.name} did not listen within {STARTUP_TIMEOUT_S} s")
            await asyncio.sleep(0.1)
        if ready_path:
            try:
                await asyncio.to_thread(wait_until_ready, self.base)
            except Exception as exc:
                raise ServerError(f"{self.name} not ready: {exc} (log tail below)") from None

    def check_alive(self) -> None:
        """Raise with the log tail when the process has died."""
        if self.process is not None and self.process.poll() is not None:
            raise ServerError(f"{self.name} exited with {self.process.returncode} (log tail below)")

    def cpu_s(self) -> float:
        """CPU seconds it has used so far (all its threads)."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        """Its resident memory now (VmRSS of /proc/<pid>/status)."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise ServerError(f"no VmRSS for {self.name}")

    def stop(self) -> None:
        """Terminate it (kill after STOP_TIMEOUT_S); never raises."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)

    def tail(self, lines: int = 40) -> str:
        """The last lines of its log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"--- {self.name}: no log ---"
        body = "\n".join(text.splitlines()[-lines:])
        return f"--- {self.name} ({self.log_path}) ---\n{body}"

    def warnings(self, limit: int = 8) -> list[str]:
        """Its log's warnings and errors, counted by kind (ids masked), most frequent first."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        counts: Counter[str] = Counter()
        for line in text.splitlines():
            found = LOG_LINE.match(line)
            if found:
                level, name, message = found.groups()
                counts[f"{level} {name}: {ID.sub('<id>', message)[:200]}"] += 1
        return [f"{count} x {kind}" for kind, count in counts.most_common(limit)]


def _keep_log(path: Path, folder: str) -> None:
    Path(folder).mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        shutil.copy(path, folder)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _server_env(extra: dict[str, str]) -> dict[str, str]:
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SWITCHBOARD_", "DATABASE_URL", "REDIS_URL", "BARE_"))
    }
    return {**inherited, "PYTHONUNBUFFERED": "1", **extra}


# "2026-12-01 19:41:57,194 WARNING app.errors [request id] message"
LOG_LINE = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL)\s+(\S+) (?:\[[^\]]*\] )?(.*)$")
ID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")
BARE_COMMAND = [
    sys.executable,
    "-m",
    "uvicorn",
    "benchmarks.bare_ws_app:create_app",
    "--factory",
    "--ws",
    "websockets-sansio",
    "--log-level",
    "warning",
    "--no-access-log",
]


def _switchboard_command() -> list[str]:
    script = Path(sys.executable).parent / "switchboard"
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-m", "app.cli", "serve"]


@contextlib.asynccontextmanager
async def _scratch_database(
    backend: str, server_url: str, folder: Path, name: str
) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / name}.db"
        return
    database = f"switchboard_e2e_{uuid.uuid4().hex[:10]}"
    await run_admin_statement(server_url, f'CREATE DATABASE "{database}"')
    try:
        url = make_url(server_url).set(drivername="postgresql+asyncpg", database=database)
        yield url.render_as_string(hide_password=False)
    finally:
        with contextlib.suppress(Exception):
            await run_admin_statement(
                server_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'
            )


@dataclass(frozen=True)
class Agent:
    """An agent account and its access token."""

    id: str
    name: str
    token: str


async def prepare_agents(
    database_url: str, secret_key: str, count: int, capacity: int
) -> tuple[str, list[Agent]]:
    """Migrate and seed: the queue (needing one skill), `count` agents with it, an API key."""
    api_key = await prepare_service_database(database_url)
    password_hash = hash_password(AGENT_PASSWORD)  # one hash for all: argon2 is slow on purpose
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            queue = await session.scalar(select(Queue).where(Queue.name == QUEUE))
            assert queue is not None
            skill = Skill(name=SKILL, kind=SkillKind.CHANNEL)
            session.add(skill)
            await session.flush()
            session.add(QueueSkill(queue_id=queue.id, skill_id=skill.id, min_level=1))
            staff = [
                Staff(
                    username=f"agent-{number + 1}",
                    display_name=f"Agent{number + 1} Bench",
                    role=StaffRole.AGENT,
                    password_hash=password_hash,
                    capacity={"chat": capacity},
                )
                for number in range(count)
            ]
            session.add_all(staff)
            await session.flush()
            session.add_all(
                AgentSkill(staff_id=member.id, skill_id=skill.id, proficiency=5) for member in staff
            )
            rows = [(str(member.id), member.display_name) for member in staff]
    finally:
        await engine.dispose()
    now = time.time()
    agents = [
        Agent(
            agent_id,
            name,
            issue_staff_token(
                secret_key,
                staff_id=agent_id,
                role=Role.AGENT,
                name=name,
                now=now,
                ttl_s=TOKEN_TTL_S,
            ).token,
        )
        for agent_id, name in rows
    ]
    return api_key, agents


# --- a thin HTTP client ----------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """An HTTP answer, and when its request was written (perf_counter seconds)."""

    status: int
    body: bytes
    sent_at: float
    answered_at: float

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


class Http:
    """Keep-alive HTTP/1.1 connections to one server, at most `limit` in use at once."""

    # Below uvicorn's keep-alive timeout (5 s): an idle connection is never reused as it closes.
    IDLE_S = 2.0

    def __init__(self, port: int, limit: int) -> None:
        self.port = port
        self._slots = asyncio.Semaphore(limit)
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self._open: set[asyncio.StreamWriter] = set()

    async def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: Any = None,
        on_send: Callable[[float], None] | None = None,
    ) -> Reply:
        """Send one request and read its answer (OSError / TimeoutError on transport failure)."""
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            head.append("Content-Type: application/json")
        head.append(f"Content-Length: {len(payload)}")
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        async with self._slots:
            reader, writer = await self._connection()
            sent_at = time.perf_counter()
            if on_send is not None:
                on_send(sent_at)
            try:
                writer.write(request)
                status, close, data = await asyncio.wait_for(
                    _read_response(reader), REQUEST_TIMEOUT_S
                )
            except BaseException:
                self._discard(writer)
                raise
            answered_at = time.perf_counter()
            if close:
                self._discard(writer)
            else:
                self._idle.append((reader, writer, answered_at))
        return Reply(status, data, sent_at, answered_at)

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self._idle:
            reader, writer, since = self._idle.pop()
            if not reader.at_eof() and time.perf_counter() - since < self.IDLE_S:
                return reader, writer
            self._discard(writer)
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self.port), CONNECT_TIMEOUT_S
        )
        self._open.add(writer)
        return reader, writer

    def _discard(self, writer: asyncio.StreamWriter) -> None:
        self._open.discard(writer)
        writer.close()

    def close(self) -> None:
        """Close every connection."""
        for writer in list(self._open):
            writer.close()
        self._open.clear()
        self._idle.clear()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = value.strip().lower() == "close"
    return status, close, await reader.readexactly(length)


def _outcome(exc: BaseException) -> str:
    return "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__


# --- the measurement -------------------------------------------------------------------------


@dataclass
class Desk:
    """One agent's /ws/agent connection."""

    agent: Agent
    ws: ClientConnection
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Actions sent as frames, by their ref, until the server's ack or error frame.
    pending: dict[str, asyncio.Future[bool]] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        """Its REST headers."""
        return {"Authorization": f"Bearer {self.agent.token}"}


@dataclass
class Chat:
    """One relay chat: its claimant's token and socket, and the agent holding it."""

    interaction_id: str
    token: str
    ws: ClientConnection | None = None
    task: asyncio.Task[None] | None = None
    leaving: bool = False  # this side is closing the socket


class E2E:
    """One run: servers, sockets, phases and the figures they give."""

    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.began = time.monotonic()
        self.secret_key = secrets.token_hex(32)
        self.api_key = ""
        self.service: Process | None = None
        self.bare: Process | None = None
        self.http: Http | None = None  # the integrator's creates and the chat starts
        self.agent_http: Http | None = None  # every agent's REST calls, shared
        self.agents: list[Agent] = []
        self.desks: list[Desk] = []
        self.chats: dict[str, Chat] = {}
        self.bare_sockets: list[tuple[ClientConnection, asyncio.Task[None]]] = []
        # interaction id -> perf_counter time its first offer frame arrived
        self.offer_at: dict[str, float] = {}
        self.offers_seen = 0
        self.held: dict[str, Desk] = {}  # relay chats accepted, by interaction id
        self.held_events: dict[str, asyncio.Event] = {}
        self.completed = 0
        self.work: set[asyncio.Task[None]] = set()
        self.errors: Counter[str] = Counter()
        self.closes: Counter[str] = Counter()
        # relay: client_message_id -> send time, arrival time, direction
        self.relay_sent: dict[str, tuple[float, str]] = {}
        self.relay_got: dict[str, float] = {}
        self.relay_events: dict[str, asyncio.Event] = {}
        self.bare_frames: dict[str, float] = {}
        self.result: dict[str, Any] = {}

    async def run(self) -> dict[str, Any]:
        """Everything, cleaning up on the way out; the result object."""
        options = self.options
        started = time.perf_counter()
        relay_capacity = max(options.capacity, math.ceil(options.chats / options.agents))
        self.result.update(
            backend=options.backend,
            agents=options.agents,
            chat_capacity=options.capacity,
            relay_chat_capacity=relay_capacity,
            handle_s=options.handle_s,
            rate=options.rate,
            duration_s=options.duration,
            chats=options.chats,
            chat_slots=options.chat_slots,
            agent_connections=options.agent_connections,
            agent_actions=options.agent_actions,
            cpu={},
            errors={},
            socket_closes={},
            server_log_warnings={},
        )
        with tempfile.TemporaryDirectory(prefix="switchboard-e2e-") as folder:
            workdir = Path(folder)
            try:
                async with _scratch_database(
                    options.backend, options.postgres_url, workdir, "bare"
                ) as bare_url:
                    self.bare = Process(
                        "bare", BARE_COMMAND, _server_env({"BARE_DATABASE_URL": bare_url}), workdir
                    )
                    try:
                        await self.bare.start(ready_path=False)
                        # Each phase gets a service (and a database) of its own: a phase that
                        # overloads the service cannot spoil the next one's figures.
                        if "relay" in options.phases:
                            await self._phase("relay", self._relay, workdir, relay_capacity)
                        if "ceiling" in options.phases:
                            await self._phase("ceiling", self._ceiling, workdir, options.capacity)
                        if "offers" in options.phases:
                            await self._phase("offers", self._fixed_rate, workdir, options.capacity)
                    finally:
                        await self._stop(self.bare)
            except BaseException:
                print(f"# figures so far: {json.dumps(self.result)}", file=sys.stderr)
                raise
        self.result["elapsed_s"] = round(time.perf_counter() - started, 1)
        if set(options.phases) != set(PHASES):
            return self.result  # a partial run (for profiling) judges nothing
        per_socket = self.result["bytes_per_websocket"]
        self.result["targets"] = {
            "offer_p99_under_50ms": self.result["offers_measured"] > 0
            and self.result["offer_p99_ms"] < TARGET_OFFER_P99_MS,
            "throughput_at_least_half_bare": self.result["throughput_ratio"] >= TARGET_RATIO,
            "under_50kb_per_idle_websocket": per_socket is not None
            and per_socket < TARGET_BYTES_PER_SOCKET,
        }
        return self.result

    async def _phase(
        self,
        name: str,
        phase: Callable[[], Coroutine[Any, Any, None]],
        workdir: Path,
        capacity: int,
    ) -> None:
        """Run one phase on a fresh service with its own database and agent desks."""
        options = self.options
        self.errors, self.closes = Counter(), Counter()
        data_dir = workdir / name
        data_dir.mkdir()
        async with _scratch_database(
            options.backend, options.postgres_url, data_dir, "switchboard"
        ) as service_url:
            try:
                await self._start_service(name, data_dir, service_url, capacity)
                await self._connect_desks()
                mark = self._cpu_mark()
                await phase()
                self.result["cpu"][name] = self._cpu_since(mark)
                assert self.service is not None
                self.service.check_alive()
            except BaseException:
                for server in (self.service, self.bare):
                    if server is not None:
                        print(server.tail(), file=sys.stderr)
                raise
            finally:
                self.result["errors"][name] = dict(self.errors.most_common())
                self.result["socket_closes"][name] = dict(self.closes)
                await self._close_clients()
                if self.service is not None:
                    self.result["server_log_warnings"][name] = self.service.warnings()
                    await self._stop(self.service)
                    self.service = None

    async def _start_service(
        self, name: str, data_dir: Path, service_url: str, capacity: int
    ) -> None:
        options = self.options
        self.say(f"{name}: preparing the {options.backend} database, starting the service")
        self.api_key, self.agents = await prepare_agents(
            service_url, self.secret_key, options.agents, capacity
        )
        env = {
            "SWITCHBOARD_DATA_DIR": str(data_dir),
            "SWITCHBOARD_SECRET_KEY": self.secret_key,
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
            # The per-address limit of POST /api/v1/chats would refuse the relay's chats.
            "SWITCHBOARD_CHAT_STARTS_PER_ADDRESS": "100000",
        }
        if options.backend == "postgresql":
            env["DATABASE_URL"] = service_url  # else the embedded SQLite file in the data dir
        self.service = Process(
            f"service-{name}", _switchboard_command(), _server_env(env), data_dir.parent
        )
        await self.service.start(ready_path=True)
        self.http = Http(self.service.port, limit=256)
        self.agent_http = Http(self.service.port, limit=options.agent_connections)

    async def _stop(self, server: Process) -> None:
        await asyncio.to_thread(server.stop)
        if self.options.logs:
            await asyncio.to_thread(_keep_log, server.log_path, self.options.logs)

    def _cpu_mark(self) -> tuple[float, float, float, float]:
        assert self.service is not None and self.bare is not None
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return (
            time.perf_counter(),
            self.service.cpu_s(),
            self.bare.cpu_s(),
            usage.ru_utime + usage.ru_stime,
        )

    def _cpu_since(self, mark: tuple[float, float, float, float]) -> dict[str, float]:
        """Wall time and each process's CPU use (% of one core) since `mark`."""
        now = self._cpu_mark()
        wall = now[0] - mark[0]
        return {
            "wall_s": round(wall, 1),
            "service_cpu_pct": round(100 * (now[1] - mark[1]) / wall),
            "bare_cpu_pct": round(100 * (now[2] - mark[2]) / wall),
            "load_generator_cpu_pct": round(100 * (now[3] - mark[3]) / wall),
        }

    # --- agents ---------------------------------------------------------------------------------

    async def _connect_desks(self) -> None:
        assert self.service is not None and self.http is not None
        agents = self.agents
        # The first few warm the code paths up; the memory is counted over the rest.
        warm = max(1, min(20, len(agents) // 10))
        await self._bounded(
            [self._open_desk(agent) for agent in agents[:warm]], limit=50, what="desk"
        )
        await asyncio.sleep(SETTLE_S / 2)
        before = self.service.rss_bytes()
        await self._bounded(
            [self._open_desk(agent) for agent in agents[warm:]], limit=50, what="desk"
        )
        await asyncio.sleep(SETTLE_S)
        after = self.service.rss_bytes()
        if len(self.desks) != len(agents):
            raise ServerError(f"only {len(self.desks)} of {len(agents)} desks connected")
        counted = len(agents) - warm
        # Measured on the first (relay) service only, right after it started.
        self.result.setdefault(
            "bytes_per_agent_desk", round((after - before) / counted) if counted > 0 else None
        )
        await self._bounded(
            [
                self._call(
                    desk,
                    "PUT",
                    f"/api/v1/agents/{desk.agent.id}/presence",
                    "presence",
                    {"state": "available"},
                )
                for desk in self.desks
            ],
            limit=32,
            what="presence",
        )
        self.result.setdefault(
            "server_rss_mb_with_desks", round(self.service.rss_bytes() / 2**20, 1)
        )
        self.say(f"{len(self.desks)} desks connected and available")

    async def _open_desk(self, agent: Agent) -> None:
        ws, _ = await self._retrying("desk", lambda: self._desk_socket(agent))
        desk = Desk(agent, ws)
        desk.tasks.append(asyncio.create_task(self._desk_life(desk)))
        self.desks.append(desk)

    async def _desk_life(self, desk: Desk) -> None:
        """Read the desk's frames and ping it; when the server closes it, reconnect (as the
        desk page does, a bounded number of times) and take the offers its welcome lists."""
        for _ in range(DESK_RECONNECTS + 1):
            pinger = asyncio.create_task(self._desk_pings(desk))
            try:
                await self._desk_reader(desk)
            finally:
                pinger.cancel()
            for _ in range(DESK_RECONNECTS):
                await asyncio.sleep(random.uniform(1.0, 3.0))
                try:
                    desk.ws, welcome = await self._desk_socket(desk.agent)
                except (OSError, TimeoutError, websockets.WebSocketException, ServerError) as exc:
                    self.errors[f"desk reconnect failed: {type(exc).__name__}"] += 1
                    continue
                self.closes["desk reconnected"] += 1
                now = time.perf_counter()
                for offer in welcome.get("offers") or []:
                    self._on_offer(desk, offer, now)
                break
            else:
                return

    async def _desk_socket(self, agent: Agent) -> tuple[ClientConnection, dict[str, Any]]:
        assert self.service is not None
        ws = await connect(
            f"ws://127.0.0.1:{self.service.port}/ws/agent",
            compression="deflate",  # as browsers offer it
            proxy=None,
            ping_interval=None,
            open_timeout=CONNECT_TIMEOUT_S,
            max_size=2**22,
        )
        try:
            await ws.send(json.dumps({"type": "hello", "token": agent.token, "last_seq": {}}))
            welcome = json.loads(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S))
        except BaseException:
            await ws.close()
            raise
        if welcome.get("type") != "welcome":
            await ws.close()
            raise ServerError(f"desk of {agent.name}: expected welcome, got {welcome}")
        return ws, welcome

    async def _desk_reader(self, desk: Desk) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in desk.ws:
                now = time.perf_counter()
                frame = json.loads(text)
                kind = frame.get("type")
                if kind == "offer":
                    self._on_offer(desk, frame, now)
                elif kind == "message" and frame.get("from") == "customer":
                    self._relay_arrived(frame.get("client_message_id"), now)
                elif kind in ("ack", "error") and frame.get("ref") in desk.pending:
                    answered = desk.pending.pop(frame["ref"])
                    if not answered.done():
                        answered.set_result(kind == "ack")
                    if kind == "error":
                        action = frame["ref"].split(":")[0]
                        self.errors[f"{action} error frame {frame.get('code')}"] += 1
                elif kind == "error":
                    self.errors[f"desk error frame {frame.get('code')}"] += 1
        # This side closes a desk only after cancelling its reader: the server closed it.
        code = desk.ws.close_code
        self.closes[f"desk {code if code is not None else 'abnormal'}"] += 1

    async def _desk_pings(self, desk: Desk) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await asyncio.sleep(random.uniform(0, DESK_PING_S))
            while True:
                await desk.ws.send('{"type":"ping"}')
                await asyncio.sleep(DESK_PING_S)

    def _on_offer(self, desk: Desk, frame: dict[str, Any], now: float) -> None:
        interaction_id = str(frame["interaction_id"])
        self.offers_seen += 1
        if interaction_id in self.offer_at:
            self.errors["offer frame repeated"] += 1
            return
        self.offer_at[interaction_id] = now
        name = str((frame.get("customer") or {}).get("name") or "")
        if name.startswith(RELAY_NAME):
            task = asyncio.create_task(self._hold(desk, interaction_id))
        else:
            task = asyncio.create_task(self._handle(desk, interaction_id))
        self.work.add(task)
        task.add_done_callback(self.work.discard)

    async def _handle(self, desk: Desk, interaction_id: str) -> None:
        if not await self._act(desk, interaction_id, "accept"):
            return
        await asyncio.sleep(self.options.handle_s)
        if not await self._act(desk, interaction_id, "complete"):
            return
        if await self._act(desk, interaction_id, "finish_wrap_up"):
            self.completed += 1

    async def _act(self, desk: Desk, interaction_id: str, action: str) -> bool:
        """One agent action, as a desk frame (--agent-actions ws) or a REST call."""
        if self.options.agent_actions == "rest":
            path = f"/api/v1/interactions/{interaction_id}/{action.replace('_', '-')}"
            return await self._call(desk, "POST", path, action) is not None
        ref = f"{action}:{interaction_id}"
        answered = desk.pending[ref] = asyncio.get_running_loop().create_future()
        try:
            await desk.ws.send(
                json.dumps({"type": action, "interaction_id": interaction_id, "ref": ref})
            )
            async with asyncio.timeout(ACTION_TIMEOUT_S):
                return await answered
        except (websockets.ConnectionClosed, TimeoutError) as exc:
            self.errors[f"{action} {_outcome(exc)}"] += 1
            return False
        finally:
            desk.pending.pop(ref, None)

    async def _hold(self, desk: Desk, interaction_id: str) -> None:
        if await self._act(desk, interaction_id, "accept"):
            self.held[interaction_id] = desk
            self._held_event(interaction_id).set()

    def _held_event(self, interaction_id: str) -> asyncio.Event:
        # The accept may come before the answer to the POST that started the chat.
        return self.held_events.setdefault(interaction_id, asyncio.Event())

    async def _call(
        self, desk: Desk, method: str, path: str, action: str, body: Any = None
    ) -> Reply | None:
        assert self.agent_http is not None
        try:
            reply = await self.agent_http.request(method, path, desk.headers, body)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            self.errors[f"{action} {_outcome(exc)}"] += 1
            return None
        if reply.status >= 300:
            self.errors[f"{action} {reply.status} {_problem_code(reply.body)}".strip()] += 1
            return None
        return reply

    async def _drain(self, timeout_s: float) -> bool:
        """Wait (bounded) until every agent's work in hand is done."""
        deadline = time.monotonic() + timeout_s
        while self.work and time.monotonic() < deadline:
            await asyncio.wait(set(self.work), timeout=deadline - time.monotonic())
        return not self.work

    async def _wait_offers(self, ids: list[str], timeout_s: float) -> list[str]:
        """Wait (bounded) for an offer frame of each id; the ids still without one."""
        deadline = time.monotonic() + timeout_s
        missing = [iid for iid in ids if iid not in self.offer_at]
        while missing and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            missing = [iid for iid in missing if iid not in self.offer_at]
        return missing

    # --- relay and memory per websocket ----------------------------------------------------

    async def _relay(self) -> None:
        options = self.options
        assert self.service is not None and self.http is not None
        # Self-paced: each of a few slots starts a chat and waits until an agent holds it. A
        # fixed rate above what the machine sustains lets offers time out (30 s) and sets the
        # agents who missed them busy.
        numbers = itertools.count()
        started_at = time.perf_counter()
        deadline = started_at + CHATS_LIMIT_S

        async def slot() -> None:
            for number in numbers:
                if number >= options.chats or time.perf_counter() > deadline:
                    return
                reply = await self._start_chat(number)
                if reply is None:
                    continue
                body = reply.json()
                chat = Chat(str(body["interaction_id"]), str(body["token"]))
                self.chats[chat.interaction_id] = chat
                held = self._held_event(chat.interaction_id)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(held.wait(), 30.0)

        self.say(f"starting {options.chats} chats, {options.chat_slots} at a time")
        await asyncio.gather(*(slot() for _ in range(options.chat_slots)))
        elapsed_s = time.perf_counter() - started_at
        chats = [chat for chat in self.chats.values() if chat.interaction_id in self.held]
        self.result.update(
            chats_started=len(self.chats),
            chats_accepted=len(chats),
            chats_started_per_s=round(len(self.chats) / elapsed_s, 1),
        )
        self.say(f"{len(chats)} chats accepted in {elapsed_s:.1f} s; opening the claimant sockets")
        if not chats:
            raise ServerError("no relay chat was offered and accepted")

        per_socket = await self._claimants_memory(chats)
        open_sockets = [chat for chat in chats if chat.ws is not None]
        self.result.update(
            claimant_sockets_open=len(open_sockets),
            claimant_sockets_with_deflate=sum(
                1 for chat in open_sockets if chat.ws is not None and chat.ws.protocol.extensions
            ),
            bytes_per_websocket=per_socket,
            server_rss_mb_with_chats=round(self.service.rss_bytes() / 2**20, 1),
        )

        total = max(1, int(options.relay_rate * options.relay_duration))
        self.say(f"{len(open_sockets)} claimant sockets open; relaying {total} messages")

        busy: set[str] = set()

        async def say(number: int, due: float) -> None:
            # Round robin over the chats, skipping any with a message still on its way: two
            # messages stored at once in one chat can clash on their number (a 409).
            count = len(open_sockets)
            chat = next(
                (
                    candidate
                    for step in range(count)
                    if (candidate := open_sockets[(number + step) % count]).interaction_id
                    not in busy
                ),
                None,
            )
            if chat is None:
                self.errors["relay message skipped: every chat busy"] += 1
                return
            key = f"relay-{number}"
            arrived = self.relay_events[key] = asyncio.Event()
            busy.add(chat.interaction_id)
            try:
                if (number + number // count) % 2 == 0:
                    await self._agent_says(chat, key)
                else:
                    await self._claimant_says(chat, key)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), 10.0)
            finally:
                busy.discard(chat.interaction_id)

        await _paced(total, options.relay_rate, say)
        await _wait_until(lambda: len(self.relay_got) >= len(self.relay_sent), 10.0)
        by_direction: dict[str, list[float]] = {"to_claimant": [], "to_agent": []}
        for key, (sent_at, direction) in self.relay_sent.items():
            if key in self.relay_got:
                by_direction[direction].append((self.relay_got[key] - sent_at) * 1000)
        latencies = by_direction["to_claimant"] + by_direction["to_agent"]
        self.result.update(
            relay_messages=len(self.relay_sent),
            relay_lost=len(self.relay_sent) - len(self.relay_got),
            relay_p50_ms=_ms(_percentile(latencies, 50)),
            relay_p99_ms=_ms(_percentile(latencies, 99)),
            relay_to_claimant_p99_ms=_ms(_percentile(by_direction["to_claimant"], 99)),
            relay_to_agent_p99_ms=_ms(_percentile(by_direction["to_agent"], 99)),
        )

        self.say("relay done; closing the claimant sockets")
        for chat in chats:
            chat.leaving = True
        await asyncio.gather(*(chat.ws.close() for chat in chats if chat.ws is not None))

    async def _open_claimants(self, chats: list[Chat]) -> None:
        """Open the claimants' sockets, every other one offering permessage-deflate as
        browsers do."""
        await self._bounded(
            [
                self._open_claimant(chat, "deflate" if number % 2 == 0 else None)
                for number, chat in enumerate(chats)
            ],
            limit=50,
            what="chat ws",
        )

    async def _claimants_memory(self, chats: list[Chat]) -> int | None:
        """Open the claimants' sockets (`_open_claimants`); the server's RSS growth per idle
        socket once they are open.

        One figure over all of them: the service declines deflate (counted client-side in
        `claimant_sockets_with_deflate`), so both kinds are the same socket to it, and the
        heap's growth in steps made any split between them noise (whichever half opened
        second measured about 3 KB more)."""
        assert self.service is not None
        warm = max(1, min(20, len(chats) // 20))
        await self._open_claimants(chats[:warm])
        await asyncio.sleep(SETTLE_S)
        rest = chats[warm:]
        if not rest:
            return None
        before = self.service.rss_bytes()
        await self._open_claimants(rest)
        await asyncio.sleep(SETTLE_S)
        return round((self.service.rss_bytes() - before) / len(rest))

    async def _start_chat(self, number: int) -> Reply | None:
        assert self.http is not None
        body = {
            "name": f"{RELAY_NAME} {number}",
            "language": "en",
            "topic": QUEUE,
            "message": "I have not received my payment",
        }
        try:
            reply = await self.http.request("POST", "/api/v1/chats", {}, body)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            self.errors[f"start chat {_outcome(exc)}"] += 1
            return None
        if reply.status != 201:
            self.errors[f"start chat {reply.status} {_problem_code(reply.body)}".strip()] += 1
            return None
        return reply

    async def _open_claimant(self, chat: Chat, compression: str | None) -> None:
        await self._retrying("chat ws", lambda: self._claimant_socket(chat, compression))

    async def _claimant_socket(self, chat: Chat, compression: str | None) -> None:
        assert self.service is not None
        ws = await connect(
            f"ws://127.0.0.1:{self.service.port}/ws/chat",
            compression=compression,
            proxy=None,
            ping_interval=None,
            open_timeout=CONNECT_TIMEOUT_S,
        )
        try:
            await ws.send(json.dumps({"type": "hello", "token": chat.token, "last_seq": 0}))
            welcome = json.loads(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S))
        except BaseException:
            await ws.close()
            raise
        if welcome.get("type") != "welcome":
            await ws.close()
            raise ServerError(f"chat {chat.interaction_id}: expected welcome, got {welcome}")
        chat.ws = ws
        chat.task = asyncio.create_task(self._claimant_reader(chat, ws))

    async def _claimant_reader(self, chat: Chat, ws: ClientConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in ws:
                now = time.perf_counter()
                frame = json.loads(text)
                kind = frame.get("type")
                if kind == "message" and frame.get("from") == "agent":
                    self._relay_arrived(frame.get("client_message_id"), now)
                elif kind == "error":
                    self.errors[f"chat error frame {frame.get('code')}"] += 1
        if not chat.leaving:
            code = ws.close_code
            self.closes[f"chat {code if code is not None else 'abnormal'}"] += 1

    def _relay_arrived(self, key: Any, now: float) -> None:
        if isinstance(key, str) and key in self.relay_sent and key not in self.relay_got:
            self.relay_got[key] = now
            self.relay_events[key].set()

    async def _agent_says(self, chat: Chat, key: str) -> None:
        assert self.agent_http is not None
        desk = self.held[chat.interaction_id]

        def sent(at: float) -> None:
            self.relay_sent[key] = (at, "to_claimant")

        body = {"client_message_id": key, "body": f"Agent message {key}"}
        try:
            reply = await self.agent_http.request(
                "POST", f"/api/v1/chats/{chat.interaction_id}/messages", desk.headers, body, sent
            )
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            self.errors[f"agent message {_outcome(exc)}"] += 1
            return
        if reply.status != 201:
            self.errors[f"agent message {reply.status} {_problem_code(reply.body)}".strip()] += 1

    async def _claimant_says(self, chat: Chat, key: str) -> None:
        assert chat.ws is not None
        frame = json.dumps({"type": "message", "client_message_id": key, "body": f"Claimant {key}"})
        self.relay_sent[key] = (time.perf_counter(), "to_agent")
        try:
            await chat.ws.send(frame)
        except websockets.ConnectionClosed:
            self.errors["claimant message: socket closed"] += 1

    # --- offers at a fixed rate -------------------------------------------------------------

    async def _fixed_rate(self) -> None:
        options = self.options
        self.say(f"creates at {options.rate:g}/s: {options.warmup_s:g} s warm-up, then measured")
        if options.warmup_s > 0:
            await self._open_loop("warmup", options.rate, options.warmup_s)
        created, statuses, lags, elapsed_s, answer_ms = await self._open_loop(
            "load", options.rate, options.duration
        )
        ids = list(created)
        self.say(f"{len(ids)} creates acknowledged; waiting for offers and the agents")
        missing = await self._wait_offers(ids, 15.0)
        latencies = [
            (self.offer_at[iid] - created[iid]) * 1000 for iid in ids if iid in self.offer_at
        ]
        drained = await self._drain(options.handle_s + 10)
        acked = statuses.get("201", 0)
        planned = max(1, int(options.rate * options.duration))
        self.result.update(
            creates_planned=planned,
            # Answered, or failed in transport; the rest never left the client's connection
            # pool (every connection was waiting for an answer) before the run gave up.
            creates_sent=sum(statuses.values()),
            creates_acked=acked,
            create_statuses=dict(statuses),
            fixed_rate_acked_per_s=round(acked / options.duration, 1),
            fixed_rate_wall_s=round(elapsed_s, 2),
            create_p50_ms=_ms(_percentile(answer_ms, 50)),
            create_p99_ms=_ms(_percentile(answer_ms, 99)),
            offer_p50_ms=_ms(_percentile(latencies, 50)),
            offer_p99_ms=_ms(_percentile(latencies, 99)),
            offer_max_ms=_ms(max(latencies, default=0.0)),
            offers_measured=len(latencies),
            offers_missing=len(missing),
            send_lag_p99_ms=_ms(_percentile(lags, 99)),
            agents_drained=drained,
            interactions_completed=self.completed,
        )

    async def _open_loop(
        self, tag: str, rate: float, duration_s: float
    ) -> tuple[dict[str, float], Counter[str], list[float], float, list[float]]:
        """POST creates at `rate` for `duration_s`: (id -> send time, statuses, send lags ms,
        seconds from the first send to the last answer, answer times ms)."""
        created: dict[str, float] = {}
        statuses: Counter[str] = Counter()
        lags: list[float] = []
        answer_ms: list[float] = []
        total = max(1, int(rate * duration_s))
        started = time.perf_counter()
        last_answer = started

        async def create(number: int, due: float) -> None:
            nonlocal last_answer
            assert self.http is not None
            body = _create_body(f"{tag}-{number}")
            try:
                reply = await self.http.request(
                    "POST", "/api/v1/interactions", {"X-API-Key": self.api_key}, body
                )
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                statuses[_outcome(exc)] += 1
                return
            statuses[str(reply.status)] += 1
            lags.append((reply.sent_at - due) * 1000)
            last_answer = max(last_answer, reply.answered_at)
            if reply.status == 201:
                created[str(reply.json()["id"])] = reply.sent_at
                answer_ms.append((reply.answered_at - reply.sent_at) * 1000)
            else:
                self.errors[f"create {reply.status} {_problem_code(reply.body)}".strip()] += 1

        await _paced(total, rate, create)
        return created, statuses, lags, last_answer - started, answer_ms

    # --- closed-loop ceilings ---------------------------------------------------------------

    async def _ceiling(self) -> None:
        options = self.options
        assert self.service is not None and self.bare is not None
        await self._bounded(
            [self._open_bare_socket() for _ in range(options.agents)], limit=50, what="bare ws"
        )
        service_rates: list[float] = []
        bare_rates: list[float] = []
        missing = 0
        pushes_missing = 0
        for round_number in range(options.rounds):
            self.say(f"ceiling round {round_number + 1} of {options.rounds}")
            rate, ids = await self._closed_loop(
                self.service.port,
                "/api/v1/interactions",
                {"X-API-Key": self.api_key},
                f"ceiling{round_number}",
            )
            service_rates.append(rate)
            # With too few agents for the rate the queue grows; what they could not take
            # within 10 s spills into the next round (counted).
            missing += len(await self._wait_offers(ids, 10.0))
            await self._drain(options.handle_s + 5)
            self.bare_frames.clear()
            rate, ids = await self._closed_loop(self.bare.port, "/bare", {}, "bare")
            bare_rates.append(rate)
            expected = len(ids)
            await _wait_until(lambda n=expected: len(self.bare_frames) >= n, 10.0)
            pushes_missing += len(set(ids) - set(self.bare_frames))
        service_rate = statistics.median(service_rates)
        bare_rate = statistics.median(bare_rates)
        self.result.update(
            interactions_per_s=round(service_rate, 1),
            bare_interactions_per_s=round(bare_rate, 1),
            throughput_ratio=round(service_rate / bare_rate, 3) if bare_rate else 0.0,
            ceiling_rounds={
                "service": [round(rate, 1) for rate in service_rates],
                "bare": [round(rate, 1) for rate in bare_rates],
            },
            ceiling_not_offered_in_10s=missing,
            bare_pushes_missing=pushes_missing,
            interactions_completed=self.completed,
        )

    async def _closed_loop(
        self, port: int, path: str, headers: dict[str, str], tag: str
    ) -> tuple[float, list[str]]:
        """Creates for `--ceiling-s` seconds, `--concurrency` at a time, after a warm-up of a
        fifth of that: (acknowledged creates per second, their ids)."""
        options = self.options
        http = Http(port, limit=options.concurrency)
        ids: list[str] = []
        numbers = itertools.count()

        async def user(until: float, record: bool) -> None:
            while time.perf_counter() < until:
                key = f"{tag}-{next(numbers)}"
                try:
                    reply = await http.request("POST", path, headers, _create_body(key))
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                    self.errors[f"{tag} {_outcome(exc)}"] += 1
                    continue
                if reply.status != 201:
                    self.errors[f"{tag} {reply.status} {_problem_code(reply.body)}".strip()] += 1
                elif record:
                    ids.append(str(reply.json()["id"]))

        try:
            until = time.perf_counter() + options.ceiling_s / 5
            await asyncio.gather(*(user(until, False) for _ in range(options.concurrency)))
            started = time.perf_counter()
            until = started + options.ceiling_s
            await asyncio.gather(*(user(until, True) for _ in range(options.concurrency)))
            elapsed_s = time.perf_counter() - started
        finally:
            http.close()
        return len(ids) / elapsed_s, ids

    async def _open_bare_socket(self) -> None:
        assert self.bare is not None
        ws = await connect(
            f"ws://127.0.0.1:{self.bare.port}/ws",
            compression="deflate",  # as browsers offer it
            proxy=None,
            ping_interval=None,
            open_timeout=CONNECT_TIMEOUT_S,
        )

        async def read() -> None:
            with contextlib.suppress(websockets.ConnectionClosed):
                async for text in ws:
                    now = time.perf_counter()
                    frame = json.loads(text)
                    if frame.get("type") == "offer":
                        self.bare_frames[str(frame["interaction_id"])] = now

        self.bare_sockets.append((ws, asyncio.create_task(read())))

    # --- helpers ------------------------------------------------------------------------------

    async def _retrying(self, what: str, attempt: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """`attempt()`, again after 1-3 s when the socket is refused or closed (e.g. 1013, the
        service is busy), up to SOCKET_ATTEMPTS times; each retry is counted."""
        for number in range(1, SOCKET_ATTEMPTS + 1):
            try:
                return await attempt()
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                if number == SOCKET_ATTEMPTS:
                    raise
                code = (
                    exc.rcvd.code
                    if isinstance(exc, websockets.ConnectionClosed) and exc.rcvd
                    else None
                )
                self.errors[f"{what} retried after {type(exc).__name__} {code or ''}".strip()] += 1
                await asyncio.sleep(random.uniform(1.0, 3.0))
        raise AssertionError("unreachable")

    def say(self, text: str) -> None:
        """A progress line on stderr (unless --quiet)."""
        if not self.options.quiet:
            print(f"# {time.monotonic() - self.began:6.1f}s {text}", file=sys.stderr, flush=True)

    async def _bounded(
        self, jobs: list[Coroutine[Any, Any, Any]], *, limit: int, what: str
    ) -> list[Any]:
        """Run `jobs` at most `limit` at once; their results (a failure raises)."""
        slots = asyncio.Semaphore(limit)

        async def one(job: Coroutine[Any, Any, Any]) -> Any:
            async with slots:
                return await asyncio.wait_for(job, JOB_TIMEOUT_S)

        try:
            return await asyncio.gather(*(one(job) for job in jobs))
        except Exception as exc:
            raise ServerError(f"{what}: {type(exc).__name__}: {exc}") from exc

    async def _close_clients(self) -> None:
        sockets: list[ClientConnection] = [desk.ws for desk in self.desks]
        sockets += [chat.ws for chat in self.chats.values() if chat.ws is not None]
        sockets += [ws for ws, _ in self.bare_sockets]
        tasks = [task for desk in self.desks for task in desk.tasks]
        tasks += [chat.task for chat in self.chats.values() if chat.task is not None]
        tasks += [task for _, task in self.bare_sockets]
        tasks += list(self.work)
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True), 15
            )
        await asyncio.gather(*tasks, return_exceptions=True)
        for http in (self.http, self.agent_http):
            if http is not None:
                http.close()
        self.desks, self.chats, self.bare_sockets, self.work = [], {}, [], set()
        self.http = self.agent_http = None


async def _paced(
    total: int, rate: float, job: Callable[[int, float], Coroutine[Any, Any, None]]
) -> None:
    """Start `job(number, due)` `total` times at `rate` per second (open loop: a slow answer
    never delays the next start), then wait for them (bounded; stragglers are cancelled)."""
    tasks: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    for number in range(total):
        due = started + number / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(job(number, due)))
    _, pending = await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT_S + 5)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Poll `condition` until it holds or `timeout_s` passes; whether it holds."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)


def _create_body(key: str) -> dict[str, Any]:
    return {
        "channel": "chat",
        "queue": QUEUE,
        "customer": {"id": f"claimant-{key}", "name": f"{LOAD_NAME} {key}"},
        "attributes": {"claim_number": "UI-2026-000001"},
    }


def _problem_code(body: bytes) -> str:
    try:
        problem = json.loads(body)
    except ValueError:
        return ""
    return str(problem.get("code", "")) if isinstance(problem, dict) else ""


def _percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _ms(value: float) -> float:
    return round(value, 2)


def _print_table(r: dict[str, Any]) -> None:
    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    def kb(value: int | None) -> str:
        return "-" if value is None else f"{value / 1024:.1f} KB"

    targets = r["targets"]
    lines = [
        f"Switchboard end to end on {r['backend']}, loopback: {r['agents']} agent desks (chat "
        f"capacity {r['chat_capacity']}, {r['relay_chat_capacity']} for the relay; offers held "
        f"{r['handle_s']:g} s); a fresh service per phase; {r['elapsed_s']:g} s",
        "",
        f"offers    {r['rate']:g}/s for {r['duration_s']:g} s: {r['creates_acked']} of "
        f"{r['creates_planned']} creates acknowledged ({r['fixed_rate_acked_per_s']:g}/s; "
        f"answers {r['create_statuses']}), {r['offers_missing']} of those without an offer",
        f"          create->offer p50 {r['offer_p50_ms']:.1f} ms  p99 {r['offer_p99_ms']:.1f} ms"
        f"  max {r['offer_max_ms']:.1f} ms   (POST answered p50 {r['create_p50_ms']:.1f} ms"
        f"  p99 {r['create_p99_ms']:.1f} ms; client send lag p99 {r['send_lag_p99_ms']:.1f} ms)",
        f"ceiling   closed loop: service {r['interactions_per_s']:g}/s (agents working), "
        f"bare POST+push {r['bare_interactions_per_s']:g}/s, ratio {r['throughput_ratio']:.2f}"
        f"   rounds {r['ceiling_rounds']}; "
        f"{r['ceiling_not_offered_in_10s']} not offered within 10 s",
        f"chats     {r['chats_accepted']} of {r['chats_started']} started chats accepted "
        f"({r['chats_started_per_s']:g} started/s, {r['chat_slots']} at a time)",
        f"relay     {r['chats_accepted']} chats, {r['relay_messages']} messages: "
        f"p50 {r['relay_p50_ms']:.1f} ms  p99 {r['relay_p99_ms']:.1f} ms  (to claimant p99 "
        f"{r['relay_to_claimant_p99_ms']:.1f}, to agent p99 {r['relay_to_agent_p99_ms']:.1f});"
        f" {r['relay_lost']} lost",
        f"memory    per idle claimant websocket {kb(r['bytes_per_websocket'])} "
        f"({r['claimant_sockets_open']} open, half offering permessage-deflate, "
        f"{r['claimant_sockets_with_deflate']} given it); "
        f"per agent desk {kb(r['bytes_per_agent_desk'])};"
        f" server RSS {r['server_rss_mb_with_chats']:g} MB with the chats open",
        "",
        f"targets   offer p99 < {TARGET_OFFER_P99_MS:g} ms: "
        f"{verdict(targets['offer_p99_under_50ms'])};  throughput >= {TARGET_RATIO:g} x bare: "
        f"{verdict(targets['throughput_at_least_half_bare'])};  < 50 KB per idle websocket: "
        f"{verdict(targets['under_50kb_per_idle_websocket'])}",
        f"agents    act by {'desk frames' if r['agent_actions'] == 'ws' else 'REST'}; their "
        f"REST calls share {r['agent_connections']} connections",
    ]
    for phase, use in r["cpu"].items():
        lines.append(
            f"{phase:<9} {use['wall_s']:g} s: CPU service {use['service_cpu_pct']}%, load "
            f"generator {use['load_generator_cpu_pct']}%, bare {use['bare_cpu_pct']}%; "
            f"errors {r['errors'].get(phase) or 'none'}; "
            f"socket closes by the server {r['socket_closes'].get(phase) or 'none'}"
        )
    for phase, warnings in r["server_log_warnings"].items():
        if warnings:
            lines.append(f"service log ({phase}), first lines of warnings:")
            lines += [f"  {line[:300]}" for line in warnings]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
