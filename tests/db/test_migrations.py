"""Migrations upgrade, downgrade and upgrade again on every backend, and match the models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app.db.migrate import downgrade, upgrade
from app.db.registry import Base
from app.db.session import create_engine

# Every table the models declare; the migrations must create exactly these.
EXPECTED_TABLES = set(Base.metadata.tables)


async def _run_sync(database_url: str, work: Any) -> Any:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_creates_every_table(database_url: str) -> None:
    await _to_thread(upgrade, database_url)
    assert await _run_sync(database_url, _tables) == EXPECTED_TABLES


async def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(
    database_url: str,
) -> None:
    await _to_thread(upgrade, database_url)
    await _to_thread(downgrade, database_url, "base")
    assert await _run_sync(database_url, _tables) == set()
    await _to_thread(upgrade, database_url)
    assert await _run_sync(database_url, _tables) == EXPECTED_TABLES


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    await _to_thread(upgrade, database_url)
    assert await _run_sync(database_url, _schema_differences) == []


async def _to_thread(function: Any, *args: Any) -> None:
    import asyncio

    await asyncio.to_thread(function, *args)
