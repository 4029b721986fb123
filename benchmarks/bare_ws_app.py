"""The yardstick for `e2e.py`: a bare FastAPI app that stores a POST and pushes it on a websocket.

`POST /bare` writes its JSON body as one row (BARE_DATABASE_URL, with the service's driver and
pool size) and then sends a small JSON frame to one of the clients connected on `/ws` (round
robin), the least the real service does per interaction: store it, then push an offer.
Served by uvicorn like the real service:

    uvicorn benchmarks.bare_ws_app:create_app --factory --ws websockets-sansio
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from sqlalchemy import JSON, Column, DateTime, MetaData, Table, Uuid, insert
from sqlalchemy.exc import IntegrityError, ProgrammingError

from app.db.session import create_engine
from app.settings import Settings

metadata = MetaData()
bare_rows = Table(
    "bare_rows",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("body", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
# The pool the service runs with by default (SWITCHBOARD_DATABASE_POOL_SIZE).
POOL_SIZE = int(Settings.model_fields["database_pool_size"].default)


class _Client:
    """One connected websocket; sends from several requests never interleave."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> bool:
        async with self.lock:
            try:
                await self.websocket.send_text(json.dumps(frame, separators=(",", ":")))
            except (WebSocketDisconnect, RuntimeError, OSError):
                return False
        return True


def create_app() -> FastAPI:
    """POST /bare stores a row and pushes a frame; /ws holds the clients that get them."""
    engine = create_engine(os.environ["BARE_DATABASE_URL"], pool_size=POOL_SIZE)
    clients: list[_Client] = []
    turn = itertools.count()

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
    async def create_row(body: dict[str, Any]) -> dict[str, Any]:
        row_id = uuid.uuid4()
        now = datetime.now(UTC)
        async with engine.begin() as connection:
            await connection.execute(insert(bare_rows).values(id=row_id, body=body, created_at=now))
        pushed = False
        if clients:
            client = clients[next(turn) % len(clients)]
            pushed = await client.send(
                {"type": "offer", "interaction_id": str(row_id), "queued_at": now.isoformat()}
            )
        return {"id": str(row_id), "pushed": pushed}

    @app.websocket("/ws")
    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        client = _Client(websocket)
        clients.append(client)
        try:
            while True:
                text = await websocket.receive_text()
                if '"ping"' in text:
                    await client.send({"type": "pong"})
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            clients.remove(client)

    return app
