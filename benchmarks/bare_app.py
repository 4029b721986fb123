"""The yardstick for `api_create.py`: a bare FastAPI endpoint that writes one row.

Served by uvicorn like the real service (`uvicorn benchmarks.bare_app:create_app --factory`),
with the database from BARE_DATABASE_URL and the same driver and pool settings.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import JSON, Column, DateTime, MetaData, Table, Uuid, insert
from sqlalchemy.exc import IntegrityError, ProgrammingError

from app.db.session import create_engine

metadata = MetaData()
bare_rows = Table(
    "bare_rows",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("body", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def create_app() -> FastAPI:
    """One POST route that stores its JSON body as a row and answers 201."""
    engine = create_engine(os.environ["BARE_DATABASE_URL"])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with engine.begin() as connection:
                await connection.run_sync(metadata.create_all)
        except (ProgrammingError, IntegrityError):
            pass  # another worker process created the table at the same moment
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/bare", status_code=201)
    async def create_row(body: dict[str, Any]) -> dict[str, str]:
        row_id = uuid.uuid4()
        async with engine.begin() as connection:
            await connection.execute(
                insert(bare_rows).values(id=row_id, body=body, created_at=datetime.now(UTC))
            )
        return {"id": str(row_id)}

    return app
