"""Desk reads: many desks asking at once share one statement; histories read together."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from fastapi import FastAPI

from app.agents.desk_view import (
    HISTORY_LIMIT,
    DeskEntry,
    DeskReads,
    HistoryRequest,
    customer_histories,
    customer_history,
)
from app.routing.model import InteractionState
from tests.channels.conftest import QUEUE, SKILL, add_chat_agent, start_chat
from tests.conftest import CallerFactory
from tests.world import add_queue, recorded_statements, resources_of


async def test_desks_asking_in_the_same_turn_share_one_statement_and_get_their_own_items(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_queue(app, QUEUE, {SKILL: 3})
    ana = await add_chat_agent(app, "ana.ruiz", "Ana Ruiz", chats=1)
    chat = await start_chat(client)  # offered to Ana, the only agent
    maria = await add_chat_agent(app, "maria.lopez", "María López", chats=1)
    engine = resources_of(app).read_engine
    with recorded_statements(engine) as statements:
        reads = DeskReads(engine)
        anas, marias = await asyncio.gather(
            reads.read(uuid.UUID(ana.id)), reads.read(uuid.UUID(maria.id))
        )
    assert anas == [DeskEntry(uuid.UUID(chat.id), InteractionState.OFFERED, None)]
    assert marias == []
    assert len([s for s in statements if "FROM interactions" in s]) == 1


async def test_reads_asked_one_after_another_before_any_is_awaited_share_one_statement(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_queue(app, QUEUE, {SKILL: 3})
    ana = await add_chat_agent(app, "ana.ruiz", "Ana Ruiz", chats=1)
    chat = await start_chat(client)
    maria = await add_chat_agent(app, "maria.lopez", "María López", chats=1)
    engine = resources_of(app).read_engine
    with recorded_statements(engine) as statements:
        reads = DeskReads(engine)
        asked_ana, asked_maria = reads.read(uuid.UUID(ana.id)), reads.read(uuid.UUID(maria.id))
        assert await asked_maria == []
        assert await asked_ana == [DeskEntry(uuid.UUID(chat.id), InteractionState.OFFERED, None)]
    assert len([s for s in statements if "FROM interactions" in s]) == 1


async def test_details_are_read_only_for_the_items_asked_and_not_at_all_for_none(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_queue(app, QUEUE, {SKILL: 3})
    await add_chat_agent(app, "ana.ruiz", "Ana Ruiz", chats=1)
    chat = await start_chat(client)
    engine = resources_of(app).read_engine
    with recorded_statements(engine) as statements:
        reads = DeskReads(engine)
        nothing = await reads.items([])
        found = await reads.items([uuid.UUID(chat.id), uuid.uuid4()])
    assert nothing == {}
    assert list(found) == [uuid.UUID(chat.id)]
    item = found[uuid.UUID(chat.id)]
    assert (item.queue_name, item.customer_name, item.language) == (QUEUE, "José Ramírez", "es")
    assert item.contact["email"] == "jose@example.org"
    assert len(statements) == 1


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
    async with engine.connect() as connection:
        with recorded_statements(engine) as statements:
            together = await customer_histories(connection, requests)
        one_by_one = {request: await customer_history(connection, request) for request in requests}
    assert len(statements) == 1
    assert together == one_by_one
    newest = together[requests[0]]
    assert [entry["id"] for entry in newest] == [str(one) for one in many[-2::-1][:HISTORY_LIMIT]]
    assert str(many[0]) not in [entry["id"] for entry in together[requests[1]]]
    assert len(together[requests[1]]) == HISTORY_LIMIT
    assert together[requests[2]] == []


async def test_new_offers_are_read_with_their_customers_histories_on_one_connection(
    app: FastAPI, client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    await add_queue(app, QUEUE, {SKILL: 3})
    headers = (await integrator_caller()).headers
    earlier, latest = await _integrator_interactions(client, headers, "claimant-back", 2)
    engine = resources_of(app).read_engine
    with recorded_statements(engine) as statements:
        found = await DeskReads(engine).items_with_histories([latest, uuid.uuid4()])
    assert list(found) == [latest]
    item, history = found[latest]
    assert (item.id, item.customer_id) == (latest, "claimant-back")
    assert [entry["id"] for entry in history] == [str(earlier)]
    # The details, then the histories of the customers found: two statements in all.
    assert len(statements) == 2
