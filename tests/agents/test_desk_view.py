"""Desk reads: many desks asking at once share one statement."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from app.agents.desk_view import DeskReads
from tests.channels.conftest import QUEUE, SKILL, add_chat_agent, start_chat
from tests.world import add_queue, resources_of


async def test_desks_asking_in_the_same_turn_share_one_statement_and_get_their_own_items(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_queue(app, QUEUE, {SKILL: 3})
    ana = await add_chat_agent(app, "ana.ruiz", "Ana Ruiz", chats=1)
    chat = await start_chat(client)  # offered to Ana, the only agent
    maria = await add_chat_agent(app, "maria.lopez", "María López", chats=1)
    engine = resources_of(app).read_engine
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        reads = DeskReads(engine)
        anas, marias = await asyncio.gather(
            reads.read(uuid.UUID(ana.id)), reads.read(uuid.UUID(maria.id))
        )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert [item.id for item in anas] == [uuid.UUID(chat.id)]
    assert marias == []
    assert len([s for s in statements if "FROM interactions" in s]) == 1
