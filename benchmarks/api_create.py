"""How fast integrators can create interactions: POST /api/v1/interactions vs a bare insert.

For each backend (embedded SQLite, and PostgreSQL when reachable) it starts the real service
and a bare FastAPI endpoint that writes one row with the same driver, each as a uvicorn
subprocess on 127.0.0.1, sends the same closed-loop load to both (N requests, C at a time),
and prints creates per second, p50/p99 latency and the ratio to the bare figure. Both servers
run side by side and the loads alternate for several rounds; rates are medians.

With Redis reachable it also measures PostgreSQL + Redis with 1 and with 2 worker processes
(`serve --workers N`, the bare app with as many uvicorn workers): one process is the routing
writer, the other sends its requests to it over the Redis stream.

    .venv/bin/python benchmarks/api_create.py [--requests 3000] [--concurrency 32] [--rounds 3]
                                               [--json] [--processes 1,2]
                                               [--postgres-url postgresql://postgres@127.0.0.1/postgres]
                                               [--redis-url redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg
import httpx
import redis
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.auth.api_keys import generate_api_key  # noqa: E402
from app.auth.models import ApiKey  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.session import create_engine, create_session_factory  # noqa: E402
from app.queues.models import Queue  # noqa: E402

BODY = {
    "channel": "chat",
    "queue": "Benchmark",
    "customer": {"id": "claimant-1", "name": "Ana"},
    "attributes": {"claim_number": "UI-2026-000001"},
}
STARTUP_TIMEOUT_S = 60


@dataclass
class Result:
    """One backend's figures."""

    backend: str
    creates_per_s: float
    p50_ms: float
    p99_ms: float
    bare_creates_per_s: float
    ratio: float


def main() -> None:
    """Run the benchmark on each backend and print a table (or JSON)."""
    options = _parse()
    results = [run_backend("sqlite", None, options)]
    if options.postgres_url and postgres_reachable(options.postgres_url):
        results.append(run_backend("postgresql", options.postgres_url, options))
        if options.redis_url and redis_reachable(options.redis_url):
            for processes in options.processes:
                results.append(
                    run_backend(
                        "postgresql",
                        options.postgres_url,
                        options,
                        redis_url=options.redis_url,
                        processes=processes,
                    )
                )
        elif options.redis_url:
            print(f"# Redis at {options.redis_url} not reachable: skipped", file=sys.stderr)
    elif options.postgres_url:
        print(f"# PostgreSQL at {options.postgres_url} not reachable: skipped", file=sys.stderr)
    if options.json:
        print(json.dumps([asdict(result) for result in results], indent=2))
        return
    _print_table(results, options)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per measurement")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--warmup", type=int, default=200, help="requests before measuring")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds per server; medians reported"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "SWITCHBOARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server to create scratch databases on ('' to skip)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("SWITCHBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        help="Redis for the multi-process runs ('' to skip them)",
    )
    parser.add_argument(
        "--processes",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 2],
        help="worker processes to measure with Redis, comma-separated (default 1,2)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser.parse_args()


def run_backend(
    backend: str,
    server_url: str | None,
    options: argparse.Namespace,
    *,
    redis_url: str | None = None,
    processes: int = 1,
) -> Result:
    """Measure the service and the bare endpoint on one backend (with Redis: N processes)."""
    bare_command = ["-m", "uvicorn", "benchmarks.bare_app:create_app", "--factory"]
    service_command = ["-m", "app.cli", "serve"]
    cluster_env: dict[str, str] = {}
    if redis_url:
        bare_command += ["--workers", str(processes)]
        service_command += ["--workers", str(processes)]
        cluster_env = {
            "REDIS_URL": redis_url,
            "SWITCHBOARD_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:8]}:",
            "SWITCHBOARD_SECRET_KEY": uuid.uuid4().hex * 2,
        }
        backend = f"pg+redis x{processes}"
    rates: list[float] = []
    bare_rates: list[float] = []
    latencies: list[float] = []
    with (
        _database(backend, server_url) as service_url,
        _database(backend, server_url) as bare_url,
    ):
        api_key = asyncio.run(prepare_service_database(service_url))
        headers = {"X-API-Key": api_key}
        with (
            _serve(service_command, {"DATABASE_URL": service_url, **cluster_env}) as base,
            _serve(bare_command, {"BARE_DATABASE_URL": bare_url}) as bare_base,
        ):
            # Alternate the two, so that a noisy moment of the machine hits both alike.
            for _ in range(options.rounds):
                rate, round_latencies = asyncio.run(
                    _load(f"{base}/api/v1/interactions", headers, options)
                )
                rates.append(rate)
                latencies.extend(round_latencies)
                bare_rates.append(asyncio.run(_load(f"{bare_base}/bare", {}, options))[0])
    rate, bare_rate = statistics.median(rates), statistics.median(bare_rates)
    return Result(
        backend=backend,
        creates_per_s=round(rate, 1),
        p50_ms=round(_percentile(latencies, 50), 2),
        p99_ms=round(_percentile(latencies, 99), 2),
        bare_creates_per_s=round(bare_rate, 1),
        ratio=round(rate / bare_rate, 3) if bare_rate else 0.0,
    )


async def prepare_service_database(database_url: str) -> str:
    await asyncio.to_thread(upgrade, database_url)
    engine = create_engine(database_url)
    key = generate_api_key()
    try:
        async with create_session_factory(engine)() as session, session.begin():
            session.add(Queue(name="Benchmark", max_size=None))
            session.add(ApiKey(name="benchmark", prefix=key.prefix, key_hash=key.key_hash))
    finally:
        await engine.dispose()
    return key.plaintext


async def _load(
    url: str, headers: dict[str, str], options: argparse.Namespace
) -> tuple[float, list[float]]:
    request = _request_bytes(url, headers)
    port = httpx.URL(url).port or 80
    connections = [
        await asyncio.open_connection("127.0.0.1", port) for _ in range(options.concurrency)
    ]
    try:
        await _closed_loop(connections, request, options.warmup)
        started = time.perf_counter()
        latencies = await _closed_loop(connections, request, options.requests)
        elapsed_s = time.perf_counter() - started
    finally:
        for _, writer in connections:
            writer.close()
    return options.requests / elapsed_s, latencies


def _request_bytes(url: str, headers: dict[str, str]) -> bytes:
    # A raw keep-alive HTTP/1.1 request: httpx's async pool, not the server, capped at
    # ~250 requests/s here, so the load generator must be this thin.
    target = httpx.URL(url)
    body = json.dumps(BODY).encode()
    lines = [
        f"POST {target.raw_path.decode()} HTTP/1.1",
        f"Host: 127.0.0.1:{target.port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _closed_loop(
    connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]],
    request: bytes,
    total: int,
) -> list[float]:
    latencies: list[float] = []
    remaining = iter(range(total))

    async def user(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in remaining:
            started = time.perf_counter()
            writer.write(request)
            status, body = await _read_response(reader)
            if status != 201:
                raise RuntimeError(f"answered {status}: {body[:300]!r}")
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(user(reader, writer) for reader, writer in connections))
    return latencies


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return status, await reader.readexactly(length)


@contextmanager
def _database(backend: str, server_url: str | None) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite+aiosqlite:///{folder}/bench.db"
        return
    assert server_url is not None
    name = f"switchboard_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(run_admin_statement(server_url, f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(server_url).set(drivername="postgresql+asyncpg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        asyncio.run(
            run_admin_statement(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )


async def run_admin_statement(server_url: str, statement: str) -> None:
    url = make_url(server_url)
    connection = await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database="postgres",
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def redis_reachable(redis_url: str) -> bool:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        return False
    finally:
        client.close()
    return True


def postgres_reachable(server_url: str) -> bool:
    try:
        asyncio.run(run_admin_statement(server_url, "SELECT 1"))
    except (OSError, asyncpg.PostgresError):
        return False
    return True


@contextmanager
def _serve(arguments: list[str], env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        environment = {
            **os.environ,
            **env,
            "SWITCHBOARD_DATA_DIR": data_dir,
            "SWITCHBOARD_PORT": str(port),
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, *arguments]
        if "uvicorn" in arguments:
            command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
        process = subprocess.Popen(command, cwd=ROOT, env=environment)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_listening(port, process)
            if "app.cli" in arguments:
                wait_until_ready(base)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("server did not start in time")


def wait_until_ready(base: str) -> None:
    # With several workers each answers for itself: wait for a run of ready answers.
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    ready_in_a_row = 0
    while time.monotonic() < deadline and ready_in_a_row < 8:
        ready = httpx.get(f"{base}/readyz", timeout=5).status_code == 200
        ready_in_a_row = ready_in_a_row + 1 if ready else 0
        time.sleep(0.05)
    if ready_in_a_row < 8:
        raise RuntimeError("service did not become ready in time")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _print_table(results: list[Result], options: argparse.Namespace) -> None:
    print(
        f"POST /api/v1/interactions, {options.requests} requests, "
        f"{options.concurrency} in flight, loopback; "
        f"median of {options.rounds} alternating rounds"
    )
    header = (
        f"{'backend':<15} {'creates/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'bare/s':>9} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.backend:<15} {r.creates_per_s:>10.1f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
            f"{r.bare_creates_per_s:>9.1f} {r.ratio:>6.2f}"
        )


if __name__ == "__main__":
    main()
