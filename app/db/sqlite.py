"""SQLite connections for the async engine that cross to their thread once per statement.

aiosqlite runs each connection in a thread of its own, and SQLAlchemy's adapter crosses to
it three or four times per statement (open a cursor, execute, fetch the rows, close the
cursor), then once more to roll back when the connection goes back to the pool. Each
crossing waits for a turn of the event loop, which under load is the whole cost: measured
with 500 desks at 200 interactions per second, a one-row INSERT took about 3 ms of the
routing writer's time. Here a statement runs, rows and all, in one crossing, and commit
and rollback are skipped when SQLite has no transaction open (pysqlite skips them too).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, cast

import aiosqlite

# The cursor's description: one 7-tuple per column, as DB-API says.
Description = tuple[tuple[Any, ...], ...] | None


@dataclass(frozen=True, slots=True)
class _Outcome:
    description: Description
    rowcount: int
    lastrowid: int | None
    rows: list[Any]


class OneCrossingConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors run each statement in a single thread hop."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        # Like aiosqlite.connect's own connections: never keep the process alive.
        self._thread.daemon = True
        # Unknown until the first statement says; True errs on the side of asking SQLite.
        self.transaction_open = True

    def cursor(self) -> PrefetchedCursor:  # type: ignore[override]
        """A cursor that runs its statements whole (SQLAlchemy enters it with `__aenter__`)."""
        return PrefetchedCursor(self)

    async def commit(self) -> None:
        """Commit the open transaction, if any."""
        if self.transaction_open:
            await self._execute(partial(self._end_transaction, commit=True))  # type: ignore[no-untyped-call]

    async def rollback(self) -> None:
        """Roll back the open transaction, if any."""
        if self.transaction_open:
            await self._execute(partial(self._end_transaction, commit=False))  # type: ignore[no-untyped-call]

    def _end_transaction(self, *, commit: bool) -> None:
        connection = self._conn
        try:
            if commit:
                connection.commit()
            else:
                connection.rollback()
        finally:
            self.transaction_open = connection.in_transaction

    def _run(self, sql: str, parameters: Any, *, many: bool) -> _Outcome:
        connection = self._conn
        cursor = connection.cursor()
        try:
            if many:
                cursor.executemany(sql, parameters)
            elif parameters is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, parameters)
            rows = cursor.fetchall() if cursor.description is not None else []
            # After the fetch: a RETURNING statement counts its rows as they are read.
            return _Outcome(cursor.description, cursor.rowcount, cursor.lastrowid, rows)
        finally:
            cursor.close()
            self.transaction_open = connection.in_transaction

    async def run(self, sql: str, parameters: Any, *, many: bool) -> _Outcome:
        """Execute `sql` and fetch all its rows in the connection's thread."""
        run = partial(self._run, sql, parameters, many=many)
        return cast(_Outcome, await self._execute(run))  # type: ignore[no-untyped-call]


class PrefetchedCursor:
    """The DB-API cursor surface SQLAlchemy's aiosqlite adapter uses, over whole results."""

    arraysize = 1

    def __init__(self, connection: OneCrossingConnection) -> None:
        self._connection = connection
        self._outcome = _Outcome(None, -1, None, [])
        self._position = 0

    async def __aenter__(self) -> PrefetchedCursor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def description(self) -> Description:
        """The columns of the last statement's rows (None when it returned none)."""
        return self._outcome.description

    @property
    def rowcount(self) -> int:
        """Rows the last statement changed (or returned), as sqlite3 counts them."""
        return self._outcome.rowcount

    @property
    def lastrowid(self) -> int | None:
        """The row id of the last row inserted."""
        return self._outcome.lastrowid

    async def execute(self, sql: str, parameters: Any = None) -> PrefetchedCursor:
        """Run one statement and keep its rows."""
        self._keep(await self._connection.run(sql, parameters, many=False))
        return self

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> PrefetchedCursor:
        """Run one statement once per parameter set."""
        self._keep(await self._connection.run(sql, parameters, many=True))
        return self

    async def fetchone(self) -> Any:
        """The next row, or None."""
        rows = self._take(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """The next `size` rows (`arraysize` by default)."""
        return self._take(self.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        """The rows not fetched yet."""
        return self._take(len(self._outcome.rows))

    async def close(self) -> None:
        """Forget the rows (the counts stay readable); nothing to release in the thread."""
        self._outcome = replace(self._outcome, rows=[])
        self._position = 0

    def _keep(self, outcome: _Outcome) -> None:
        self._outcome = outcome
        self._position = 0

    def _take(self, count: int) -> list[Any]:
        start = self._position
        self._position = min(len(self._outcome.rows), start + count)
        return self._outcome.rows[start : self._position]


def connect(database: str, **kwargs: Any) -> OneCrossingConnection:
    """Like `aiosqlite.connect`: a connection that opens in its thread when awaited."""

    def connector() -> sqlite3.Connection:
        return cast(sqlite3.Connection, sqlite3.connect(database, **kwargs))

    return OneCrossingConnection(connector, iter_chunk_size=64)
