"""An agent's phone endpoint: kept on the profile, and sent (with the telephony's call id) in
`interaction.accepted` webhooks."""

from __future__ import annotations

import json
import uuid

import httpx
from fastapi import FastAPI

from app import clock
from app.agents.models import StaffRole
from app.calls.webhooks import with_telephony_details
from app.webhooks.outbox import OutboundEvent
from tests.calls.conftest import PHONE_ENDPOINT, Telephony
from tests.conftest import CallerFactory
from tests.webhooks.conftest import Receiver, eventually
from tests.world import resources_of

AGENTS = "/api/v1/agents"


async def test_an_agent_s_phone_endpoint_is_set_changed_and_removed(
    client: httpx.AsyncClient, staff_caller: CallerFactory
) -> None:
    admin = await staff_caller(StaffRole.ADMIN)
    created = await client.post(
        AGENTS,
        json={"username": "ana", "password": "correct-horse-battery", "phone_endpoint": " 4021 "},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["phone_endpoint"] == "4021"
    url = f"{AGENTS}/{created.json()['id']}"
    changed = await client.patch(
        url, json={"phone_endpoint": PHONE_ENDPOINT}, headers=admin.headers
    )
    assert changed.json()["phone_endpoint"] == PHONE_ENDPOINT
    assert (await client.get(url, headers=admin.headers)).json()["phone_endpoint"] == PHONE_ENDPOINT
    removed = await client.patch(url, json={"phone_endpoint": None}, headers=admin.headers)
    assert removed.json()["phone_endpoint"] is None


async def test_a_phone_endpoint_that_is_no_uri_extension_or_number_is_422(
    client: httpx.AsyncClient, staff_caller: CallerFactory
) -> None:
    admin = await staff_caller(StaffRole.ADMIN)
    for bad in ("call maria", "sip:", "12ab", "x" * 201):
        response = await client.post(
            AGENTS,
            json={"username": "ana", "password": "correct-horse-battery", "phone_endpoint": bad},
            headers=admin.headers,
        )
        assert response.status_code == 422, bad
        assert [error["field"] for error in response.json()["errors"]] == ["body.phone_endpoint"]


def _event(event_type: str, **data: object) -> OutboundEvent:
    return OutboundEvent(uuid.uuid4(), event_type, clock.utcnow(), dict(data))


async def test_accepted_events_gain_the_endpoint_and_call_id_and_others_pass_untouched(
    app: FastAPI, telephony: Telephony, staff_caller: CallerFactory
) -> None:
    interaction_id = await telephony.create_call("pbx-42")
    without = await staff_caller(StaffRole.AGENT)
    events = [
        _event("interaction.accepted", agent_id=telephony.agent.id, interaction_id=interaction_id),
        _event("interaction.accepted", agent_id=without.id, interaction_id=str(uuid.uuid4())),
        _event("interaction.offered", agent_id=telephony.agent.id, interaction_id=interaction_id),
    ]
    async with resources_of(app).sessions() as session:
        detailed = await with_telephony_details(session, events)
    assert [
        (event.data.get("phone_endpoint", "-"), event.data.get("external_id", "-"))
        for event in detailed
    ] == [(PHONE_ENDPOINT, "pbx-42"), (None, None), ("-", "-")]
    assert detailed[2] is events[2]


async def test_the_accepted_webhook_carries_the_agent_s_phone_endpoint(
    telephony: Telephony, receiver: Receiver
) -> None:
    subscribed = await telephony.client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url("/pbx"), "event_types": ["interaction.accepted"]},
        headers=telephony.pbx.headers,
    )
    assert subscribed.status_code == 201, subscribed.text
    interaction_id = await telephony.accepted_call()

    async def delivered() -> bool:
        return bool(receiver.received("/pbx"))

    await eventually(delivered)
    payload = json.loads(receiver.received("/pbx")[0].body)
    assert payload["type"] == "interaction.accepted"
    assert payload["data"]["interaction_id"] == interaction_id
    assert payload["data"]["agent_id"] == telephony.agent.id
    assert payload["data"]["phone_endpoint"] == PHONE_ENDPOINT
    assert payload["data"]["external_id"] == "pbx-7f3a9c"
