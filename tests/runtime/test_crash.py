"""kill -9 loses nothing acknowledged: a real server process, killed and started again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from benchmarks.api_create import prepare_service_database

pytestmark = [pytest.mark.slow, pytest.mark.serial]


@contextmanager
def _server(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(f"http://127.0.0.1:{port}/readyz")
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=20)


def _wait_ready(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready in {timeout_s}s")


def test_waiting_interactions_survive_kill_9_in_order(tmp_path: Path, free_port: int) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}"
    api_key = asyncio.run(prepare_service_database(database_url))
    env = {"DATABASE_URL": database_url, "SWITCHBOARD_DATA_DIR": str(tmp_path / "data")}
    headers = {"X-API-Key": api_key}
    base = f"http://127.0.0.1:{free_port}/api/v1/interactions"
    with _server(env, free_port) as process:
        created = [
            httpx.post(base, json={"channel": "chat", "queue": "Benchmark"}, headers=headers).json()
            for _ in range(5)
        ]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    with _server(env, free_port):
        after = [httpx.get(f"{base}/{item['id']}", headers=headers).json() for item in created]
    assert [item["position"] for item in created] == [1, 2, 3, 4, 5]
    assert [item["position"] for item in after] == [1, 2, 3, 4, 5]
    assert [item["state"] for item in after] == ["queued"] * 5
    assert [item["created_at"] for item in after] == [item["created_at"] for item in created]
