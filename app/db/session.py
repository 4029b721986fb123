"""The async engine and session factory, built from settings in the app's lifespan."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app import json_codec
from app.db import sqlite

SQLITE_BUSY_TIMEOUT_MS = 5000
POSTGRES_CONNECT_TIMEOUT_S = 10


def create_engine(database_url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An engine tuned for the backend: WAL and foreign keys on SQLite, a pool on PostgreSQL."""
    if database_url.startswith("sqlite"):
        # aiosqlite runs a thread per connection: a pool big enough for the load avoids
        # opening (and closing) overflow connections, and threads, on every burst.
        engine = create_async_engine(
            database_url,
            echo=echo,
            json_serializer=json_codec.dumps_text,
            pool_size=pool_size,
            max_overflow=0,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine.sync_engine, "do_connect", _connect_sqlite)
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    return create_async_engine(
        database_url,
        echo=echo,
        json_serializer=json_codec.dumps_text,
        pool_size=pool_size,
        # No overflow: under a burst, waiting a moment for a pooled connection is far cheaper
        # than opening (and then closing) a new one per request.
        max_overflow=0,
        pool_pre_ping=True,
        pool_timeout=10,
        # asyncpg waits 60 s by default; an unreachable host should fail fast and clearly.
        connect_args={"timeout": POSTGRES_CONNECT_TIMEOUT_S},
    )


def autocommit_reads(engine: AsyncEngine) -> AsyncEngine:
    """The engine for reads that need no transaction: autocommit on PostgreSQL, which saves
    the BEGIN and ROLLBACK round trips; SQLite as it is, since pysqlite opens no transaction
    for a SELECT anyway, and switching its isolation level costs statements at each checkout."""
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (no implicit refresh I/O)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _connect_sqlite(dialect: Any, connection_record: Any, cargs: Any, cparams: Any) -> Any:
    # SQLAlchemy still parses the URL and wraps the connection; only the driver's
    # connection differs: one that crosses to its thread once per statement.
    return dialect.dbapi.connect(*cargs, async_creator_fn=sqlite.connect, **cparams)


def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers work beside the one writer; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()
