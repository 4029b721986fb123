"""Settings, read once from the environment (prefix SWITCHBOARD_) by pydantic-settings.

`DATABASE_URL` and `REDIS_URL` are also read without the prefix, as every hosting platform
sets them that way. The secret key, when not given, is generated once and kept in the
data directory so that tokens survive a restart.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

SECRET_KEY_FILE = "secret_key"
MIN_SECRET_KEY_LENGTH = 32
# Values people paste from examples; none of them is a secret.
PLACEHOLDER_SECRETS = frozenset(
    {"changeme", "change-me", "secret", "password", "please-change-me", "dev", "development"}
)


class Environment(StrEnum):
    """Where the service runs: production refuses weak secrets."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    """How log lines are written: for a person, or one JSON object per line."""

    TEXT = "text"
    JSON = "json"


class LogLevel(StrEnum):
    """Standard logging levels."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class SettingsError(Exception):
    """A setting is missing or wrong; the message is one line that names it."""


class ChatTopic(BaseModel):
    """One choice of the pre-chat form's topic list, and the queue it leads to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Annotated[str, Field(min_length=1, max_length=100)]
    queue: Annotated[str, Field(min_length=1, max_length=100)]
    labels: dict[str, str] = {}


class Settings(BaseSettings):
    """Every setting of the service, with the default that makes `switchboard serve` work."""

    model_config = SettingsConfigDict(
        env_prefix="SWITCHBOARD_",
        extra="ignore",
        validate_default=True,
        frozen=True,
        populate_by_name=True,
    )

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("data")
    database_url: Annotated[
        str | None,
        Field(validation_alias=AliasChoices("SWITCHBOARD_DATABASE_URL", "DATABASE_URL")),
    ] = None
    redis_url: Annotated[
        str | None,
        Field(validation_alias=AliasChoices("SWITCHBOARD_REDIS_URL", "REDIS_URL")),
    ] = None
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    log_level: LogLevel = LogLevel.INFO
    log_format: LogFormat = LogFormat.TEXT
    secret_key: SecretStr | None = None
    database_pool_size: Annotated[int, Field(ge=1, le=200)] = 20
    ready_timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    sweep_interval_s: Annotated[float, Field(ge=1, le=3600)] = 30.0
    # With Redis: how long the writer's lease outlives its last renewal (fail-over time).
    writer_lease_ttl_s: Annotated[float, Field(ge=0.5, le=60)] = 3.0
    # With Redis: how long a standby waits for the writer's answer before a 503.
    writer_call_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    # Prefix of every Redis key and channel, so several deployments can share one Redis.
    redis_prefix: Annotated[str, Field(min_length=1, max_length=64)] = "switchboard:"
    # Addresses of the proxies whose X-Forwarded-For is trusted (e.g. "10.0.0.5" or "*").
    forwarded_allow_ips: str | None = None
    max_request_body_bytes: Annotated[int, Field(ge=1024, le=100 * 1024 * 1024)] = 1024 * 1024
    # Web chat: the languages offered on the pre-chat form (codes, comma-separated).
    chat_languages: Annotated[list[str], NoDecode] = ["en", "es"]
    # Web chat topics as JSON, [{"key": "claims", "queue": "Unemployment Insurance",
    # "labels": {"en": "My claim", "es": "Mi reclamo"}}]; none = one topic per active queue.
    chat_topics: list[ChatTopic] = []
    chat_message_max_chars: Annotated[int, Field(ge=1, le=20_000)] = 2000
    # New chats allowed per client address within the window (a script cannot flood queues).
    chat_starts_per_address: Annotated[int, Field(ge=1, le=100_000)] = 10
    chat_start_window_s: Annotated[float, Field(gt=0, le=86_400)] = 600.0
    # A waiting claimant with no socket for this long is marked abandoned.
    chat_grace_s: Annotated[float, Field(ge=1, le=3600)] = 60.0
    # An agent desk with no socket for this long is set offline and its chats re-routed.
    desk_grace_s: Annotated[float, Field(ge=1, le=3600)] = 60.0
    # The supervisor dashboard's "today" starts at midnight in this IANA time zone.
    supervisor_time_zone: str = "UTC"
    # Webhooks go to public addresses only, and to these networks (CIDR, comma-separated,
    # e.g. "10.20.0.0/16" for a case-management system on the office network).
    webhook_allowed_networks: Annotated[list[str], NoDecode] = []
    # GET /metrics (Prometheus, unauthenticated): false switches it off (404).
    metrics_enabled: bool = True
    # Calls: the STUN and TURN servers browsers are given (comma lists, e.g.
    # "turn:turn.example.gov:3478?transport=udp"), read bare (STUN_URLS, as docs/calls.md
    # names them) or with the prefix. None configured: browsers use host candidates only.
    stun_urls: Annotated[
        list[str],
        NoDecode,
        Field(validation_alias=AliasChoices("SWITCHBOARD_STUN_URLS", "STUN_URLS", "stun_urls")),
    ] = []
    turn_urls: Annotated[
        list[str],
        NoDecode,
        Field(validation_alias=AliasChoices("SWITCHBOARD_TURN_URLS", "TURN_URLS", "turn_urls")),
    ] = []
    # coturn's `static-auth-secret`: each caller gets credentials derived from it.
    turn_secret: Annotated[
        SecretStr | None,
        Field(
            validation_alias=AliasChoices("SWITCHBOARD_TURN_SECRET", "TURN_SECRET", "turn_secret")
        ),
    ] = None
    # How long the TURN credentials handed out stay valid.
    turn_ttl_s: Annotated[
        int,
        Field(
            ge=60,
            le=7 * 86_400,
            validation_alias=AliasChoices("SWITCHBOARD_TURN_TTL_S", "TURN_TTL_S", "turn_ttl_s"),
        ),
    ] = 3600

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"'{network}' is not a network such as 10.20.0.0/16") from None
        return value

    @field_validator(
        "chat_languages", "stun_urls", "turn_urls", "webhook_allowed_networks", mode="before"
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("stun_urls")
    @classmethod
    def _check_stun_urls(cls, value: list[str]) -> list[str]:
        return _check_ice_urls(value, ("stun:", "stuns:"))

    @field_validator("turn_urls")
    @classmethod
    def _check_turn_urls(cls, value: list[str]) -> list[str]:
        return _check_ice_urls(value, ("turn:", "turns:"))

    @field_validator("turn_secret")
    @classmethod
    def _check_turn_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and value.get_secret_value() == "":
            value = None
        # A TURN entry without credentials would only make every browser fail to relay.
        if value is None and info.data.get("turn_urls"):
            raise ValueError("is needed with TURN_URLS (coturn's static-auth-secret)")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return normalise_database_url(value)

    @field_validator("supervisor_time_zone")
    @classmethod
    def _check_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone, e.g. America/Chicago") from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @property
    def is_production(self) -> bool:
        """True when running with production safeguards."""
        return self.environment is Environment.PRODUCTION

    @property
    def effective_database_url(self) -> str:
        """The configured database, or the embedded SQLite file in the data directory."""
        if self.database_url is not None:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'switchboard.db').resolve()}"

    @property
    def database_backend(self) -> str:
        """`sqlite` or `postgresql`."""
        return make_url(self.effective_database_url).get_backend_name()


def _check_ice_urls(urls: list[str], schemes: tuple[str, ...]) -> list[str]:
    for url in urls:
        if not url.startswith(schemes) or any(char.isspace() for char in url):
            raise ValueError(f"{url!r} must start with {' or '.join(schemes)}")
    return urls


def normalise_database_url(value: str) -> str:
    """Accept the URL forms people use and return the async-driver form we run on."""
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError("is not a database URL (e.g. postgresql://user@host/db)") from None
    backend, _, driver = url.drivername.partition("+")
    if backend in {"postgres", "postgresql"}:
        if driver not in {"asyncpg", "psycopg2", "psycopg", ""}:
            raise ValueError("PostgreSQL must use the asyncpg driver (postgresql+asyncpg://)")
        return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    raise ValueError(f"database '{backend}' is not supported; use postgresql or sqlite")


def redact_url(value: str) -> str:
    """A database URL with its password hidden, for messages and logs."""
    url: URL = make_url(value)
    return url.render_as_string(hide_password=True)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation failure into one clear `SettingsError` line."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    _check_secret_key(settings)
    return settings


def resolve_secret_key(settings: Settings) -> str:
    """The configured secret key, or the one kept in the data directory (made on first use)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / SECRET_KEY_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Create with owner-only permissions from the start; never world-readable, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def _check_secret_key(settings: Settings) -> None:
    if settings.secret_key is None or not settings.is_production:
        return
    key = settings.secret_key.get_secret_value()
    if key.lower() in PLACEHOLDER_SECRETS or len(key) < MIN_SECRET_KEY_LENGTH:
        raise SettingsError(
            f"SWITCHBOARD_SECRET_KEY is too weak for production: use at least "
            f"{MIN_SECRET_KEY_LENGTH} random characters, or leave it unset to generate one"
        )
    if len(set(key)) < 8:
        raise SettingsError("SWITCHBOARD_SECRET_KEY is too weak for production: too few characters")


def _describe(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else "settings"
    name = _env_name(field)
    message = str(error["msg"]).removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{name}: {message}{more}"


def _env_name(field: str) -> str:
    bare = field.upper().removeprefix("SWITCHBOARD_")
    prefixed = "SWITCHBOARD_" + bare
    # The URLs may come bare or prefixed: name the variable the user actually set.
    if bare in {"DATABASE_URL", "REDIS_URL"} and prefixed not in os.environ:
        return bare
    return prefixed
