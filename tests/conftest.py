"""Shared fixtures: settings on a temporary data directory, fresh databases per backend, apps.

PostgreSQL and Redis tests (marker `integration`) run when SWITCHBOARD_TEST_POSTGRES_URL and
SWITCHBOARD_TEST_REDIS_URL are set (`.ci/run` sets them); with CI set, missing ones are an error.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from app import clock
from app.agents.models import StaffRole
from app.agents.service import create_staff
from app.auth import passwords
from app.auth.api_keys import generate_api_key
from app.auth.models import ApiKey
from app.auth.principals import Role
from app.auth.tokens import issue_staff_token
from app.main import create_app
from app.settings import Settings, load_settings
from app.state import Resources
from tests.services import POSTGRES_URL, REDIS_URL, require_postgres

# The tests' webhook receivers listen on loopback, which the service refuses by default.
LOOPBACK_NETWORKS = ["127.0.0.0/8", "::1/128"]

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.integration),
]


# Where the PostgreSQL variant of a test runs: where the SQL differs between the backends
# (storage, routing persistence, reports and live figures with their aggregates and JSON,
# message numbering, presence upserts, the desk's Core reads). Plain CRUD APIs issue the
# same ORM statements on both and run on SQLite only: half the suite's time for nothing.
POSTGRES_PATHS = (
    "tests/db/",
    "tests/runtime/",
    "tests/webhooks/",
    "tests/interactions/",
    "tests/reports/",
    "tests/supervisors/",
    "tests/channels/",
    "tests/realtime/",
    "tests/calls/",
    "tests/agents/test_desk",  # the desk socket and its reads
    "tests/auth/test_repository.py",
    "tests/auth/test_refresh.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect PostgreSQL variants outside `POSTGRES_PATHS` (reported as deselected)."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and "postgresql" in callspec.params.values()
        where = item.path.relative_to(config.rootpath).as_posix()
        if on_postgres and not where.startswith(POSTGRES_PATHS):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_configure(config: pytest.Config) -> None:
    """In CI the real services are required: a missing URL fails the run instead of skipping."""
    if os.environ.get("CI") and not (POSTGRES_URL and REDIS_URL):
        raise pytest.UsageError(
            "CI is set but SWITCHBOARD_TEST_POSTGRES_URL / SWITCHBOARD_TEST_REDIS_URL are not: "
            "run the suite through .ci/run"
        )


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, at the smallest cost, so that tests making many accounts stay fast."""
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    )


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never see the developer's own SWITCHBOARD_ / DATABASE_URL settings."""
    for name in list(os.environ):
        if name.startswith("SWITCHBOARD_") and not name.startswith("SWITCHBOARD_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.chdir(tmp_path)


async def _admin_connection(server_url: str) -> asyncpg.Connection:
    url = make_url(server_url)
    return await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database="postgres",
    )


@pytest.fixture
async def postgres_database_url() -> AsyncIterator[str]:
    """A brand-new, empty PostgreSQL database for one test, dropped afterwards."""
    server_url = require_postgres()
    name = f"switchboard_test_{uuid.uuid4().hex[:12]}"
    admin = await _admin_connection(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=name)
    yield url.render_as_string(hide_password=False)
    admin = await _admin_connection(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def sqlite_database_url(tmp_path: Path) -> str:
    """A brand-new SQLite file for one test."""
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend in turn (PostgreSQL only where configured)."""
    fixture = "sqlite_database_url" if request.param == "sqlite" else "postgres_database_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def settings(tmp_path: Path, sqlite_database_url: str) -> Settings:
    """Settings for an embedded (SQLite, in-process bus) service in a temporary data dir;
    webhooks may go to loopback, where the tests' receivers listen."""
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=sqlite_database_url,
        webhook_allowed_networks=LOOPBACK_NETWORKS,
    )


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per run; tests start from copies of it."""
    from app.db.migrate import upgrade

    template = tmp_path_factory.mktemp("template") / "migrated.db"
    upgrade(f"sqlite+aiosqlite:///{template}")
    return template


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database migrated to head once per run; tests get copies of it."""
    from app.db.migrate import upgrade

    server_url = require_postgres()
    name = f"switchboard_template_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin_execute(server_url, f'CREATE DATABASE "{name}"'))
    upgrade(_database_on(server_url, name))
    yield name
    asyncio.run(_admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def postgres_migrated_url(postgres_template: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database at head for one test: a copy of the template, dropped after."""
    server_url = require_postgres()
    name = f"switchboard_test_{uuid.uuid4().hex[:12]}"
    await _admin_execute(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    yield _database_on(server_url, name)
    await _admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def migrated_settings(
    request: pytest.FixtureRequest, settings: Settings, migrated_template: Path
) -> Settings:
    """Settings on a database already at head, on each backend in turn (copies of templates)."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_migrated_url")
        return load_settings(
            data_dir=settings.data_dir,
            database_url=url,
            webhook_allowed_networks=settings.webhook_allowed_networks,
        )
    database = make_url(settings.effective_database_url).database
    assert database is not None
    shutil.copyfile(migrated_template, database)
    return settings


async def _admin_execute(server_url: str, statement: str) -> None:
    admin = await _admin_connection(server_url)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


def _database_on(server_url: str, name: str) -> str:
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


@pytest.fixture
async def app(migrated_settings: Settings) -> AsyncIterator[FastAPI]:
    """The application with its lifespan running (database and bus open)."""
    application = create_app(migrated_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to `app` in-process."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def free_port() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    yield port


@pytest.fixture
async def live_url(app: FastAPI, free_port: int) -> AsyncIterator[str]:
    """`app` served by a real uvicorn server on 127.0.0.1 (for websocket tests): host:port."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or serving.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "the test server did not start"
    yield f"127.0.0.1:{free_port}"
    server.should_exit = True
    await asyncio.wait_for(serving, 10)


@dataclass(frozen=True)
class Caller:
    """A signed-in test caller: who it is and the headers that prove it."""

    id: str
    headers: dict[str, str]


CallerFactory = Callable[..., Awaitable[Caller]]


@pytest.fixture
def staff_caller(app: FastAPI) -> CallerFactory:
    """Make a staff account of a role and return it with a valid bearer token."""
    resources: Resources = app.state.resources
    counter = iter(range(1_000_000))

    async def make(role: StaffRole = StaffRole.ADMIN, username: str | None = None) -> Caller:
        name = username or f"{role.value}-{next(counter)}"
        async with resources.sessions() as session, session.begin():
            staff = await create_staff(
                session, username=name, password="test-password-1", role=role, display_name=name
            )
        token = issue_staff_token(
            resources.secret_key,
            staff_id=str(staff.id),
            role=Role(role.value),
            name=name,
            now=clock.now_s(),
        )
        return Caller(str(staff.id), {"Authorization": f"Bearer {token.token}"})

    return make


@pytest.fixture
def integrator_caller(app: FastAPI) -> CallerFactory:
    """Make an integrator API key and return it with the header that sends it."""
    resources: Resources = app.state.resources

    async def make(name: str = "CRM") -> Caller:
        key = generate_api_key()
        async with resources.sessions() as session, session.begin():
            row = ApiKey(name=name, prefix=key.prefix, key_hash=key.key_hash)
            session.add(row)
            await session.flush()
        return Caller(str(row.id), {"X-API-Key": key.plaintext})

    return make
