"""The `switchboard` command as a user runs it: real subprocesses, real exit codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.cli import main


def _run(
    *args: str, env: dict[str, str] | None = None, timeout_s: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={**os.environ, **(env or {})},
        check=False,
    )


def _sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {
        "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'cli.db'}",
    }


@pytest.mark.slow
def test_serve_answers_readyz_on_a_free_port(tmp_path: Path, free_port: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(free_port)],
        env={**os.environ, **_sqlite_env(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        response = _wait_for_ready(f"http://127.0.0.1:{free_port}/readyz", timeout_s=30)
        assert response.status_code == 200
        assert response.json()["status"] == "ready"
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    # uvicorn shuts down gracefully, then exits by the signal it caught, as services should.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "ready: database=sqlite bus=in-process" in output
    assert "Application shutdown complete" in output


def _wait_for_ready(url: str, timeout_s: float) -> httpx.Response:
    # The routing writer may still be starting once the port answers: /readyz says 503 until
    # it runs, so keep asking until it is ready or the time is up.
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            response = httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        else:
            if response.status_code != 503 or time.monotonic() > deadline:
                return response
        time.sleep(0.1)


def test_an_unparseable_database_url_exits_2_with_one_line(tmp_path: Path) -> None:
    result = _run("migrate", env={"DATABASE_URL": "::nonsense::"})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("switchboard: invalid setting DATABASE_URL:")


def test_an_unreachable_database_exits_1_with_one_line(tmp_path: Path, free_port: int) -> None:
    url = f"postgresql://app:hunter2@127.0.0.1:{free_port}/switchboard"
    result = _run("serve", "--port", "1", env={"DATABASE_URL": url})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "cannot use the database at postgresql+asyncpg://app:***@127.0.0.1" in result.stderr
    assert "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_out_of_range_exits_2_naming_the_setting() -> None:
    result = _run("serve", env={"SWITCHBOARD_PORT": "70000"})
    assert result.returncode == 2
    assert result.stderr.startswith("switchboard: invalid setting SWITCHBOARD_PORT:")


def test_migrate_reports_the_database_it_brought_up_to_date(tmp_path: Path) -> None:
    result = _run("migrate", env=_sqlite_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "is at head" in result.stdout
    assert (tmp_path / "data" / "cli.db").exists()


def test_create_user_then_the_same_name_again_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in _sqlite_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    args = ["create-user", "Pat.Lee", "--role", "supervisor", "--password", "correct horse 9"]
    assert main(args) == 0
    assert "created supervisor 'pat.lee'" in capsys.readouterr().out
    assert main(args) == 1
    assert "a user named 'pat.lee' already exists" in capsys.readouterr().err


def test_create_user_refuses_a_short_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in _sqlite_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    assert main(["create-user", "kim", "--role", "agent", "--password", "short"]) == 1
    assert "at least 8 characters" in capsys.readouterr().err


def test_create_user_without_a_password_or_terminal_says_so(tmp_path: Path) -> None:
    result = _run("create-user", "kim", "--role", "agent", env=_sqlite_env(tmp_path))
    assert result.returncode == 1
    assert "no --password given" in result.stderr


def test_seed_demo_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in _sqlite_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    assert main(["seed-demo"]) == 0
    first = capsys.readouterr().out
    assert "added 9 skills, 6 queues, 14 staff, 9 dispositions" in first
    assert main(["seed-demo"]) == 0
    assert "added 0 skills, 0 queues, 0 staff, 0 dispositions" in capsys.readouterr().out


def test_demo_seeding_is_refused_in_production(tmp_path: Path) -> None:
    result = _run(
        "seed-demo", env={**_sqlite_env(tmp_path), "SWITCHBOARD_ENVIRONMENT": "production"}
    )
    assert result.returncode == 1
    assert "refused in production" in result.stderr


def test_several_workers_are_refused_without_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:pw@127.0.0.1:1/switchboard")
    assert main(["serve", "--workers", "2"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("switchboard: --workers 2 needs REDIS_URL and a PostgreSQL DATABASE_URL")


def test_several_workers_are_refused_on_sqlite_even_with_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in _sqlite_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    assert main(["serve", "--workers", "3"]) == 1
    err = capsys.readouterr().err
    assert "--workers 3 needs REDIS_URL and a PostgreSQL DATABASE_URL" in err
    # Refused before anything is touched: no database file was made.
    assert not (tmp_path / "data" / "cli.db").exists()


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_workers_below_one_is_a_usage_error(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--workers", value])
    assert exited.value.code == 2
    assert "--workers" in capsys.readouterr().err


def test_several_workers_run_uvicorn_on_the_factory_with_the_overrides_exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from app import cli

    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:pw@127.0.0.1:1/switchboard")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("SWITCHBOARD_FORWARDED_ALLOW_IPS", "10.0.0.5")
    # Set through monkeypatch so that what `serve` exports is undone after the test.
    monkeypatch.setenv("SWITCHBOARD_HOST", "127.0.0.1")
    monkeypatch.setenv("SWITCHBOARD_PORT", "8000")
    migrated: list[str] = []
    monkeypatch.setattr(cli, "_run_migrations", lambda settings: migrated.append("head"))
    calls: list[tuple[object, dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))

    assert main(["serve", "--workers", "4", "--host", "0.0.0.0", "--port", "9123"]) == 0

    assert migrated == ["head"]
    [(target, options)] = calls
    assert target == "app.asgi:app_from_environment"
    assert options["factory"] is True
    assert options["workers"] == 4
    assert (options["host"], options["port"]) == ("0.0.0.0", 9123)
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == "10.0.0.5"
    assert options["ws"] == "websockets-sansio"
    assert options["ws_per_message_deflate"] is False  # 50 KB a socket for little gain
    assert (os.environ["SWITCHBOARD_HOST"], os.environ["SWITCHBOARD_PORT"]) == ("0.0.0.0", "9123")
    # A generated secret key exists before the workers start, so they all share it.
    assert (tmp_path / "data" / "secret_key").exists()


def test_app_from_environment_builds_the_app_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    from fastapi import FastAPI

    from app.asgi import app_from_environment

    for name, value in _sqlite_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SWITCHBOARD_LOG_LEVEL", "warning")
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)

    application = app_from_environment()

    assert isinstance(application, FastAPI)
    assert application.url_path_for("get_readyz") == "/readyz"
    # Logging was set up from the environment's settings, as each worker process needs.
    assert root.level == logging.WARNING
