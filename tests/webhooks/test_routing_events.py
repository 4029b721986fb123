"""Routing events reach a subscriber's endpoint, signed, from the running service."""

from __future__ import annotations

import json

import httpx
from fastapi import FastAPI

from app import clock
from app.webhooks.signing import verify_signature
from tests.conftest import CallerFactory
from tests.webhooks.conftest import Receiver, eventually
from tests.world import add_agent, add_queue


async def test_an_interaction_s_events_reach_the_subscriber_signed(
    app: FastAPI,
    client: httpx.AsyncClient,
    integrator_caller: CallerFactory,
    receiver: Receiver,
) -> None:
    await add_queue(app, "UI", {"ui": 1})
    await add_agent(app, "maria", {"ui": 5})
    integrator = await integrator_caller()
    subscription = await client.post(
        "/api/v1/webhooks",
        json={
            "url": receiver.url("/hooks"),
            "event_types": ["interaction.created", "interaction.offered"],
        },
        headers=integrator.headers,
    )
    assert subscription.status_code == 201, subscription.text
    secret = subscription.json()["secret"]
    created = await client.post(
        "/api/v1/interactions",
        json={"channel": "chat", "queue": "UI"},
        headers=integrator.headers,
    )
    interaction_id = created.json()["id"]

    async def both_arrived() -> bool:
        return len(receiver.received("/hooks")) >= 2

    await eventually(both_arrived)
    deliveries = receiver.received("/hooks")
    types = [json.loads(d.body)["type"] for d in deliveries]
    assert sorted(types) == ["interaction.created", "interaction.offered"]
    for delivery in deliveries:
        signature = delivery.headers["Switchboard-Signature"]
        assert verify_signature(secret, signature, delivery.body, now=clock.now_s())
        assert json.loads(delivery.body)["data"]["interaction_id"] == interaction_id
