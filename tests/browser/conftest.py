"""Fixtures for end-to-end tests in Debian's Chromium and Firefox ESR (marker `browser`).

One real `switchboard serve --demo` subprocess, one headless Chromium and (for the tests
that ask for it) one headless Firefox serve all the tests of this package (started by the
first test that needs them, stopped after the last); every test works in its own corner of
that demo centre, so tests stay independent of each other and of their order:

* `centre`: the test's own skill, queue (its chat topic, ``centre.queue``) and agents,
  set up over the admin API. ``await centre.agent("Ana Ruiz")`` is an agent called Ana
  Ruiz who holds the skill, signed in over REST and (by default) available; the result
  has its staff `id`, `username`, `password` and the `headers` to act as that agent.
  ``await centre.account("Ana Ruiz")`` only makes the account (to sign in on the desk
  page); accounts come from a pool in the template database (`demo_database`), whose
  passwords are cheap to check. ``await centre.add_queue("Seguro de Desempleo")`` adds
  another queue that no agent serves (or the holders of ``skill=``). At the end of the
  test its agents go offline and are deactivated and its queues are deactivated, so no
  other test is offered its chats or sees its agents.
* `client_address`: the address the server sees for this test's requests and pages
  (``X-Forwarded-For``, trusted from 127.0.0.1 only), so per-address limits such as
  chat starts are the test's own.
* `server_url`: the base URL (e.g. ``http://127.0.0.1:43121``) of the shared server, or of
  a dedicated one when the test asks for `switchboard_server`: a server of its own
  (started from a copy of `demo_database`) whose `stop()`/`start()`/`restart()` keep port
  and data (call them through ``asyncio.to_thread`` from async tests).
* `browser`: a headless Chromium (Playwright, async API) started from /usr/bin/chromium.
* `new_context`: ``await new_context()`` is a fresh browser context (own cookies and
  sessionStorage, `base_url` set to the server), closed after the test; `page` is a page
  in one. Actions and `expect(...)` assertions wait up to 10 s.
* `firefox`: a headless Firefox ESR (/usr/bin/firefox-esr) driven over WebDriver BiDi,
  behind `firefox_relay.py` (its docstring says why: Playwright 1.65 sends a command
  Firefox 153 ESR lacks), kept to loopback by `FIREFOX_ENVIRONMENT` and `FIREFOX_PREFS`.
  `new_firefox_context` is `new_context` in it; its contexts override no media feature
  (colour scheme and the like), which is all the relay can answer for.
* `api`: an `httpx.AsyncClient` on the server (with the test's client address).
* `sign_in_agent(api, username, password)` logs any staff account in over REST.

Tests and async fixtures here run in one event loop for the whole package (the browser
lives in it): declare async fixtures with ``@pytest_asyncio.fixture(loop_scope="package")``;
tests get the matching `asyncio` marker from `pytest_collection_modifyitems`.

Everything talks only to 127.0.0.1. The browsers come from Debian (`apt-get install
chromium firefox-esr`), never from `playwright install`; when one cannot be installed the
tests that need it fail with a message saying so rather than being skipped.
"""

from __future__ import annotations

import inspect
import itertools
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    async_playwright,
    expect,
)

from tests.services import ensure_debian_package

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    # Calls (test_calls.py): a fake camera and microphone, granted without a prompt, and
    # ICE candidates on 127.0.0.1 (Chromium leaves loopback out unless told), never hidden
    # behind mDNS names.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
FIREFOX = Path("/usr/bin/firefox-esr")
FIREFOX_RELAY = Path(__file__).resolve().parent / "firefox_relay.py"
# Firefox may open connections to 127.0.0.1 / ::1 only: anything else fails at once.
FIREFOX_ENVIRONMENT = {"MOZ_DISABLE_NONLOCAL_CONNECTIONS": "1"}
# ... and does not even try: each of its own background services is switched off.
FIREFOX_PREFS: dict[str, str | float | bool] = {
    # No updates of Firefox itself, its add-ons, block lists or search engines.
    "app.update.enabled": False,
    "app.update.auto": False,
    "app.update.checkInstallTime": False,
    "extensions.update.enabled": False,
    "extensions.systemAddon.update.enabled": False,
    "extensions.blocklist.enabled": False,
    "browser.search.update": False,
    # No Safe Browsing lists to download or URLs to look up.
    "browser.safebrowsing.downloads.remote.enabled": False,
    "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.safebrowsing.provider.google.updateURL": "",
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "browser.safebrowsing.update.enabled": False,
    # No Remote Settings (certificate intermediates, CRLite, ...): its server is a data:
    # URL, which never reaches the network (an unreachable http one is still retried).
    "services.settings.server": "data:,#remote-settings-dummy/v1",
    "security.remote_settings.intermediates.enabled": False,
    "security.remote_settings.crlite_filters.enabled": False,
    # No network probes of its own: captive portal and connectivity checks, DNS over HTTPS
    # (mode 5: off), prefetching, speculative connections, OCSP, time servers.
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.trr.mode": 5,
    "network.dns.disablePrefetch": True,
    "network.prefetch-next": False,
    "network.predictor.enabled": False,
    "network.http.speculative-parallel-limit": 0,
    "security.OCSP.enabled": 0,
    "network.sntp.pools": "127.0.0.1",
    # No telemetry, health reports or pings.
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.archive.enabled": False,
    "toolkit.telemetry.server": "",
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "browser.ping-centre.telemetry": False,
    "browser.newtabpage.activity-stream.feeds.telemetry": False,
    "browser.newtabpage.activity-stream.telemetry": False,
    # No online features: region and location lookups, push, media plug-in downloads,
    # machine learning models, translations, address-bar suggestions.
    "browser.region.network.url": "",
    "browser.region.update.enabled": False,
    "geo.provider.network.url": "",
    "dom.push.connection.enabled": False,
    "media.gmp-manager.url": "",
    "media.gmp-manager.updateEnabled": False,
    "browser.ml.enable": False,
    "browser.translations.enable": False,
    "browser.urlbar.merino.endpointURL": "",
}
# A stuck start fails with Playwright's message and Firefox's log, before the test timeout.
FIREFOX_LAUNCH_TIMEOUT_MS = 30_000
# Actions and `expect(...)` assertions wait up to 10 s: room for a loaded CI machine
# starting a browser and a server (expect's default is 5 s), yet a broken page fails
# sooner than at Playwright's 30 s for actions.
ACTION_TIMEOUT_MS = 10_000
DEMO_PASSWORD = "switchboard-demo"
# Passwords of the agents the tests create (the server checks only length and variety);
# the same as demo_template.POOL_PASSWORD.
AGENT_PASSWORD = "browser-test-agent"
# Agent accounts made with the template database, more than one run of the suite takes.
POOL_SIZE = 120
TEMPLATE_SCRIPT = Path(__file__).resolve().parent / "demo_template.py"
READY_TIMEOUT_S = 30.0
DATABASE_FILE = "switchboard.db"
# The project's virtualenv sits beside tests/; its console script is what users run.
SWITCHBOARD = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "switchboard"
# Each test's requests claim their own client address; the servers trust it from here only.
FORWARDED_HEADER = "X-Forwarded-For"
TRUSTED_PROXY = "127.0.0.1"

expect.set_options(timeout=ACTION_TIMEOUT_MS)


def _ensure_chromium() -> None:
    """Install Debian's Chromium once per run if it is missing; fail clearly if we cannot."""
    ensure_debian_package(CHROMIUM, "chromium")


def _ensure_firefox() -> None:
    """Install Debian's Firefox ESR once per run if it is missing; fail clearly if we cannot."""
    ensure_debian_package(FIREFOX, "firefox-esr")


def _firefox_executable(directory: Path) -> Path:
    """A script in `directory` that Playwright launches as Firefox: it runs Firefox ESR
    behind the relay, with this interpreter (which has `websockets`)."""
    command = [sys.executable, str(FIREFOX_RELAY), str(FIREFOX)]
    script = directory / "firefox"
    script.write_text(
        f'#!/bin/sh\nexec {" ".join(shlex.quote(part) for part in command)} "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/browser is a browser test, even if a module forgets pytestmark,
    and runs in the package's event loop, where the shared browser lives."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here not in item.path.resolve().parents:
            continue
        if item.get_closest_marker("browser") is None:
            item.add_marker(pytest.mark.browser)
        marker = item.get_closest_marker("asyncio")
        is_async = inspect.iscoroutinefunction(getattr(item, "obj", None))
        if is_async and (marker is None or marker.kwargs.get("loop_scope") != "package"):
            item.add_marker(pytest.mark.asyncio(loop_scope="package"), append=False)


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


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class SwitchboardServer:
    """A `switchboard serve --demo` subprocess on 127.0.0.1 with its own data directory.

    `url` is the base URL. `stop()` and `start()` (or `restart()`) keep the port and the
    data, so a test can take the server away under a page and bring it back.
    """

    def __init__(
        self, port: int, data_dir: Path, log_path: Path, pool: list[dict[str, str]] | None = None
    ) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.data_dir = data_dir
        self.log_path = log_path
        # Agent accounts of the template database that no test has taken yet.
        self.pool: Iterator[dict[str, str]] = iter(pool or [])
        self._process: subprocess.Popen[bytes] | None = None

    def log(self) -> str:
        """What the server printed so far (for failure messages)."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def start(self) -> None:
        """Start the server and wait until GET /readyz answers 200 (fails the test if not)."""
        assert self._process is None, "already running"
        env = {
            **_server_environment(self.data_dir),
            # Tests tell their client address apart with X-Forwarded-For from 127.0.0.1.
            "SWITCHBOARD_FORWARDED_ALLOW_IPS": TRUSTED_PROXY,
        }
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


POOL_FILE = "agent-pool.json"


def _new_server(directory: Path, demo_database: Path) -> SwitchboardServer:
    data_dir = directory / "server-data"
    data_dir.mkdir()
    shutil.copyfile(demo_database, data_dir / DATABASE_FILE)
    pool = json.loads((demo_database.parent / POOL_FILE).read_text(encoding="utf-8"))
    return SwitchboardServer(_free_port(), data_dir, directory / "server.log", pool)


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated and seeded with the demo centre once per run, plus a pool of
    agent accounts for the tests (tests/browser/demo_template.py; their ids are in
    agent-pool.json beside it).

    Each server starts from a copy, so it skips the slow part (hashing passwords; the
    template's are hashed at argon2's lowest cost); `serve --demo` still runs its
    idempotent seeding on top, as a user's would.
    """
    data_dir = tmp_path_factory.mktemp("demo-template")
    result = subprocess.run(
        [str(SWITCHBOARD.parent / "python"), str(TEMPLATE_SCRIPT), str(POOL_SIZE)],
        env=_server_environment(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"seeding the demo template failed:\n{result.stdout}{result.stderr}", pytrace=False
        )
    pool = json.loads(result.stdout.strip().splitlines()[-1])
    (data_dir / POOL_FILE).write_text(json.dumps(pool), encoding="utf-8")
    return data_dir / DATABASE_FILE


@pytest.fixture(scope="package")
def shared_server(
    tmp_path_factory: pytest.TempPathFactory, demo_database: Path
) -> Iterator[SwitchboardServer]:
    """The demo server every test shares unless it asks for `switchboard_server`."""
    server = _new_server(tmp_path_factory.mktemp("shared-server"), demo_database)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def switchboard_server(tmp_path: Path, demo_database: Path) -> Iterator[SwitchboardServer]:
    """A demo server of the test's own (for tests that stop or restart it)."""
    server = _new_server(tmp_path, demo_database)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(request: pytest.FixtureRequest) -> SwitchboardServer:
    """The test's own server when it asked for `switchboard_server`, else the shared one."""
    name = "switchboard_server" if "switchboard_server" in request.fixturenames else "shared_server"
    found: SwitchboardServer = request.getfixturevalue(name)
    return found


@pytest.fixture
def server_url(server: SwitchboardServer) -> str:
    """The base URL of the test's demo server, without a trailing slash."""
    return server.url


_addresses = itertools.count(1)


@pytest.fixture
def client_address() -> str:
    """An address of the test's own (10.x.y.z), which the server sees as the client's."""
    n = next(_addresses)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def playwright_driver() -> AsyncIterator[Playwright]:
    """Playwright (its driver process), shared by the browsers of this package."""
    async with async_playwright() as playwright:
        yield playwright


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def browser(playwright_driver: Playwright) -> AsyncIterator[Browser]:
    """Headless Debian Chromium driven by Playwright, one for all the tests here."""
    _ensure_chromium()
    chromium = await playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    try:
        yield chromium
    finally:
        await chromium.close()


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def firefox(
    playwright_driver: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Browser]:
    """Headless Debian Firefox ESR over WebDriver BiDi (behind firefox_relay.py), kept to
    loopback; one for all the tests here that ask for it."""
    _ensure_firefox()
    firefox_esr = await playwright_driver.firefox.launch(
        channel="moz-firefox",
        executable_path=_firefox_executable(tmp_path_factory.mktemp("firefox")),
        headless=True,
        env={**os.environ, **FIREFOX_ENVIRONMENT},
        firefox_user_prefs=FIREFOX_PREFS,
        timeout=FIREFOX_LAUNCH_TIMEOUT_MS,
    )
    try:
        yield firefox_esr
    finally:
        await firefox_esr.close()


ContextFactory = Callable[[], Awaitable[BrowserContext]]


# Context options that leave every media feature as the browser has it ("null" is the
# Python API's "no-override"): the only media command firefox_relay.py can answer.
MEDIA_AS_IS: dict[str, Any] = {
    "color_scheme": "null",
    "reduced_motion": "null",
    "forced_colors": "null",
    "contrast": "null",
}


@asynccontextmanager
async def _contexts(
    browser: Browser, server_url: str, client_address: str, **options: Any
) -> AsyncIterator[ContextFactory]:
    """A `new_context`-style factory on `browser` (`options` go to every new context);
    its contexts are closed on the way out."""
    contexts: list[BrowserContext] = []

    async def make() -> BrowserContext:
        context = await browser.new_context(
            base_url=server_url, extra_http_headers={FORWARDED_HEADER: client_address}, **options
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        contexts.append(context)
        return context

    try:
        yield make
    finally:
        for context in contexts:
            await context.close()


@pytest_asyncio.fixture(loop_scope="package")
async def new_context(
    browser: Browser, server_url: str, client_address: str
) -> AsyncIterator[ContextFactory]:
    """``await new_context()``: a fresh browser context on the server, closed after the test."""
    async with _contexts(browser, server_url, client_address) as make:
        yield make


@pytest_asyncio.fixture(loop_scope="package")
async def new_firefox_context(
    firefox: Browser, server_url: str, client_address: str
) -> AsyncIterator[ContextFactory]:
    """``await new_firefox_context()``: `new_context`, in Firefox."""
    async with _contexts(firefox, server_url, client_address, **MEDIA_AS_IS) as make:
        yield make


@pytest_asyncio.fixture(loop_scope="package")
async def script_errors() -> AsyncIterator[list[str]]:
    """JavaScript errors of every page of the test: there must be none."""
    errors: list[str] = []
    yield errors
    assert errors == []


def watch_for_script_errors(page: Page, errors: list[str]) -> Page:
    """`page`, its uncaught script errors added to `errors` (see `script_errors`)."""
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    return page


SPANISH_STATES = [
    "Disponible",
    "Ocupado: descanso",
    "Ocupado: capacitación",
    "Ocupado: reunión",
    "Ocupado: cierre de llamada",
    "Fuera de línea",
]


async def sign_in_in_spanish(page: Page, account: StaffAccount) -> Locator:
    """Sign `account` in on /agent?lang=es, checking the Spanish texts on the way; the
    state switcher ("Estado"), its options in Spanish."""
    await page.goto("/agent?lang=es")
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    await expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
    await page.get_by_label("Nombre de usuario").fill(account.username)
    await page.get_by_label("Contraseña").fill(account.password)
    await page.get_by_role("button", name="Iniciar sesión").click()
    await expect(page.locator("#connection")).to_have_text("Conectado")
    status = page.get_by_label("Estado")
    await expect(status.locator("option")).to_have_text(SPANISH_STATES)
    return status


@pytest_asyncio.fixture(loop_scope="package")
async def page(new_context: ContextFactory) -> Page:
    """A new page in its own browser context, with relative URLs resolved on the server."""
    context = await new_context()
    return await context.new_page()


@pytest_asyncio.fixture(loop_scope="package")
async def api(server_url: str, client_address: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the demo server, for driving agents and checking state in tests."""
    async with httpx.AsyncClient(
        base_url=server_url, timeout=10, headers={FORWARDED_HEADER: client_address}
    ) as client:
        yield client


@dataclass(frozen=True)
class SignedInAgent:
    """A staff account signed in over REST: its staff id and the headers that prove it."""

    id: str
    headers: dict[str, str]
    username: str = ""
    password: str = ""
    name: str = ""


async def sign_in_agent(
    api: httpx.AsyncClient,
    username: str,
    password: str = DEMO_PASSWORD,
    *,
    available: bool = True,
) -> SignedInAgent:
    """Log a staff account in and, by default, make it available."""
    response = await api.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    me = await api.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200, me.text
    agent = SignedInAgent(
        id=str(me.json()["subject_id"]),
        headers=headers,
        username=username,
        password=password,
        name=str(me.json().get("name") or ""),
    )
    if available:
        presence = await api.put(
            f"/api/v1/agents/{agent.id}/presence", json={"state": "available"}, headers=headers
        )
        assert presence.status_code in (200, 204), presence.text
    return agent


@dataclass(frozen=True)
class StaffAccount:
    """An agent account made for one test (not signed in)."""

    id: str
    username: str
    password: str
    name: str


@dataclass
class Centre:
    """One test's corner of the shared demo centre: a skill, queues and agents of its own."""

    api: httpx.AsyncClient
    admin: dict[str, str]
    tag: str
    server: SwitchboardServer
    skill: str = ""
    queue: str = ""
    queue_ids: list[str] = field(default_factory=list)
    queue_names: list[str] = field(default_factory=list)
    agent_ids: list[str] = field(default_factory=list)
    _skills: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.api.post(path, json=body, headers=self.admin)
        assert response.status_code == 201, f"POST {path}: {response.status_code} {response.text}"
        created: dict[str, Any] = response.json()
        return created

    async def add_skill(self) -> str:
        """A new skill of this test's (a slug no other test uses)."""
        name = f"t{self.tag}-{next(self._skills)}"
        await self._post("/api/v1/skills", {"name": name, "description": "browser test"})
        return name

    async def add_queue(self, name: str, *, skill: str | None = None) -> str:
        """A queue named `name` and this test's tag; by default no agent can take its chats."""
        full_name = f"{name} {self.tag}"
        if full_name in self.queue_names:
            full_name = f"{full_name}-{len(self.queue_names) + 1}"
        created = await self._post(
            "/api/v1/queues",
            {
                "name": full_name,
                "description": "browser test",
                "required_skills": [{"skill": skill or await self.add_skill(), "min_level": 1}],
            },
        )
        self.queue_ids.append(str(created["id"]))
        self.queue_names.append(full_name)
        return full_name

    async def account(
        self, name: str = "Ana Ruiz", *, skills: list[str] | None = None, chats: int = 3
    ) -> StaffAccount:
        """An agent called `name` who serves `queue` (or holds `skills`), its account the
        test's own.

        Taken from the template's pool and named and skilled over the admin API (PATCH
        /agents/{id}, PUT /agents/{id}/skills); made with POST /agents when the pool is
        used up."""
        held = [{"skill": skill, "proficiency": 5} for skill in skills or [self.skill]]
        taken = next(self.server.pool, None)
        if taken is None:
            username = f"agent-{self.tag}-{len(self.agent_ids) + 1}"
            created = await self._post(
                "/api/v1/agents",
                {
                    "username": username,
                    "password": AGENT_PASSWORD,
                    "display_name": name,
                    "skills": held,
                    "capacity": {"chat": chats},
                },
            )
            agent_id = str(created["id"])
        else:
            agent_id, username = taken["id"], taken["username"]
            for method, path, body in (
                ("PATCH", "", {"display_name": name, "capacity": {"chat": chats}}),
                ("PUT", "/skills", {"skills": held}),
            ):
                response = await self.api.request(
                    method, f"/api/v1/agents/{agent_id}{path}", json=body, headers=self.admin
                )
                assert response.status_code == 200, f"{method} {path}: {response.text}"
        self.agent_ids.append(agent_id)
        return StaffAccount(agent_id, username, AGENT_PASSWORD, name)

    async def agent(self, name: str = "Ana Ruiz", *, available: bool = True) -> SignedInAgent:
        """An agent who serves `queue`, signed in over REST (and available by default)."""
        account = await self.account(name)
        return await sign_in_agent(
            self.api, account.username, account.password, available=available
        )

    async def tidy(self) -> None:
        """Agents offline and deactivated, queues deactivated (best effort: may be gone)."""
        try:
            for agent_id in self.agent_ids:
                await self.api.put(
                    f"/api/v1/agents/{agent_id}/presence",
                    json={"state": "offline"},
                    headers=self.admin,
                )
                await self.api.post(f"/api/v1/agents/{agent_id}/deactivate", headers=self.admin)
            for queue_id in self.queue_ids:
                await self.api.post(f"/api/v1/queues/{queue_id}/deactivate", headers=self.admin)
        except httpx.HTTPError:
            pass


@pytest_asyncio.fixture(loop_scope="package")
async def centre(api: httpx.AsyncClient, server: SwitchboardServer) -> AsyncIterator[Centre]:
    """The test's own skill and queue (``centre.queue``, also its chat topic) and agents."""
    # The template's passwords are cheap to check: the demo admin signs in for each test.
    admin = await sign_in_agent(api, "admin", DEMO_PASSWORD, available=False)
    made = Centre(api=api, admin=admin.headers, tag=secrets.token_hex(3), server=server)
    made.skill = await made.add_skill()
    made.queue = await made.add_queue("Unemployment Insurance", skill=made.skill)
    try:
        yield made
    finally:
        await made.tidy()
