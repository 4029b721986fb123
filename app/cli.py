"""The `switchboard` command: serve, migrate, create-user, seed-demo, simulate.

Every failure a user can cause (a bad setting, an unreachable database, a taken username)
ends with one line on stderr naming what is wrong and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app import __version__
from app.agents.models import StaffRole
from app.demo import AGENTS, DEMO_LOGINS, DEMO_PASSWORD, SeedReport, seed_demo
from app.settings import Settings, SettingsError, load_settings, redact_url, resolve_secret_key

EXIT_USAGE = 2
EXIT_FAILURE = 1
DEFAULT_WORKERS = 1
# What each worker process imports: it reads the settings from the environment itself.
ASGI_FACTORY = "app.asgi:app_from_environment"


class CommandError(Exception):
    """A command failed in a way the user can act on; the message is one line."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except SettingsError as exc:
        return _fail(f"invalid setting {exc}", EXIT_USAGE)
    except CommandError as exc:
        return _fail(str(exc), EXIT_FAILURE)
    except KeyboardInterrupt:
        return 130


def _fail(message: str, code: int) -> int:
    print(f"switchboard: {message}", file=sys.stderr)
    return code


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard", description="Omnichannel contact-center routing service."
    )
    parser.add_argument("--version", action="version", version=f"switchboard {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="migrate the database and run the service")
    serve.add_argument("--demo", action="store_true", help="seed the demo centre first")
    serve.add_argument("--host", help="address to listen on (default: SWITCHBOARD_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (default: SWITCHBOARD_PORT)")
    serve.add_argument(
        "--workers",
        type=_positive_int,
        default=DEFAULT_WORKERS,
        metavar="N",
        help="server processes sharing the port; more than 1 needs REDIS_URL and PostgreSQL "
        f"(default: {DEFAULT_WORKERS})",
    )
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("--revision", default="head", help="target revision (default: head)")
    migrate.add_argument(
        "--downgrade", action="store_true", help="go down to --revision instead of up"
    )
    migrate.set_defaults(handler=_migrate)

    create_user = commands.add_parser("create-user", help="add a staff account")
    create_user.add_argument("username")
    create_user.add_argument("--role", required=True, choices=[role.value for role in StaffRole])
    create_user.add_argument("--password", help="asked for when not given")
    create_user.add_argument("--name", help="display name (default: the username)")
    create_user.add_argument("--email")
    create_user.set_defaults(handler=_create_user)

    seed = commands.add_parser("seed-demo", help="add the demo centre (idempotent)")
    seed.set_defaults(handler=_seed_demo)

    simulate = commands.add_parser(
        "simulate", help="replay traffic through the routing engine at virtual time"
    )
    _configure_simulate(simulate)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _configure_simulate(parser: argparse.ArgumentParser) -> None:
    from app.simulation.command import configure_parser, run

    configure_parser(parser)
    parser.set_defaults(handler=run)


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None) is not None:
        overrides["port"] = args.port
    settings = load_settings(**overrides)
    from app.logs import configure_logging

    configure_logging(settings.log_level.value, settings.log_format.value)
    return settings


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.demo and settings.is_production:
        raise CommandError("--demo is refused in production: the demo logins are public")
    workers: int = args.workers
    if workers > 1:
        _check_shared_backends(settings, workers)
    _run_migrations(settings)
    if args.demo:
        report = asyncio.run(_seed(settings))
        _print_demo_banner(settings, report.total)
    if workers > 1:
        return _serve_workers(settings, workers)

    import uvicorn

    from app.main import create_app
    from app.runtime import collector

    config = uvicorn.Config(create_app(settings), **_uvicorn_options(settings))
    collector.tune_for_service()
    server = uvicorn.Server(config)
    try:
        server.run()
    except OSError as exc:
        raise CommandError(f"cannot listen on {settings.host}:{settings.port}: {exc}") from None
    # uvicorn exits quietly when start-up fails (port taken, lifespan error); say so.
    return 0 if server.started else EXIT_FAILURE


def _check_shared_backends(settings: Settings, workers: int) -> None:
    if settings.redis_url is None or settings.database_backend != "postgresql":
        raise CommandError(
            f"--workers {workers} needs REDIS_URL and a PostgreSQL DATABASE_URL: processes "
            "share routing through them (the embedded SQLite database and in-process bus "
            "serve one process)"
        )


def _serve_workers(settings: Settings, workers: int) -> int:
    """Run `workers` processes on one socket, each building its own app from the environment."""
    import uvicorn

    # Each worker re-reads the environment: make the command-line overrides part of it, and
    # make a generated secret key exist before the workers race to create it.
    os.environ["SWITCHBOARD_HOST"] = settings.host
    os.environ["SWITCHBOARD_PORT"] = str(settings.port)
    resolve_secret_key(settings)
    try:
        uvicorn.run(ASGI_FACTORY, factory=True, workers=workers, **_uvicorn_options(settings))
    except SystemExit as exc:
        # uvicorn logs why (e.g. the port is taken) and exits; keep our one-line contract.
        if exc.code in (None, 0):
            return 0
        raise CommandError(
            f"cannot listen on {settings.host}:{settings.port}: see the error logged above"
        ) from None
    return 0


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options both the one-process and the many-worker paths run with."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "lifespan": "on",
        "ws": "websockets-sansio",
        # Frames are small JSON; a compression context costs about 50 KB of memory per socket
        # (measured: 97 KB per idle chat socket with it, 48 KB without) and saves little.
        "ws_per_message_deflate": False,
        # Behind a load balancer the client's own address (for rate limits and logs) comes
        # from X-Forwarded-For, trusted only from the configured proxies.
        "proxy_headers": settings.forwarded_allow_ips is not None,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }


def _migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.downgrade:
        _database_call(settings, lambda url: _downgrade(url, args.revision))
    else:
        _run_migrations(settings, args.revision)
    print(f"database at {redact_url(settings.effective_database_url)} is at {args.revision}")
    return 0


def _downgrade(url: str, revision: str) -> None:
    from app.db.migrate import downgrade

    downgrade(url, revision)


def _run_migrations(settings: Settings, revision: str = "head") -> None:
    from app.db.migrate import upgrade

    _database_call(settings, lambda url: upgrade(url, revision))


def _database_call(settings: Settings, call: Callable[[str], None]) -> None:
    url = settings.effective_database_url
    if settings.database_backend == "sqlite":
        _ensure_sqlite_folder(url)
    try:
        call(url)
    except Exception as exc:
        raise CommandError(
            f"cannot use the database at {redact_url(url)} (DATABASE_URL): {_one_line(exc)}"
        ) from None


def _ensure_sqlite_folder(url: str) -> None:
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _one_line(exc: BaseException) -> str:
    # SQLAlchemy wraps driver errors; the innermost cause says what actually happened.
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'failed'}"[:400]


def _create_user(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _run_migrations(settings)
    password = args.password or _ask_password()
    asyncio.run(_add_user(settings, args, password))
    print(f"created {args.role} '{args.username.strip().lower()}'")
    return 0


def _ask_password() -> str:
    if not sys.stdin.isatty():
        raise CommandError("no --password given and no terminal to ask for one")
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Repeat password: "):
        raise CommandError("the two passwords differ")
    return password


async def _add_user(settings: Settings, args: argparse.Namespace, password: str) -> None:
    from app.agents.service import create_staff
    from app.db.session import create_engine, create_session_factory

    engine = create_engine(settings.effective_database_url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            await create_staff(
                session,
                username=args.username,
                password=password,
                role=StaffRole(args.role),
                display_name=args.name,
                email=args.email,
            )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    finally:
        await engine.dispose()


def _seed_demo(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings.is_production:
        raise CommandError("seed-demo is refused in production: the demo logins are public")
    _run_migrations(settings)
    report = asyncio.run(_seed(settings))
    print(
        f"demo centre ready: added {report.skills} skills, {report.queues} queues, "
        f"{report.staff} staff, {report.dispositions} dispositions"
    )
    return 0


async def _seed(settings: Settings) -> SeedReport:
    from app.db.session import create_engine, create_session_factory

    engine = create_engine(settings.effective_database_url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            return await seed_demo(session)
    finally:
        await engine.dispose()


def _print_demo_banner(settings: Settings, added: int) -> None:
    base = f"http://{_display_host(settings.host)}:{settings.port}"
    agents = ", ".join(agent.username for agent in AGENTS[:3])
    lines = [
        "",
        f"Switchboard demo centre ({added} rows added; already-present rows kept)",
        f"  Home:         {base}/",
        f"  API docs:     {base}/docs",
        f"  Readiness:    {base}/readyz",
        "  Logins (password for all: " + DEMO_PASSWORD + "):",
        *(f"    {role.value:<11} {username}" for username, role, _ in DEMO_LOGINS),
        f"    agent       {agents}, … ({len(AGENTS)} agents)",
        "",
    ]
    print("\n".join(lines), flush=True)


def _display_host(host: str) -> str:
    if host in {"0.0.0.0", "::"}:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


if __name__ == "__main__":
    sys.exit(main())
