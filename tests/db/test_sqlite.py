"""SQLite connections that cross to their thread once per statement, through the app's engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db.session import create_engine
from app.db.sqlite import OneCrossingConnection


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}", pool_size=1)
    async with engine.begin() as connection:
        await connection.execute(
            text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)")
        )
    yield engine
    await engine.dispose()


def _driver(connection: AsyncConnection) -> OneCrossingConnection:
    raw = connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    assert isinstance(raw, OneCrossingConnection)
    return raw


def _count_crossings(
    monkeypatch: pytest.MonkeyPatch, driver: OneCrossingConnection
) -> list[object]:
    crossings: list[object] = []
    real = driver._execute

    async def counted(function: Any) -> Any:
        crossings.append(function)
        return await real(function)

    monkeypatch.setattr(driver, "_execute", counted)
    return crossings


async def test_a_select_crosses_to_the_thread_once(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO notes (body) VALUES ('a'), ('b')"))
        crossings = _count_crossings(monkeypatch, _driver(connection))
        rows = (await connection.execute(text("SELECT body FROM notes ORDER BY id"))).all()
        assert [row.body for row in rows] == ["a", "b"]
        assert len(crossings) == 1


async def test_rowcounts_and_returning_rows_are_kept(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        many = await connection.execute(
            text("INSERT INTO notes (body) VALUES (:body)"), [{"body": "a"}, {"body": "b"}]
        )
        assert many.rowcount == 2
        changed = await connection.execute(text("UPDATE notes SET body = body || '!'"))
        assert changed.rowcount == 2
        returned = await connection.execute(
            text("DELETE FROM notes WHERE body = 'a!' RETURNING body")
        )
        assert returned.scalars().all() == ["a!"]
        inserted = await connection.execute(text("INSERT INTO notes (body) VALUES ('c')"))
        assert inserted.lastrowid == 3


async def test_rows_are_fetched_one_and_many_at_a_time(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO notes (body) VALUES (:body)"), [{"body": str(n)} for n in range(5)]
        )
        result = await connection.execute(text("SELECT body FROM notes ORDER BY id"))
        assert result.fetchone() == ("0",)
        assert result.fetchmany(2) == [("1",), ("2",)]
        assert result.fetchall() == [("3",), ("4",)]
        assert result.fetchone() is None


async def test_a_failed_statement_raises_and_its_transaction_rolls_back(
    engine: AsyncEngine,
) -> None:
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO notes (body) VALUES ('kept?')"))
            await connection.execute(text("INSERT INTO notes (body) VALUES ('kept?')"))
    async with engine.connect() as connection:
        count = await connection.scalar(text("SELECT count(*) FROM notes"))
    assert count == 0


async def test_a_committed_write_is_seen_by_the_next_connection(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO notes (body) VALUES ('stored')"))
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT body FROM notes")) == "stored"


async def test_returning_a_connection_without_a_transaction_crosses_to_nothing(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with engine.connect() as connection:
        driver = _driver(connection)
        await connection.execute(text("SELECT 1"))
        assert not driver.transaction_open
        crossings = _count_crossings(monkeypatch, driver)
    # Back in the pool, reset with a rollback: skipped, as SQLite had nothing open.
    assert crossings == []


async def test_an_open_transaction_is_rolled_back_when_the_connection_returns(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO notes (body) VALUES ('never committed')"))
        assert _driver(connection).transaction_open
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM notes")) == 0
        assert not _driver(connection).transaction_open
