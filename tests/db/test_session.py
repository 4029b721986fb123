"""The engines the app builds: reads that need no transaction cost no extra statements."""

from __future__ import annotations

from pathlib import Path

from app.db.session import autocommit_reads, create_engine


async def test_sqlite_reads_use_the_engine_as_it_is(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'reads.db'}")
    try:
        # pysqlite opens no transaction for a SELECT: switching isolation would only add
        # statements at every checkout and return.
        assert autocommit_reads(engine) is engine
    finally:
        await engine.dispose()


async def test_postgresql_reads_are_autocommit() -> None:
    # Building an engine connects to nothing, so no server is needed here.
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        reads = autocommit_reads(engine)
        assert reads.get_execution_options()["isolation_level"] == "AUTOCOMMIT"
    finally:
        await engine.dispose()
