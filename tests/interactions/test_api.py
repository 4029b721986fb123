"""The interactions API as an integrator and an agent use it, through the real routing service."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app import clock
from app.auth.tokens import issue_claimant_token
from app.interactions.models import Interaction
from app.routing.model import AgentState
from tests.conftest import Caller, CallerFactory
from tests.world import add_agent, add_queue, resources_of, set_state

CHAT = {"channel": "chat", "queue": "Unemployment Insurance", "customer": {"name": "Ana"}}


@pytest.fixture
async def queue_id(app: FastAPI) -> uuid.UUID:
    """The Unemployment Insurance queue, needing the `ui` skill."""
    return await add_queue(app, "Unemployment Insurance", {"ui": 3}, max_size=3)


@pytest.fixture
async def integrator(integrator_caller: CallerFactory) -> Caller:
    """An integrator's API key."""
    return await integrator_caller()


async def _create(
    client: httpx.AsyncClient, caller: Caller, body: dict[str, Any] | None = None, **headers: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/interactions", json=body or CHAT, headers={**caller.headers, **headers}
    )


async def _transfer(
    client: httpx.AsyncClient, caller: Caller, interaction_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        f"/api/v1/interactions/{interaction_id}/transfer", json=body, headers=caller.headers
    )


async def test_an_interaction_with_no_agent_waits_first_in_line(
    client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    response = await _create(client, integrator)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["state"], body["position"], body["queue_id"]) == ("queued", 1, str(queue_id))
    assert body["estimated_wait_s"] is None
    assert response.headers["location"] == f"/api/v1/interactions/{body['id']}"


async def test_positions_follow_arrival_order(
    client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    ids = [(await _create(client, integrator)).json()["id"] for _ in range(3)]
    positions = [
        (await client.get(f"/api/v1/interactions/{i}", headers=integrator.headers)).json()[
            "position"
        ]
        for i in ids
    ]
    assert positions == [1, 2, 3]


async def test_an_available_agent_is_offered_it_at_once(
    app: FastAPI, client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    agent = await add_agent(app, "maria", {"ui": 5})
    body = (await _create(client, integrator)).json()
    assert (body["state"], body["agent_id"], body["position"]) == ("offered", agent.id, 0)


async def test_the_whole_lifecycle_is_stored_with_a_timestamp_per_stage(
    app: FastAPI, client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    agent = await add_agent(app, "maria", {"ui": 5})
    interaction_id = (await _create(client, integrator)).json()["id"]
    base = f"/api/v1/interactions/{interaction_id}"
    for action, state in [
        ("accept", "active"),
        ("complete", "wrap_up"),
        ("finish-wrap-up", "completed"),
    ]:
        response = await client.post(f"{base}/{action}", headers=agent.headers)
        assert response.status_code == 200, response.text
        assert response.json()["state"] == state
    detail = (await client.get(base, headers=integrator.headers)).json()
    for stage in ("created_at", "queued_at", "offered_at", "answered_at", "wrap_up_at", "ended_at"):
        assert detail[stage] is not None, stage
    assert detail["agent_id"] == agent.id
    assert [event["type"] for event in detail["events"]] == [
        "interaction.created",
        "interaction.queued",
        "interaction.offered",
        "interaction.accepted",
        "interaction.wrap_up_started",
        "interaction.completed",
    ]


async def test_an_agent_cannot_accept_an_offer_made_to_someone_else(
    app: FastAPI, client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    await add_agent(app, "maria", {"ui": 5})
    other = await add_agent(app, "james", {"ui": 5}, available=False)
    interaction_id = (await _create(client, integrator)).json()["id"]
    response = await client.post(
        f"/api/v1/interactions/{interaction_id}/accept", headers=other.headers
    )
    assert response.status_code == 409
    assert response.json()["code"] == "wrong_agent"


async def test_a_rejected_offer_goes_to_the_next_agent(
    app: FastAPI, client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    first = await add_agent(app, "maria", {"ui": 5})
    second = await add_agent(app, "james", {"ui": 5})
    body = (await _create(client, integrator)).json()
    offered_to = first if body["agent_id"] == first.id else second
    response = await client.post(
        f"/api/v1/interactions/{body['id']}/reject", headers=offered_to.headers
    )
    assert response.json()["state"] == "offered"
    assert response.json()["agent_id"] != offered_to.id


async def test_the_same_idempotency_key_and_body_get_the_same_answer(
    client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    first = await _create(client, integrator, **{"Idempotency-Key": "crm-req-1"})
    again = await _create(client, integrator, **{"Idempotency-Key": "crm-req-1"})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    listing = await client.get("/api/v1/interactions", headers=integrator.headers)
    assert len(listing.json()["items"]) == 1


async def test_the_same_idempotency_key_with_another_body_is_409(
    client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    await _create(client, integrator, **{"Idempotency-Key": "k"})
    response = await _create(
        client, integrator, {**CHAT, "priority": 5}, **{"Idempotency-Key": "k"}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"


async def test_idempotency_keys_belong_to_their_caller(
    client: httpx.AsyncClient,
    queue_id: uuid.UUID,
    integrator: Caller,
    integrator_caller: CallerFactory,
) -> None:
    other = await integrator_caller("Another CRM")
    first = await _create(client, integrator, **{"Idempotency-Key": "same"})
    second = await _create(client, other, **{"Idempotency-Key": "same"})
    assert first.json()["id"] != second.json()["id"]


async def test_a_full_queue_refuses_with_a_reason(
    client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    for _ in range(3):
        assert (await _create(client, integrator)).status_code == 201
    response = await _create(client, integrator)
    assert response.status_code == 409
    assert response.json()["code"] == "queue_full"
    assert "Unemployment Insurance" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "chat", "queue": "No such queue"}, "body.queue"),
        ({"channel": "chat", "required_skills": [{"skill": "klingon"}]}, "body.required_skills"),
        ({"channel": "pigeon", "queue": "Unemployment Insurance"}, "body.channel"),
        ({"channel": "chat"}, "body"),
        ({**CHAT, "priority": "high"}, "body.priority"),
        ({**CHAT, "customer": {"email": "not-an-email"}}, "body.customer.email"),
        ({**CHAT, "attributes": {"x": "y" * 1001}}, "body.attributes"),
    ],
)
async def test_bad_input_is_a_4xx_naming_the_field(
    client: httpx.AsyncClient,
    queue_id: uuid.UUID,
    integrator: Caller,
    body: dict[str, Any],
    field: str,
) -> None:
    response = await _create(client, integrator, body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(error["field"].startswith(field) for error in response.json()["errors"])


async def test_malformed_json_is_a_422_problem(
    client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    response = await client.post(
        "/api/v1/interactions",
        content=b'{"channel": "chat",',
        headers={**integrator.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"


async def test_a_body_over_the_size_limit_is_413(
    client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    big = {**CHAT, "attributes": {"notes": "x" * 2_000_000}}
    response = await _create(client, integrator, big)
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


async def test_routing_by_skills_finds_an_agent_with_them(
    app: FastAPI, client: httpx.AsyncClient, integrator: Caller
) -> None:
    agent = await add_agent(app, "rosa", {"spanish": 9, "ui": 8})
    body = {"channel": "chat", "required_skills": [{"skill": "spanish", "min_level": 6}]}
    created = (await _create(client, integrator, body)).json()
    assert (created["state"], created["agent_id"], created["queue_id"]) == (
        "offered",
        agent.id,
        None,
    )


async def test_cancel_ends_a_waiting_interaction(
    client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    interaction_id = (await _create(client, integrator)).json()["id"]
    response = await client.post(
        f"/api/v1/interactions/{interaction_id}/cancel", headers=integrator.headers
    )
    assert (response.json()["state"], response.json()["position"]) == ("cancelled", None)
    again = await client.post(
        f"/api/v1/interactions/{interaction_id}/cancel", headers=integrator.headers
    )
    assert again.status_code == 404
    assert again.json()["code"] == "interaction_not_open"


async def test_transfer_to_another_queue_keeps_the_history(
    app: FastAPI, client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    other = await add_queue(app, "Paid Leave", {"paid_leave": 1})
    interaction_id = (await _create(client, integrator)).json()["id"]
    response = await _transfer(client, integrator, interaction_id, {"queue": "Paid Leave"})
    assert response.status_code == 200, response.text
    assert response.json()["queue_id"] == str(other)
    detail = await client.get(f"/api/v1/interactions/{interaction_id}", headers=integrator.headers)
    assert "interaction.transferred" in [event["type"] for event in detail.json()["events"]]


async def test_a_transfer_into_a_full_queue_is_409_naming_the_queue(
    app: FastAPI, client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    await add_queue(app, "Paid Leave", {"paid_leave": 1}, max_size=1)
    await _create(client, integrator, {**CHAT, "queue": "Paid Leave"})
    interaction_id = (await _create(client, integrator)).json()["id"]
    response = await _transfer(client, integrator, interaction_id, {"queue": "Paid Leave"})
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "queue_full"
    assert [error["field"] for error in problem["errors"]] == ["body.queue"]
    detail = await client.get(f"/api/v1/interactions/{interaction_id}", headers=integrator.headers)
    assert detail.json()["queue_id"] == str(queue_id)


async def test_a_transfer_to_an_agent_on_a_break_is_409_naming_her(
    app: FastAPI, client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    on_break = await add_agent(app, "james", {"ui": 5}, available=False)
    interaction_id = (await _create(client, integrator)).json()["id"]
    response = await _transfer(client, integrator, interaction_id, {"agent_id": on_break.id})
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "agent_unavailable"
    assert [error["field"] for error in problem["errors"]] == ["body.agent_id"]


async def test_a_named_transfer_waiting_for_an_agent_who_signs_off_goes_back_to_the_queue(
    app: FastAPI, client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    maria = await add_agent(app, "maria", {"ui": 5}, chats=1)
    first = (await _create(client, integrator)).json()["id"]
    await client.post(f"/api/v1/interactions/{first}/accept", headers=maria.headers)
    james = await add_agent(app, "james", {"ui": 5})
    second = (await _create(client, integrator)).json()["id"]
    await client.post(f"/api/v1/interactions/{second}/accept", headers=james.headers)
    held = await _transfer(client, james, second, {"agent_id": maria.id})
    assert held.json()["state"] == "queued", held.text  # maria is full: it waits for her
    await set_state(app, maria.id, AgentState.OFFLINE)
    detail = (await client.get(f"/api/v1/interactions/{second}", headers=integrator.headers)).json()
    assert (detail["state"], detail["agent_id"]) == ("offered", james.id)
    assert "interaction.requeued" in [event["type"] for event in detail["events"]]
    # Stored too: a restart must not hold it for her again.
    async with resources_of(app).sessions() as session:
        row = await session.get(Interaction, uuid.UUID(second))
        assert row is not None and row.target_agent_id is None


async def test_an_agent_cannot_transfer_what_it_does_not_hold(
    app: FastAPI, client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    await add_queue(app, "Paid Leave", {"paid_leave": 1})
    bystander = await add_agent(app, "james", {"employer": 5})
    interaction_id = (await _create(client, integrator)).json()["id"]
    response = await _transfer(client, bystander, interaction_id, {"queue": "Paid Leave"})
    assert response.status_code == 403


async def test_the_list_filters_and_pages_with_a_cursor(
    client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    created = [(await _create(client, integrator)).json()["id"] for _ in range(3)]
    await client.post(f"/api/v1/interactions/{created[0]}/cancel", headers=integrator.headers)
    first = await client.get(
        "/api/v1/interactions", params={"limit": 1, "state": "queued"}, headers=integrator.headers
    )
    page = first.json()
    assert [item["id"] for item in page["items"]] == [created[2]]
    second = await client.get(
        "/api/v1/interactions",
        params={"limit": 1, "state": "queued", "cursor": page["next_cursor"]},
        headers=integrator.headers,
    )
    assert [item["id"] for item in second.json()["items"]] == [created[1]]
    assert second.json()["next_cursor"] is None


async def test_a_bad_cursor_is_400_naming_it(client: httpx.AsyncClient, integrator: Caller) -> None:
    response = await client.get(
        "/api/v1/interactions", params={"cursor": "garbage!"}, headers=integrator.headers
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "query.cursor"


async def test_a_time_filter_without_a_zone_is_422(
    client: httpx.AsyncClient, integrator: Caller
) -> None:
    response = await client.get(
        "/api/v1/interactions",
        params={"created_from": "2026-11-23T09:00:00"},
        headers=integrator.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.created_from"


async def test_a_claimant_reads_only_its_own_interaction(
    app: FastAPI, client: httpx.AsyncClient, queue_id: uuid.UUID, integrator: Caller
) -> None:
    mine = (await _create(client, integrator)).json()["id"]
    theirs = (await _create(client, integrator)).json()["id"]
    token = issue_claimant_token(
        resources_of(app).secret_key, interaction_id=mine, name="Ana", now=clock.now_s()
    ).token
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get(f"/api/v1/interactions/{mine}", headers=headers)).status_code == 200
    assert (await client.get(f"/api/v1/interactions/{theirs}", headers=headers)).status_code == 404
    listing = await client.get("/api/v1/interactions", headers=headers)
    assert listing.status_code == 403


async def test_an_agent_cannot_create_interactions(
    app: FastAPI, client: httpx.AsyncClient, queue_id: uuid.UUID
) -> None:
    agent = await add_agent(app, "maria", {"ui": 5})
    assert (await _create(client, agent)).status_code == 403


async def test_no_credentials_is_401(client: httpx.AsyncClient, queue_id: uuid.UUID) -> None:
    response = await client.post("/api/v1/interactions", json=CHAT)
    assert response.status_code == 401
