"""Settings: defaults that just work, both spellings of the URLs, secrets, clear errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.settings import (
    Environment,
    SettingsError,
    load_settings,
    redact_url,
    resolve_secret_key,
)


def test_defaults_use_sqlite_in_the_data_directory_and_the_in_process_bus() -> None:
    settings = load_settings()
    assert settings.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.effective_database_url.endswith("/data/switchboard.db")
    assert settings.redis_url is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_bare_database_url_and_redis_url_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:pw@db:5432/switchboard")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    settings = load_settings()
    assert settings.database_url == "postgresql+asyncpg://app:pw@db:5432/switchboard"
    assert settings.redis_url == "redis://cache:6379/0"


def test_prefixed_database_url_wins_over_the_bare_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://bare@db/x")
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", "postgresql://prefixed@db/x")
    assert "prefixed" in (load_settings().database_url or "")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql+psycopg2://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_urls_are_normalised_to_the_async_drivers(given: str, expected: str) -> None:
    assert load_settings(database_url=given).database_url == expected


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("DATABASE_URL", "not a url", "DATABASE_URL"),
        ("DATABASE_URL", "mysql://u@h/d", "DATABASE_URL"),
        ("REDIS_URL", "http://cache", "REDIS_URL"),
        ("SWITCHBOARD_PORT", "99999", "SWITCHBOARD_PORT"),
        ("SWITCHBOARD_LOG_FORMAT", "xml", "SWITCHBOARD_LOG_FORMAT"),
        ("SWITCHBOARD_ENVIRONMENT", "staging", "SWITCHBOARD_ENVIRONMENT"),
        (
            "SWITCHBOARD_WEBHOOK_ALLOWED_NETWORKS",
            "10.0.0.0/8,intranet",
            "SWITCHBOARD_WEBHOOK_ALLOWED_NETWORKS",
        ),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(named + ":")
    assert "\n" not in message


def test_webhook_networks_are_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_WEBHOOK_ALLOWED_NETWORKS", "10.20.0.0/16, fd00::/8")
    assert load_settings().webhook_allowed_networks == ["10.20.0.0/16", "fd00::/8"]


def test_log_level_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_LOG_LEVEL", "debug")
    assert load_settings().log_level.value == "DEBUG"


def test_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    first = resolve_secret_key(settings)
    assert len(first) >= 48
    assert resolve_secret_key(settings) == first
    mode = stat.S_IMODE((tmp_path / "data" / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_a_given_secret_key_is_used_as_is() -> None:
    settings = load_settings(secret_key="k" * 10 + "0123456789abcdefghijklmnopqrstuv")
    assert resolve_secret_key(settings).startswith("kkkkkkkkkk0123")


@pytest.mark.parametrize("weak", ["changeme", "short-key", "a" * 40])
def test_a_weak_secret_key_is_refused_in_production(weak: str) -> None:
    with pytest.raises(SettingsError, match="SWITCHBOARD_SECRET_KEY"):
        load_settings(environment=Environment.PRODUCTION, secret_key=weak)


def test_a_weak_secret_key_is_tolerated_in_development() -> None:
    assert load_settings(secret_key="changeme").secret_key is not None


def test_redact_url_hides_the_password() -> None:
    assert "hunter2" not in redact_url("postgresql+asyncpg://app:hunter2@db/x")
