"""Desk reads: many desks asking at once share one statement; histories read together."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from app.agents.desk_view import (
    HISTORY_LIMIT,
    DeskReads,
    HistoryRequest,
    customer_histories,
    customer_history,
)
from tests.channels.conftest import QUEUE, SKILL, add_chat_agent, start_chat
from tests.conftest import CallerFactory
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


async def _integrator_interactions(
    client: httpx.AsyncClient, headers: dict[str, str], customer_id: str, count: int
) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = []
    for _ in range(count):
        response = await client.post(
            "/api/v1/interactions",
            json={"channel": "chat", "queue": QUEUE, "customer": {"id": customer_id}},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        ids.append(uuid.UUID(response.json()["id"]))
    return ids


async def test_histories_of_customers_known_by_id_are_one_statement_and_match_one_by_one(
    app: FastAPI, client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    await add_queue(app, QUEUE, {SKILL: 3})
    headers = (await integrator_caller()).headers
    many = await _integrator_interactions(client, headers, "claimant-many", HISTORY_LIMIT + 3)
    (alone,) = await _integrator_interactions(client, headers, "claimant-alone", 1)
    requests = [
        HistoryRequest(many[-1], "claimant-many", None),
        HistoryRequest(many[0], "claimant-many", None),
        HistoryRequest(alone, "claimant-alone", None),
    ]
    engine = resources_of(app).read_engine
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    async with engine.connect() as connection:
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            together = await customer_histories(connection, requests)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        one_by_one = {request: await customer_history(connection, request) for request in requests}
    assert len(statements) == 1
    assert together == one_by_one
    newest = together[requests[0]]
    assert [entry["id"] for entry in newest] == [str(one) for one in many[-2::-1][:HISTORY_LIMIT]]
    assert str(many[0]) not in [entry["id"] for entry in together[requests[1]]]
    assert len(together[requests[1]]) == HISTORY_LIMIT
    assert together[requests[2]] == []
