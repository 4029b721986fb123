"""The web chat REST API: the pre-chat form, starting a chat, reading, writing and rating it,
and the wrap-up and warm-transfer bodies of the interactions API that chats rely on."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app import clock
from app.agents.models import StaffRole
from app.auth.rate_limit import InMemoryRateLimiter, Limit
from app.interactions.models import InteractionDisposition
from app.queues.models import Queue
from app.settings import ChatTopic
from tests.channels.conftest import (
    FORM,
    QUEUE,
    SKILL,
    Agent,
    Chat,
    act,
    add_chat_agent,
    interaction_row,
    send_as,
    start_chat,
)
from tests.conftest import Caller, CallerFactory
from tests.world import add_queue, resources_of

CHATS = "/api/v1/chats"
PROBLEM = "application/problem+json"
CONFIGURED_TOPICS = {
    "chat_topics": [
        ChatTopic(key="claims", queue=QUEUE, labels={"en": "My claim", "es": "Mi reclamo"})
    ]
}


@pytest.fixture
async def ana(app: FastAPI, queue_id: uuid.UUID) -> Agent:
    """Ana Ruiz, available for chats in the queue."""
    return await add_chat_agent(app, "ana.ruiz", "Ana Ruiz")


@pytest.fixture
async def talking(client: httpx.AsyncClient, ana: Agent) -> Chat:
    """A chat Ana was offered and accepted."""
    chat = await start_chat(client)
    await act(client, chat, ana, "accept")
    return chat


@pytest.fixture
async def supervisor(staff_caller: CallerFactory) -> Caller:
    """A supervisor (manages dispositions)."""
    return await staff_caller(StaffRole.SUPERVISOR)


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


async def _disposition(client: httpx.AsyncClient, supervisor: Caller, code: str) -> str:
    response = await client.post(
        "/api/v1/dispositions", json={"code": code, "label": code}, headers=supervisor.headers
    )
    assert response.status_code == 201, response.text
    disposition_id: str = response.json()["id"]
    return disposition_id


# --- the pre-chat form -----------------------------------------------------------------------


async def test_options_list_the_configured_languages_and_the_active_queues_as_topics(
    app: FastAPI, client: httpx.AsyncClient, queue_id: uuid.UUID
) -> None:
    await add_queue(app, "Paid Leave", {SKILL: 1})
    async with resources_of(app).sessions() as session, session.begin():
        session.add(Queue(name="Retired", active=False))
    response = await client.get(f"{CHATS}/options")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "languages": [{"code": "en", "label": "English"}, {"code": "es", "label": "Español"}],
        "topics": [
            {"key": "Paid Leave", "label": "Paid Leave", "labels": {}},
            {"key": QUEUE, "label": QUEUE, "labels": {}},
        ],
        "max_message_chars": 2000,
        "max_name_chars": 100,
    }


@pytest.mark.parametrize("settings_update", [CONFIGURED_TOPICS], ids=["chat_topics"])
async def test_options_list_the_configured_chat_topics_when_set(
    client: httpx.AsyncClient, queue_id: uuid.UUID
) -> None:
    topics = (await client.get(f"{CHATS}/options")).json()["topics"]
    assert topics == [
        {"key": "claims", "label": "My claim", "labels": {"en": "My claim", "es": "Mi reclamo"}}
    ]


@pytest.mark.parametrize("settings_update", [CONFIGURED_TOPICS], ids=["chat_topics"])
async def test_a_configured_topic_routes_the_chat_to_its_queue(
    client: httpx.AsyncClient, queue_id: uuid.UUID, integrator_caller: CallerFactory
) -> None:
    chat = await start_chat(client, topic="claims")
    integrator = await integrator_caller()
    detail = (await client.get(chat.interaction, headers=integrator.headers)).json()
    assert detail["queue_id"] == str(queue_id)


@pytest.mark.parametrize(
    "settings_update", [{"chat_languages": ["en", "vi", "xx"]}], ids=["languages"]
)
async def test_options_label_known_languages_and_show_the_code_of_others(
    client: httpx.AsyncClient,
) -> None:
    languages = (await client.get(f"{CHATS}/options")).json()["languages"]
    assert languages == [
        {"code": "en", "label": "English"},
        {"code": "vi", "label": "Tiếng Việt"},
        {"code": "xx", "label": "xx"},
    ]


# --- starting a chat -------------------------------------------------------------------------


async def test_starting_a_chat_answers_201_with_a_token_the_place_in_line_and_the_first_message(
    client: httpx.AsyncClient, queue_id: uuid.UUID
) -> None:
    response = await client.post(CHATS, json=FORM)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token"]
    assert (body["state"], body["position"]) == ("queued", 1)
    message = body["message"]
    assert (message["type"], message["seq"], message["from"]) == ("message", 1, "customer")
    assert (message["author"], message["body"]) == (FORM["name"], FORM["message"])
    assert message["interaction_id"] == body["interaction_id"]


async def test_a_voice_call_started_from_the_form_waits_in_line_and_carries_text_beside_it(
    client: httpx.AsyncClient, queue_id: uuid.UUID
) -> None:
    response = await client.post(CHATS, json={**FORM, "channel": "voice"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["state"], body["position"]) == ("queued", 1)
    auth = {"Authorization": f"Bearer {body['token']}"}
    detail = await client.get(f"/api/v1/interactions/{body['interaction_id']}", headers=auth)
    assert detail.json()["channel"] == "voice"
    sent = await client.post(
        f"{CHATS}/{body['interaction_id']}/messages",
        json={"client_message_id": "c2", "body": "Still there?"},
        headers=auth,
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["seq"] == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channel": "fax"}, "body.channel"),
        ({"topic": "Parking tickets"}, "body.topic"),
        ({"language": "fr"}, "body.language"),
        ({"message": "x" * 2001}, "body.message"),
        ({"message": "   "}, "body.message"),
        ({"email": "jose-at-example.org"}, "body.email"),
    ],
    ids=[
        "unknown-channel",
        "unknown-topic",
        "unknown-language",
        "message-too-long",
        "empty-message",
        "bad-email",
    ],
)
async def test_a_bad_form_is_422_problem_naming_the_field(
    client: httpx.AsyncClient, queue_id: uuid.UUID, change: dict[str, Any], field: str
) -> None:
    response = await client.post(CHATS, json={**FORM, **change})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_starting_chats_past_the_per_address_limit_is_429_with_retry_after(
    app: FastAPI, client: httpx.AsyncClient, queue_id: uuid.UUID
) -> None:
    limiter = InMemoryRateLimiter(Limit(max_hits=2, window_s=600))
    app.state.resources = dataclasses.replace(resources_of(app), chat_starts=limiter)
    for _ in range(2):
        await start_chat(client)
    response = await client.post(CHATS, json=FORM)
    _problem(response, 429, "too_many_chats")
    assert 1 <= int(response.headers["retry-after"]) <= 600


async def test_a_refused_form_does_not_count_against_the_per_address_limit(
    app: FastAPI, client: httpx.AsyncClient, queue_id: uuid.UUID
) -> None:
    limiter = InMemoryRateLimiter(Limit(max_hits=1, window_s=600))
    app.state.resources = dataclasses.replace(resources_of(app), chat_starts=limiter)
    assert (await client.post(CHATS, json={**FORM, "topic": "nope"})).status_code == 422
    await start_chat(client)


async def test_a_closed_queue_answers_409_queue_closed_with_its_hours(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # Open only three days from now: closed today, whatever the time.
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[
        (clock.utcnow() + timedelta(days=3)).weekday()
    ]
    hours = [{"day": day, "open": "08:00", "close": "17:00"}]
    await add_queue(
        app,
        QUEUE,
        {SKILL: 3},
        time_zone="UTC",
        weekly_hours=hours,
        holidays=["2026-12-25"],
        closed_policy="refuse",
    )
    response = await client.post(CHATS, json=FORM)
    body = _problem(response, 409, "queue_closed")
    assert body["hours"] == {"time_zone": "UTC", "weekly_hours": hours, "holidays": ["2026-12-25"]}
    assert f"{day.capitalize()} 08:00-17:00" in body["detail"]


async def test_a_full_queue_answers_409_queue_full(app: FastAPI, client: httpx.AsyncClient) -> None:
    await add_queue(app, QUEUE, {SKILL: 3}, max_size=1)
    await start_chat(client)
    response = await client.post(CHATS, json=FORM)
    _problem(response, 409, "queue_full")


# --- the claimant's chat ---------------------------------------------------------------------


async def test_the_claimant_reads_the_status_of_their_chat(
    client: httpx.AsyncClient, queue_id: uuid.UUID
) -> None:
    chat = await start_chat(client)
    response = await client.get(chat.path, headers=chat.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "interaction_id": chat.id,
        "state": "queued",
        "position": 1,
        "estimated_wait_s": None,
        "agent": None,
        "last_seq": 1,
        "ended": False,
        "rating": None,
    }


async def test_the_status_names_the_agent_by_first_name_once_accepted(
    client: httpx.AsyncClient, talking: Chat
) -> None:
    status = (await client.get(talking.path, headers=talking.headers)).json()
    assert (status["state"], status["agent"]) == ("active", {"first_name": "Ana"})


@pytest.mark.parametrize("suffix", ["", "/messages", "/transcript"])
async def test_a_claimant_token_cannot_read_another_chat(
    client: httpx.AsyncClient, queue_id: uuid.UUID, suffix: str
) -> None:
    mine = await start_chat(client)
    theirs = await start_chat(client, name="Someone Else")
    response = await client.get(f"{theirs.path}{suffix}", headers=mine.headers)
    assert response.status_code == 404, response.text


async def test_a_claimant_cannot_write_in_another_chat(
    client: httpx.AsyncClient, queue_id: uuid.UUID
) -> None:
    mine = await start_chat(client)
    theirs = await start_chat(client, name="Someone Else")
    response = await send_as(client, theirs, mine.headers, "hello?")
    assert response.status_code == 404, response.text


async def test_messages_are_listed_in_order_above_after_seq(
    client: httpx.AsyncClient, talking: Chat, ana: Agent
) -> None:
    for body in ("two", "three"):
        assert (await send_as(client, talking, ana.headers, body)).status_code == 201
    response = await client.get(f"{talking.path}/messages?after_seq=1", headers=talking.headers)
    assert [(m["seq"], m["body"]) for m in response.json()["messages"]] == [
        (2, "two"),
        (3, "three"),
    ]


async def test_a_rating_before_the_end_is_409_chat_not_ended(
    client: httpx.AsyncClient, queue_id: uuid.UUID
) -> None:
    chat = await start_chat(client)
    response = await client.post(f"{chat.path}/rating", json={"score": 5}, headers=chat.headers)
    _problem(response, 409, "chat_not_ended")


async def test_a_rating_after_the_end_is_stored(
    app: FastAPI, client: httpx.AsyncClient, queue_id: uuid.UUID
) -> None:
    chat = await start_chat(client)
    left = await client.post(f"{chat.interaction}/abandon", headers=chat.headers)
    assert left.status_code == 200, left.text
    response = await client.post(
        f"{chat.path}/rating", json={"score": 4, "comment": " Quick "}, headers=chat.headers
    )
    assert response.status_code == 200, response.text
    assert (response.json()["rating"], response.json()["ended"]) == (4, True)
    row = await interaction_row(app, chat.id)
    assert (row.satisfaction_rating, row.satisfaction_comment) == (4, "Quick")


async def test_a_second_rating_replaces_the_first(
    app: FastAPI, client: httpx.AsyncClient, queue_id: uuid.UUID
) -> None:
    chat = await start_chat(client)
    await client.post(f"{chat.interaction}/abandon", headers=chat.headers)
    await client.post(
        f"{chat.path}/rating", json={"score": 1, "comment": "x"}, headers=chat.headers
    )
    await client.post(f"{chat.path}/rating", json={"score": 5}, headers=chat.headers)
    row = await interaction_row(app, chat.id)
    assert (row.satisfaction_rating, row.satisfaction_comment) == (5, None)


async def test_the_transcript_is_plain_text_with_one_line_per_visible_message(
    client: httpx.AsyncClient, talking: Chat, ana: Agent
) -> None:
    assert (await send_as(client, talking, ana.headers, "Hola José")).status_code == 201
    transfer = await client.post(
        f"{talking.interaction}/transfer",
        json={"queue": QUEUE, "note": "Private: check the employer"},
        headers=ana.headers,
    )
    assert transfer.status_code == 200, transfer.text
    response = await client.get(f"{talking.path}/transcript", headers=talking.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["content-disposition"] == (
        f'attachment; filename="chat-{talking.id}.txt"'
    )
    stamp = r"\[\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\]"
    lines = response.text.splitlines()
    assert len(lines) == 2, lines
    assert re.fullmatch(rf"{stamp} José Ramírez: I have not received my payment", lines[0])
    assert re.fullmatch(rf"{stamp} Ana: Hola José", lines[1])


# --- the agent's side ------------------------------------------------------------------------


async def test_an_agent_who_does_not_hold_the_chat_gets_403_not_in_this_chat(
    app: FastAPI, client: httpx.AsyncClient, talking: Chat
) -> None:
    other = await add_chat_agent(app, "james.lee", "James Lee")
    response = await send_as(client, talking, other.headers, "Hi, I'm James")
    _problem(response, 403, "not_in_this_chat")


async def test_an_agent_only_offered_the_chat_gets_403_not_in_this_chat(
    client: httpx.AsyncClient, ana: Agent
) -> None:
    chat = await start_chat(client)
    response = await send_as(client, chat, ana.headers, "Hi")
    _problem(response, 403, "not_in_this_chat")


async def test_the_holding_agents_message_is_stored_with_their_first_name(
    client: httpx.AsyncClient, talking: Chat, ana: Agent
) -> None:
    response = await send_as(client, talking, ana.headers, "Hola José", client_message_id="a-1")
    assert response.status_code == 201, response.text
    sent = response.json()
    assert (sent["seq"], sent["from"], sent["author"]) == (2, "agent", "Ana")
    listed = (await client.get(f"{talking.path}/messages", headers=talking.headers)).json()
    assert listed["messages"][-1]["author"] == "Ana"


async def test_agent_messages_sent_at_once_are_all_stored(
    client: httpx.AsyncClient, talking: Chat, ana: Agent
) -> None:
    sent = await asyncio.gather(
        *(send_as(client, talking, ana.headers, f"line {n}") for n in range(5))
    )
    assert [response.status_code for response in sent] == [201] * 5
    listed = (await client.get(f"{talking.path}/messages", headers=talking.headers)).json()
    assert [m["seq"] for m in listed["messages"]] == list(range(1, 7))


async def test_claimant_messages_sent_at_once_are_all_stored_under_distinct_numbers(
    client: httpx.AsyncClient, talking: Chat
) -> None:
    sent = await asyncio.gather(
        *(send_as(client, talking, talking.headers, f"line {n}") for n in range(5))
    )
    assert [response.status_code for response in sent] == [201] * 5
    listed = (await client.get(f"{talking.path}/messages", headers=talking.headers)).json()
    assert [m["seq"] for m in listed["messages"]] == list(range(1, 7))


async def test_a_supervisors_message_is_sent_from_supervisor(
    client: httpx.AsyncClient, talking: Chat, supervisor: Caller
) -> None:
    response = await send_as(client, talking, supervisor.headers, "Supervisor here")
    assert response.status_code == 201, response.text
    assert response.json()["from"] == "supervisor"


async def test_the_holding_agents_first_message_sets_first_response_at(
    app: FastAPI, client: httpx.AsyncClient, talking: Chat, ana: Agent
) -> None:
    assert (await interaction_row(app, talking.id)).first_response_at is None
    await send_as(client, talking, ana.headers, "Hola José")
    first = (await interaction_row(app, talking.id)).first_response_at
    await send_as(client, talking, ana.headers, "¿Cuál es su número de caso?")
    assert first is not None
    assert (await interaction_row(app, talking.id)).first_response_at == first


async def test_a_claimant_message_after_the_chat_ended_is_409_chat_ended(
    client: httpx.AsyncClient, queue_id: uuid.UUID
) -> None:
    chat = await start_chat(client)
    await client.post(f"{chat.interaction}/abandon", headers=chat.headers)
    response = await send_as(client, chat, chat.headers, "Are you there?")
    _problem(response, 409, "chat_ended")


async def test_an_agent_message_in_wrap_up_is_409_chat_ended(
    client: httpx.AsyncClient, talking: Chat, ana: Agent
) -> None:
    await act(client, talking, ana, "complete")
    response = await send_as(client, talking, ana.headers, "One more thing")
    _problem(response, 409, "chat_ended")


async def test_a_message_over_the_limit_is_422_naming_body_body(
    client: httpx.AsyncClient, talking: Chat
) -> None:
    response = await send_as(client, talking, talking.headers, "x" * 2001)
    body = _problem(response, 422, "message_too_long")
    assert [error["field"] for error in body["errors"]] == ["body.body"]


async def test_finishing_wrap_up_stores_the_dispositions_and_notes(
    app: FastAPI, client: httpx.AsyncClient, talking: Chat, ana: Agent, supervisor: Caller
) -> None:
    reviewed = await _disposition(client, supervisor, "work_search_reviewed")
    resea = await _disposition(client, supervisor, "resea_appointment_set")
    await act(client, talking, ana, "complete")
    response = await client.post(
        f"{talking.interaction}/finish-wrap-up",
        json={"disposition_ids": [reviewed, resea], "notes": " RESEA set for Tuesday. "},
        headers=ana.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "completed"
    async with resources_of(app).sessions() as session:
        stored = set(
            await session.scalars(
                select(InteractionDisposition.disposition_id).where(
                    InteractionDisposition.interaction_id == uuid.UUID(talking.id)
                )
            )
        )
    assert stored == {uuid.UUID(reviewed), uuid.UUID(resea)}
    assert (await interaction_row(app, talking.id)).wrap_up_notes == "RESEA set for Tuesday."


async def test_an_unknown_disposition_is_422_naming_body_disposition_ids(
    app: FastAPI, client: httpx.AsyncClient, talking: Chat, ana: Agent
) -> None:
    await act(client, talking, ana, "complete")
    response = await client.post(
        f"{talking.interaction}/finish-wrap-up",
        json={"disposition_ids": [str(uuid.uuid4())]},
        headers=ana.headers,
    )
    body = _problem(response, 422, "unknown_disposition")
    assert [error["field"] for error in body["errors"]] == ["body.disposition_ids"]
    assert (await interaction_row(app, talking.id)).state.value == "wrap_up"


async def test_a_refused_finish_wrap_up_stores_no_dispositions(
    app: FastAPI, client: httpx.AsyncClient, talking: Chat, ana: Agent, supervisor: Caller
) -> None:
    reviewed = await _disposition(client, supervisor, "work_search_reviewed")
    response = await client.post(
        f"{talking.interaction}/finish-wrap-up",
        json={"disposition_ids": [reviewed], "notes": "too early"},
        headers=ana.headers,
    )
    assert response.status_code == 409, response.text
    row = await interaction_row(app, talking.id)
    async with resources_of(app).sessions() as session:
        stored = list(
            await session.scalars(
                select(InteractionDisposition.disposition_id).where(
                    InteractionDisposition.interaction_id == uuid.UUID(talking.id)
                )
            )
        )
    assert (stored, row.wrap_up_notes) == ([], None)


async def test_a_transfer_with_a_note_stores_an_internal_message_only_staff_see(
    client: httpx.AsyncClient, talking: Chat, ana: Agent, supervisor: Caller
) -> None:
    response = await client.post(
        f"{talking.interaction}/transfer",
        json={"queue": QUEUE, "note": "Needs a Spanish speaker"},
        headers=ana.headers,
    )
    assert response.status_code == 200, response.text
    staff_view = (await client.get(f"{talking.path}/messages", headers=supervisor.headers)).json()
    note = staff_view["messages"][-1]
    assert (note["seq"], note["body"], note["internal"]) == (2, "Needs a Spanish speaker", True)
    assert note["from"] == "agent"
    claimant_view = (await client.get(f"{talking.path}/messages", headers=talking.headers)).json()
    assert [m["seq"] for m in claimant_view["messages"]] == [1]


async def test_a_refused_transfer_leaves_no_note(
    client: httpx.AsyncClient, talking: Chat, ana: Agent, supervisor: Caller
) -> None:
    response = await client.post(
        f"{talking.interaction}/transfer",
        json={"agent_id": str(uuid.uuid4()), "note": "For nobody"},
        headers=ana.headers,
    )
    assert 400 <= response.status_code < 500, response.text
    staff_view = (await client.get(f"{talking.path}/messages", headers=supervisor.headers)).json()
    assert [m["seq"] for m in staff_view["messages"]] == [1]
