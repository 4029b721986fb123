"""The supervisor REST API: the live snapshot, actions, alert rules and the audit log."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.routing.model import AgentState
from tests.conftest import Caller
from tests.world import add_agent, add_queue, set_state

QUEUE = "Unemployment Insurance"
API = "/api/v1"


@pytest.fixture
async def queue_id(app: FastAPI) -> uuid.UUID:
    """The queue the tests' chats wait in (skill `ui`)."""
    return await add_queue(app, QUEUE, {"ui": 1})


async def start_chat(client: httpx.AsyncClient, name: str = "José Ramírez") -> dict[str, Any]:
    """A claimant's chat waiting in QUEUE: its interaction id and claimant token."""
    response = await client.post(
        f"{API}/chats",
        json={"name": name, "language": "es", "topic": QUEUE, "message": "¿Mi pago?"},
    )
    assert response.status_code == 201, response.text
    started: dict[str, Any] = response.json()
    return started


async def audit_entries(
    client: httpx.AsyncClient, caller: Caller, **filters: str
) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/audit-log", params=filters, headers=caller.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


SUPERVISOR_ROUTES = [
    ("GET", "/supervisor/snapshot"),
    ("GET", "/supervisor/history"),
    ("PUT", f"/supervisor/agents/{uuid.uuid4()}/state"),
    ("POST", f"/supervisor/interactions/{uuid.uuid4()}/move"),
    ("POST", f"/supervisor/interactions/{uuid.uuid4()}/whisper"),
    ("GET", f"/supervisor/interactions/{uuid.uuid4()}/messages"),
    ("GET", "/supervisor/alert-rules"),
    ("PUT", f"/supervisor/queues/{uuid.uuid4()}/alert-rule"),
    ("DELETE", f"/supervisor/queues/{uuid.uuid4()}/alert-rule"),
    ("GET", "/audit-log"),
]


async def test_an_agent_may_not_use_the_supervisor_api(
    client: httpx.AsyncClient, agent_caller: Caller
) -> None:
    refused = []
    for method, path in SUPERVISOR_ROUTES:
        response = await client.request(method, API + path, json={}, headers=agent_caller.headers)
        refused.append((path, response.status_code, response.json()["code"]))
    assert refused == [(path, 403, "forbidden") for _, path in SUPERVISOR_ROUTES]


async def test_the_snapshot_shows_a_waiting_chat_and_each_agent_state(
    app: FastAPI, client: httpx.AsyncClient, supervisor: Caller, queue_id: uuid.UUID
) -> None:
    agent = await add_agent(app, "ana", {"ui": 5}, available=False)
    await set_state(app, agent.id, AgentState.BUSY, "training")
    await start_chat(client)

    response = await client.get(f"{API}/supervisor/snapshot", headers=supervisor.headers)

    assert response.status_code == 200
    snapshot = response.json()
    queue = next(q for q in snapshot["queues"] if q["queue_id"] == str(queue_id))
    assert queue["waiting"] == 1
    assert queue["oldest_wait_s"] is not None
    assert queue["today"]["arrived"] == 1
    assert queue["service_level_target"] == 0.8
    ana = next(a for a in snapshot["agents"] if a["agent_id"] == agent.id)
    assert (ana["state"], ana["reason"]) == ("busy", "training")
    assert ana["state_since"] is not None
    assert ana["handled_today"] == 0
    assert snapshot["agents_by_state"]["busy"] == 1


async def test_a_chat_waiting_with_no_agent_available_raises_an_alert(
    client: httpx.AsyncClient, supervisor: Caller, queue_id: uuid.UUID
) -> None:
    await start_chat(client)
    snapshot = (await client.get(f"{API}/supervisor/snapshot", headers=supervisor.headers)).json()
    codes = {(a["queue_id"], a["code"]) for a in snapshot["alerts"]}
    assert (str(queue_id), "no_agent_available") in codes


async def test_a_supervisor_forces_a_forgotten_desk_offline_and_it_is_audited(
    app: FastAPI, client: httpx.AsyncClient, supervisor: Caller, queue_id: uuid.UUID
) -> None:
    agent = await add_agent(app, "ana", {"ui": 5})

    response = await client.put(
        f"{API}/supervisor/agents/{agent.id}/state",
        json={"state": "offline"},
        headers=supervisor.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["state"] == "offline"
    [entry] = await audit_entries(client, supervisor, action="agent.state_set")
    assert entry["actor_id"] == supervisor.id
    assert entry["actor_role"] == "supervisor"
    assert entry["target_type"] == "agent"
    assert entry["target_id"] == agent.id
    assert entry["details"]["from"] == {"state": "available", "reason": None}
    assert entry["details"]["to"] == {"state": "offline", "reason": None}


async def test_setting_the_state_of_an_unknown_agent_is_a_404_and_not_audited(
    client: httpx.AsyncClient, supervisor: Caller
) -> None:
    response = await client.put(
        f"{API}/supervisor/agents/{uuid.uuid4()}/state",
        json={"state": "offline"},
        headers=supervisor.headers,
    )
    assert response.status_code == 404
    assert await audit_entries(client, supervisor) == []


async def test_busy_needs_a_reason(client: httpx.AsyncClient, supervisor: Caller) -> None:
    response = await client.put(
        f"{API}/supervisor/agents/{uuid.uuid4()}/state",
        json={"state": "busy"},
        headers=supervisor.headers,
    )
    assert response.status_code == 422


async def test_a_supervisor_moves_a_waiting_chat_to_another_queue(
    app: FastAPI, client: httpx.AsyncClient, supervisor: Caller, queue_id: uuid.UUID
) -> None:
    other = await add_queue(app, "Seguro de Desempleo", {"es": 1})
    chat = await start_chat(client)

    response = await client.post(
        f"{API}/supervisor/interactions/{chat['interaction_id']}/move",
        json={"queue": "Seguro de Desempleo", "note": "Prefers Spanish"},
        headers=supervisor.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["queue_id"] == str(other)
    assert response.json()["state"] == "queued"
    [entry] = await audit_entries(client, supervisor, target_id=chat["interaction_id"])
    assert entry["action"] == "interaction.moved"
    assert entry["details"]["from_queue_id"] == str(queue_id)
    assert entry["details"]["to_queue"] == "Seguro de Desempleo"
    assert entry["details"]["with_note"] is True


async def test_moving_to_an_unknown_queue_names_the_field(
    client: httpx.AsyncClient, supervisor: Caller, queue_id: uuid.UUID
) -> None:
    chat = await start_chat(client)
    response = await client.post(
        f"{API}/supervisor/interactions/{chat['interaction_id']}/move",
        json={"queue": "Nowhere"},
        headers=supervisor.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.queue"


async def test_a_whisper_reaches_the_agent_side_only_and_is_audited(
    client: httpx.AsyncClient, supervisor: Caller, queue_id: uuid.UUID
) -> None:
    chat = await start_chat(client)
    path = f"{API}/supervisor/interactions/{chat['interaction_id']}"

    response = await client.post(
        f"{path}/whisper", json={"body": "Ask for the case number."}, headers=supervisor.headers
    )

    assert response.status_code == 201, response.text
    whisper = response.json()
    assert (whisper["from"], whisper["internal"]) == ("supervisor", True)
    claimant = {"Authorization": f"Bearer {chat['token']}"}
    seen = await client.get(f"{API}/chats/{chat['interaction_id']}/messages", headers=claimant)
    assert [m["body"] for m in seen.json()["messages"]] == ["¿Mi pago?"]
    read = await client.get(f"{path}/messages", headers=supervisor.headers)
    assert [m["body"] for m in read.json()] == ["¿Mi pago?", "Ask for the case number."]
    actions = [e["action"] for e in await audit_entries(client, supervisor)]
    assert actions == ["interaction.monitored", "interaction.whispered"]


async def test_a_whisper_to_an_unknown_interaction_is_a_404(
    client: httpx.AsyncClient, supervisor: Caller
) -> None:
    response = await client.post(
        f"{API}/supervisor/interactions/{uuid.uuid4()}/whisper",
        json={"body": "Hello"},
        headers=supervisor.headers,
    )
    assert response.status_code == 404


async def test_alert_rules_override_the_queue_defaults_until_cleared(
    client: httpx.AsyncClient, supervisor: Caller, queue_id: uuid.UUID
) -> None:
    path = f"{API}/supervisor/queues/{queue_id}/alert-rule"
    response = await client.put(
        path, json={"max_oldest_wait_s": 120, "max_waiting": 4}, headers=supervisor.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["applied"] == {
        "min_service_level": 0.8,
        "max_oldest_wait_s": 120.0,
        "max_waiting": 4,
    }
    assert (await client.delete(path, headers=supervisor.headers)).status_code == 204
    rules = (await client.get(f"{API}/supervisor/alert-rules", headers=supervisor.headers)).json()
    [rule] = [r for r in rules if r["queue_id"] == str(queue_id)]
    assert rule["applied"]["max_oldest_wait_s"] == 60.0
    assert rule["max_waiting"] is None
    actions = [e["action"] for e in await audit_entries(client, supervisor, target_type="queue")]
    assert actions == ["alert_rule.cleared", "alert_rule.set"]


async def test_an_alert_rule_out_of_range_names_the_field(
    client: httpx.AsyncClient, supervisor: Caller, queue_id: uuid.UUID
) -> None:
    response = await client.put(
        f"{API}/supervisor/queues/{queue_id}/alert-rule",
        json={"min_service_level": 1.5},
        headers=supervisor.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.min_service_level"


async def test_changes_to_canned_responses_dispositions_skills_and_agents_are_audited(
    app: FastAPI, client: httpx.AsyncClient, supervisor: Caller
) -> None:
    headers = supervisor.headers
    canned = await client.post(
        f"{API}/canned-responses",
        json={"title": "Hi", "body": "Hello {first_name}"},
        headers=headers,
    )
    assert canned.status_code == 201, canned.text
    await client.delete(f"{API}/canned-responses/{canned.json()['id']}", headers=headers)
    disposition = await client.post(
        f"{API}/dispositions", json={"code": "resolved", "label": "Resolved"}, headers=headers
    )
    assert disposition.status_code == 201, disposition.text
    skill = await client.post(f"{API}/skills", json={"name": "snap"}, headers=headers)
    assert skill.status_code == 201, skill.text
    agent = await add_agent(app, "ana", {"ui": 5})
    skills = await client.put(
        f"{API}/agents/{agent.id}/skills",
        json={"skills": [{"skill": "snap", "proficiency": 7}]},
        headers=headers,
    )
    assert skills.status_code == 200, skills.text

    actions = [e["action"] for e in await audit_entries(client, supervisor)]

    assert actions == [
        "agent.skills_replaced",
        "skill.created",
        "disposition.created",
        "canned_response.deleted",
        "canned_response.created",
    ]


async def test_the_audit_log_pages_newest_first_and_filters_by_actor(
    app: FastAPI, client: httpx.AsyncClient, supervisor: Caller, admin_caller: Caller
) -> None:
    agent = await add_agent(app, "ana", {"ui": 5})
    for state in ("offline", "available", "offline"):
        response = await client.put(
            f"{API}/supervisor/agents/{agent.id}/state",
            json={"state": state},
            headers=supervisor.headers,
        )
        assert response.status_code == 200
    first = await client.get(f"{API}/audit-log", params={"limit": 2}, headers=admin_caller.headers)
    page = first.json()
    assert [e["details"]["to"]["state"] for e in page["items"]] == ["offline", "available"]
    second = await client.get(
        f"{API}/audit-log",
        params={"limit": 2, "cursor": page["next_cursor"]},
        headers=admin_caller.headers,
    )
    assert [e["details"]["to"]["state"] for e in second.json()["items"]] == ["offline"]
    assert second.json()["next_cursor"] is None
    mine = await audit_entries(client, admin_caller, actor_id=admin_caller.id)
    assert mine == []


async def test_the_audit_log_refuses_a_time_without_offset(
    client: httpx.AsyncClient, supervisor: Caller
) -> None:
    response = await client.get(
        f"{API}/audit-log",
        params={"created_from": "2026-12-01T09:00:00"},
        headers=supervisor.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.created_from"


async def test_an_ended_chat_can_be_neither_moved_nor_whispered_to(
    client: httpx.AsyncClient, supervisor: Caller, queue_id: uuid.UUID
) -> None:
    chat = await start_chat(client)
    path = f"{API}/supervisor/interactions/{chat['interaction_id']}"
    cancelled = await client.post(
        f"{API}/interactions/{chat['interaction_id']}/cancel", headers=supervisor.headers
    )
    assert cancelled.status_code == 200, cancelled.text

    moved = await client.post(f"{path}/move", json={"queue": QUEUE}, headers=supervisor.headers)
    whispered = await client.post(
        f"{path}/whisper", json={"body": "Too late"}, headers=supervisor.headers
    )

    assert (moved.status_code, whispered.status_code) == (409, 409)
    assert moved.json()["code"] == "interaction_ended"
    assert whispered.json()["code"] == "chat_ended"
    assert await audit_entries(client, supervisor) == []


async def test_raising_a_waiting_chats_priority_puts_it_first_in_line_and_is_audited(
    client: httpx.AsyncClient, supervisor: Caller, queue_id: uuid.UUID
) -> None:
    await start_chat(client)
    second = await start_chat(client)
    path = f"{API}/supervisor/interactions/{second['interaction_id']}/priority"

    response = await client.put(path, json={"priority": 10}, headers=supervisor.headers)

    assert response.status_code == 200, response.text
    assert (response.json()["priority"], response.json()["position"]) == (10, 1)
    [entry] = await audit_entries(client, supervisor, action="interaction.reprioritized")
    assert (entry["target_id"], entry["details"]) == (
        second["interaction_id"],
        {"from": 0, "to": 10},
    )


async def test_a_priority_out_of_range_names_the_field_and_an_agent_may_not_set_one(
    app: FastAPI, client: httpx.AsyncClient, supervisor: Caller, queue_id: uuid.UUID
) -> None:
    chat = await start_chat(client)
    path = f"{API}/supervisor/interactions/{chat['interaction_id']}/priority"
    agent = await add_agent(app, "ana", {"ui": 5}, available=False)

    too_high = await client.put(path, json={"priority": 101}, headers=supervisor.headers)
    by_agent = await client.put(path, json={"priority": 1}, headers=agent.headers)

    assert too_high.status_code == 422
    assert too_high.json()["errors"][0]["field"] == "body.priority"
    assert by_agent.status_code == 403


async def test_an_answered_chat_cannot_be_reprioritised(
    app: FastAPI, client: httpx.AsyncClient, supervisor: Caller, queue_id: uuid.UUID
) -> None:
    await add_agent(app, "ana", {"ui": 5})
    chat = await start_chat(client)  # offered to Ana at once
    path = f"{API}/supervisor/interactions/{chat['interaction_id']}/priority"

    response = await client.put(path, json={"priority": 3}, headers=supervisor.headers)

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"
    assert await audit_entries(client, supervisor) == []
