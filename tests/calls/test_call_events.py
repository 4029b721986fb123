"""POST /api/v1/interactions/{id}/call-events: a PBX's call events drive the lifecycle."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
import pytest

from app import clock
from app.agents.models import StaffRole
from tests.calls.conftest import Telephony
from tests.conftest import CallerFactory

INVALID_BODIES: list[tuple[dict[str, str], str]] = [
    ({"event": "rang"}, "body.event"),
    ({"event": "answered", "at": "2026-12-01T10:00:00"}, "body.at"),
    ({"event": "answered", "at": "2999-01-01T00:00:00Z"}, "body.at"),
    ({"event": "answered", "ended_by": "customer"}, "body.ended_by"),
    ({"event": "ended", "ended_by": "martian"}, "body.ended_by"),
    ({"event": "answered", "call_id": ""}, "body.call_id"),
    ({"event": "answered", "colour": "red"}, "body.colour"),
]


def _at(start: datetime, seconds: float) -> str:
    return (start + timedelta(seconds=seconds)).isoformat()


def _fields(response: httpx.Response) -> list[str]:
    return [error["field"] for error in response.json().get("errors", [])]


@pytest.fixture
def start() -> datetime:
    """A moment a minute ago, so that events can be placed after it without being future."""
    return clock.utcnow() - timedelta(minutes=1)


async def test_a_whole_call_keeps_its_figures_and_ends_in_wrap_up(
    telephony: Telephony, start: datetime
) -> None:
    interaction_id = await telephony.accepted_call()
    for event, second in [("answered", 0), ("held", 10), ("resumed", 25), ("held", 30)]:
        response = await telephony.post(interaction_id, event, at=_at(start, second))
        assert response.status_code == 200, response.text
    ended = await telephony.post(
        interaction_id, "ended", at=_at(start, 40), ended_by="customer", call_id="pbx-7f3a9c"
    )
    assert ended.status_code == 200, ended.text
    call = ended.json()
    assert call["interaction_state"] == "wrap_up"
    assert (call["status"], call["ended_by"], call["call_id"]) == (
        "ended",
        "customer",
        "pbx-7f3a9c",
    )
    # Holds of 15 s and 10 s (the second closed by the hang-up): 40 s connected, 15 s talking.
    assert (call["hold_s"], call["hold_count"], call["talk_s"]) == (25.0, 2, 15.0)
    assert call["held_since"] is None
    assert datetime.fromisoformat(call["connected_at"]) == start


async def test_each_event_is_in_the_interaction_s_history(
    telephony: Telephony, start: datetime
) -> None:
    interaction_id = await telephony.accepted_call()
    await telephony.post(interaction_id, "answered", at=_at(start, 0))
    await telephony.post(interaction_id, "held", at=_at(start, 5))
    await telephony.post(interaction_id, "resumed", at=_at(start, 12))
    detail = await telephony.client.get(
        f"/api/v1/interactions/{interaction_id}", headers=telephony.pbx.headers
    )
    calls = [event for event in detail.json()["events"] if event["type"].startswith("call.")]
    assert [event["type"] for event in calls] == ["call.answered", "call.held", "call.resumed"]
    assert calls[2]["data"] == {"call_id": "pbx-7f3a9c", "hold_s": 7.0}
    assert calls[0]["actor_kind"] == "integrator"


async def test_a_repeated_ended_changes_nothing(telephony: Telephony) -> None:
    interaction_id = await telephony.accepted_call()
    await telephony.post(interaction_id, "answered")
    first = await telephony.post(interaction_id, "ended", ended_by="agent")
    again = await telephony.post(interaction_id, "ended", ended_by="customer")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    detail = await telephony.client.get(
        f"/api/v1/interactions/{interaction_id}", headers=telephony.pbx.headers
    )
    types = [event["type"] for event in detail.json()["events"]]
    assert types.count("call.ended") == 1
    assert types.count("interaction.wrap_up_started") == 1


async def test_a_caller_who_hangs_up_while_waiting_abandons(telephony: Telephony) -> None:
    # Offered to the agent, who has not accepted: nobody answered.
    interaction_id = await telephony.create_call()
    response = await telephony.post(interaction_id, "ended", ended_by="customer")
    assert response.status_code == 200, response.text
    assert (response.json()["interaction_state"], response.json()["talk_s"]) == ("abandoned", None)


async def test_answered_before_an_agent_accepts_is_refused(telephony: Telephony) -> None:
    interaction_id = await telephony.create_call()
    response = await telephony.post(interaction_id, "answered")
    assert response.status_code == 409
    problem = response.json()
    assert (problem["code"], problem["interaction_state"]) == ("call_event_out_of_order", "offered")
    assert _fields(response) == ["body.event"]


async def test_events_out_of_order_are_409_and_change_nothing(telephony: Telephony) -> None:
    interaction_id = await telephony.accepted_call()
    # (event, refusal detail or None when accepted), posted in turn on one call.
    script = [
        ("held", "not been answered"),
        ("resumed", "not been answered"),
        ("answered", None),
        ("answered", "already answered"),
        ("resumed", "not on hold"),
        ("held", None),
        ("held", "already on hold"),
        ("answered", "already answered"),
        ("ended", None),
        ("held", "already ended"),
        ("answered", "already ended"),
    ]
    for event, refusal in script:
        response = await telephony.post(interaction_id, event)
        if refusal is None:
            assert response.status_code == 200, (event, response.text)
            continue
        assert response.status_code == 409, (event, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "call_event_out_of_order"
        assert refusal in response.json()["detail"], event
    history = await telephony.client.get(
        f"/api/v1/interactions/{interaction_id}", headers=telephony.pbx.headers
    )
    calls = [
        event["type"] for event in history.json()["events"] if event["type"].startswith("call.")
    ]
    assert calls == ["call.answered", "call.held", "call.ended"]


async def test_another_call_s_id_is_409_naming_the_field(telephony: Telephony) -> None:
    interaction_id = await telephony.accepted_call("pbx-1")
    response = await telephony.post(interaction_id, "answered", call_id="pbx-2")
    assert (response.status_code, response.json()["code"]) == (409, "call_id_mismatch")
    assert _fields(response) == ["body.call_id"]


async def test_a_chat_has_no_call_events(telephony: Telephony) -> None:
    created = await telephony.client.post(
        "/api/v1/interactions",
        json={"channel": "chat", "queue": "Claims line"},
        headers=telephony.pbx.headers,
    )
    response = await telephony.post(created.json()["id"], "answered")
    assert (response.status_code, response.json()["code"]) == (409, "not_a_call")


async def test_an_unknown_interaction_is_404(telephony: Telephony) -> None:
    response = await telephony.post(str(uuid.uuid4()), "answered")
    assert (response.status_code, response.json()["code"]) == (404, "interaction_not_found")


async def test_invalid_bodies_are_422_naming_the_field(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    pbx = await integrator_caller("PBX")
    url = f"/api/v1/interactions/{uuid.uuid4()}/call-events"
    for body, field in INVALID_BODIES:
        response = await client.post(url, json=body, headers=pbx.headers)
        assert response.status_code == 422, (body, response.text)
        assert _fields(response) == [field], body


async def test_an_event_before_the_previous_one_is_422(
    telephony: Telephony, start: datetime
) -> None:
    interaction_id = await telephony.accepted_call()
    await telephony.post(interaction_id, "answered", at=_at(start, 30))
    response = await telephony.post(interaction_id, "held", at=_at(start, 10))
    assert response.status_code == 422
    assert _fields(response) == ["body.at"]


async def test_only_an_integrator_or_an_admin_posts_call_events(
    telephony: Telephony, staff_caller: CallerFactory
) -> None:
    interaction_id = await telephony.accepted_call()
    url = f"/api/v1/interactions/{interaction_id}/call-events"
    refused = await telephony.client.post(
        url, json={"event": "answered"}, headers=telephony.agent.headers
    )
    assert refused.status_code == 403
    admin = await staff_caller(StaffRole.ADMIN)
    allowed = await telephony.client.post(url, json={"event": "answered"}, headers=admin.headers)
    assert allowed.status_code == 200, allowed.text


async def test_the_call_can_be_read_before_and_after_events(telephony: Telephony) -> None:
    interaction_id = await telephony.accepted_call()
    url = f"/api/v1/interactions/{interaction_id}/call"
    before = await telephony.client.get(url, headers=telephony.agent.headers)
    assert before.status_code == 200, before.text
    assert (before.json()["status"], before.json()["call_id"]) == ("ringing", "pbx-7f3a9c")
    await telephony.post(interaction_id, "answered")
    await telephony.post(interaction_id, "held")
    during = (await telephony.client.get(url, headers=telephony.pbx.headers)).json()
    assert (during["status"], during["hold_count"]) == ("held", 1)
    assert during["held_since"] is not None
