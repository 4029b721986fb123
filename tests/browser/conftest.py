"""Fixtures for end-to-end tests in Debian's Chromium (marker `browser`).

* `switchboard_server`: a real `switchboard serve --demo` subprocess on a free port of
  127.0.0.1 with its own temporary data directory and embedded SQLite database (a copy
  of `demo_database`, migrated and seeded once per run); its `url` is the base URL (e.g.
  ``http://127.0.0.1:43121``), `stop()`/`start()`/`restart()` keep port and data (call
  them through ``asyncio.to_thread`` from async tests). `server_url` is the URL string.
* `browser`: a headless Chromium (Playwright, async API) started from /usr/bin/chromium.
* `page`: a new page in a fresh browser context (own cookies and sessionStorage), with
  `base_url` set to the server, so ``await page.goto("/chat")`` works. Actions and
  `expect(...)` assertions wait up to 10 s.
* `api`: an `httpx.AsyncClient` on the server.
* `demo_agent`: ``await demo_agent("ana.ruiz")`` logs a demo agent in over REST and makes
  it available; the result has the staff `id` and the `headers` to act as that agent
  (accept, send messages...). `sign_in_agent(api, username)` is the same as a function.

Everything talks only to 127.0.0.1. Chromium comes from Debian (`apt-get install
chromium`), never from `playwright install`; when it cannot be installed the tests fail
with a message saying so rather than being skipped.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DEMO_PASSWORD = "switchboard-demo"
READY_TIMEOUT_S = 30.0
DATABASE_FILE = "switchboard.db"
# The project's virtualenv sits beside tests/; its console script is what users run.
SWITCHBOARD = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "switchboard"

# A loaded CI machine starting Chromium and a server: give assertions room (default 5 s).
expect.set_options(timeout=10_000)

_install_failure: str | None = None


def _apt_get(*args: str) -> str | None:
    """Run apt-get non-interactively: None when it worked, else the last lines it printed."""
    try:
        result = subprocess.run(
            ["apt-get", *args],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {exc}"
    if result.returncode == 0:
        return None
    tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
    return " | ".join(tail) or f"exit code {result.returncode}"


def _ensure_chromium() -> None:
    """Install Debian's Chromium once per run if it is missing; fail clearly if we cannot."""
    global _install_failure
    if CHROMIUM.exists():
        return
    if _install_failure is None:
        failure = _apt_get("install", "-y", "chromium")
        if failure is not None:
            # A fresh image may have no package lists yet: fetch them and try once more.
            failure = _apt_get("update") or _apt_get("install", "-y", "chromium")
        _install_failure = failure or ""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing and `apt-get install -y chromium` failed: "
            f"{_install_failure or 'no error, but no chromium either'}. "
            "Install Debian's chromium package to run the browser tests.",
            pytrace=False,
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/browser is a browser test, even if a module forgets pytestmark."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in item.path.resolve().parents and item.get_closest_marker("browser") is None:
            item.add_marker(pytest.mark.browser)


def _server_environment(data_dir: Path) -> dict[str, str]:
    """This process's environment without any SWITCHBOARD_ settings, on `data_dir`."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("SWITCHBOARD_") and name not in ("DATABASE_URL", "REDIS_URL")
    }
    return {
        **inherited,
        "SWITCHBOARD_DATA_DIR": str(data_dir),
        "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / DATABASE_FILE}",
    }


class SwitchboardServer:
    """A `switchboard serve --demo` subprocess on 127.0.0.1 with its own data directory.

    `url` is the base URL. `stop()` and `start()` (or `restart()`) keep the port and the
    data, so a test can take the server away under a page and bring it back.
    """

    def __init__(self, port: int, data_dir: Path, log_path: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.data_dir = data_dir
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def log(self) -> str:
        """What the server printed so far (for failure messages)."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def start(self) -> None:
        """Start the server and wait until GET /readyz answers 200 (fails the test if not)."""
        assert self._process is None, "already running"
        env = _server_environment(self.data_dir)
        command = [str(SWITCHBOARD), "serve", "--demo", "--host", "127.0.0.1"]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [*command, "--port", str(self.port)], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_until_ready()

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM), killing it if it does not exit in time."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def restart(self) -> None:
        """Stop, then start again on the same port and data."""
        self.stop()
        self.start()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        last = "no answer"
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                pytest.fail(
                    f"switchboard serve exited with {self._process.returncode} before it was "
                    f"ready:\n{self.log()[-3000:]}",
                    pytrace=False,
                )
            try:
                response = httpx.get(f"{self.url}/readyz", timeout=2)
            except httpx.TransportError as exc:
                last = type(exc).__name__
            else:
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            time.sleep(0.1)
        pytest.fail(
            f"switchboard serve was not ready within {READY_TIMEOUT_S:.0f} s ({last}):\n"
            f"{self.log()[-3000:]}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated and seeded with the demo centre once per run.

    Each server starts from a copy, so it skips the slow part (hashing the demo passwords);
    `serve --demo` still runs its idempotent seeding on top, as a user's would.
    """
    data_dir = tmp_path_factory.mktemp("demo-template")
    result = subprocess.run(
        [str(SWITCHBOARD), "seed-demo"],
        env=_server_environment(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"switchboard seed-demo failed:\n{result.stdout}{result.stderr}", pytrace=False)
    return data_dir / DATABASE_FILE


@pytest.fixture
def switchboard_server(
    tmp_path: Path, free_port: int, demo_database: Path
) -> Iterator[SwitchboardServer]:
    """A real demo server in a subprocess, on its own data directory and SQLite file."""
    data_dir = tmp_path / "server-data"
    data_dir.mkdir()
    shutil.copyfile(demo_database, data_dir / DATABASE_FILE)
    server = SwitchboardServer(free_port, data_dir, tmp_path / "server.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def server_url(switchboard_server: SwitchboardServer) -> str:
    """The base URL of the running demo server, without a trailing slash."""
    return switchboard_server.url


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium driven by Playwright."""
    _ensure_chromium()
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Browser, server_url: str) -> AsyncIterator[Page]:
    """A new page in its own browser context, with relative URLs resolved on the server."""
    context = await browser.new_context(base_url=server_url)
    context.set_default_timeout(10_000)
    new_page = await context.new_page()
    try:
        yield new_page
    finally:
        await context.close()


@pytest.fixture
async def api(server_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the demo server, for driving agents and checking state in tests."""
    async with httpx.AsyncClient(base_url=server_url, timeout=10) as client:
        yield client


@dataclass(frozen=True)
class SignedInAgent:
    """A demo agent signed in over REST: its staff id and the headers that prove it."""

    id: str
    headers: dict[str, str]


async def sign_in_agent(
    api: httpx.AsyncClient, username: str = "ana.ruiz", *, available: bool = True
) -> SignedInAgent:
    """Log a demo agent in (password `switchboard-demo`) and, by default, make it available."""
    response = await api.post(
        "/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    me = await api.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200, me.text
    agent = SignedInAgent(id=str(me.json()["subject_id"]), headers=headers)
    if available:
        presence = await api.put(
            f"/api/v1/agents/{agent.id}/presence", json={"state": "available"}, headers=headers
        )
        assert presence.status_code in (200, 204), presence.text
    return agent


AgentFactory = Callable[..., Awaitable[SignedInAgent]]


@pytest.fixture
def demo_agent(api: httpx.AsyncClient) -> AgentFactory:
    """``await demo_agent(username="ana.ruiz", available=True)``: a signed-in demo agent."""

    async def make(username: str = "ana.ruiz", *, available: bool = True) -> SignedInAgent:
        return await sign_in_agent(api, username, available=available)

    return make
