"""The webhooks API: who may manage subscriptions, validation, secrets shown once,
deliveries listed, retried and pinged."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from app.agents.models import StaffRole
from app.state import Resources
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from tests.conftest import Caller, CallerFactory

WEBHOOKS = "/api/v1/webhooks"
# Nothing listens on port 9: if the app's dispatcher runs, it only ever reaches 127.0.0.1.
BODY = {
    "url": "http://127.0.0.1:9/hooks/switchboard",
    "event_types": ["interaction.created", "interaction.completed"],
    "description": "CRM case sync",
}


async def _create(client: httpx.AsyncClient, caller: Caller, **changes: Any) -> dict[str, Any]:
    response = await client.post(WEBHOOKS, json=BODY | changes, headers=caller.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _stored_secret(app: FastAPI, subscription_id: str) -> str:
    resources: Resources = app.state.resources
    async with resources.sessions() as session:
        secret = await session.scalar(
            select(WebhookSubscription.secret).where(
                WebhookSubscription.id == uuid.UUID(subscription_id)
            )
        )
    assert secret is not None
    return secret


# --- create, read, secrets ------------------------------------------------------------


async def test_an_admin_creates_a_subscription_and_sees_its_secret_once(
    app: FastAPI, client: httpx.AsyncClient, staff_caller: CallerFactory
) -> None:
    admin = await staff_caller(StaffRole.ADMIN)
    response = await client.post(WEBHOOKS, json=BODY, headers=admin.headers)
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    assert created["secret"].startswith("whsec_") and len(created["secret"]) >= 43
    assert created["secret"] == await _stored_secret(app, created["id"])
    assert (created["url"], created["event_types"], created["active"]) == (
        BODY["url"],
        BODY["event_types"],
        True,
    )
    assert (created["created_by"], created["created_by_api_key_id"]) == (admin.id, None)
    shown = await client.get(f"{WEBHOOKS}/{created['id']}", headers=admin.headers)
    assert shown.status_code == 200
    assert "secret" not in shown.json()
    listed = await client.get(WEBHOOKS, headers=admin.headers)
    assert all("secret" not in item for item in listed.json()["items"])


async def test_a_given_secret_is_used_as_is(
    app: FastAPI, client: httpx.AsyncClient, staff_caller: CallerFactory
) -> None:
    admin = await staff_caller()
    secret = "my-own-secret-that-is-long-enough-0123"
    created = await _create(client, admin, secret=secret)
    assert created["secret"] == secret == await _stored_secret(app, created["id"])


async def test_an_integrator_owns_what_it_creates(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    created = await _create(client, integrator)
    assert (created["created_by"], created["created_by_api_key_id"]) == (None, integrator.id)


async def test_rotating_the_secret_replaces_it_and_shows_the_new_one_once(
    app: FastAPI, client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    created = await _create(client, integrator)
    response = await client.post(
        f"{WEBHOOKS}/{created['id']}/rotate-secret", headers=integrator.headers
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    rotated = response.json()["secret"]
    assert rotated != created["secret"]
    assert rotated == await _stored_secret(app, created["id"])


# --- who may call -----------------------------------------------------------------------


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.SUPERVISOR])
async def test_agents_and_supervisors_are_refused(
    client: httpx.AsyncClient, staff_caller: CallerFactory, role: StaffRole
) -> None:
    caller = await staff_caller(role)
    assert (await client.post(WEBHOOKS, json=BODY, headers=caller.headers)).status_code == 403
    response = await client.get(WEBHOOKS, headers=caller.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_an_anonymous_caller_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get(WEBHOOKS)).status_code == 401


async def test_an_integrator_cannot_see_or_touch_another_integrators_subscription(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    owner, other = await integrator_caller("CRM"), await integrator_caller("Survey")
    created = await _create(client, owner)
    path = f"{WEBHOOKS}/{created['id']}"
    listed = await client.get(WEBHOOKS, headers=other.headers)
    assert listed.json()["items"] == []
    attempts = [
        client.get(path, headers=other.headers),
        client.patch(path, json={"active": False}, headers=other.headers),
        client.post(f"{path}/rotate-secret", headers=other.headers),
        client.get(f"{path}/deliveries", headers=other.headers),
        client.post(f"{path}/ping", headers=other.headers),
        client.delete(path, headers=other.headers),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 404, response.request.url
        assert response.json()["code"] == "not_found"
    assert (await client.get(path, headers=owner.headers)).json()["active"] is True


async def test_an_admin_sees_every_subscription(
    client: httpx.AsyncClient, staff_caller: CallerFactory, integrator_caller: CallerFactory
) -> None:
    admin, integrator = await staff_caller(), await integrator_caller()
    mine = await _create(client, admin)
    theirs = await _create(client, integrator)
    listed = await client.get(WEBHOOKS, headers=admin.headers)
    assert {item["id"] for item in listed.json()["items"]} == {mine["id"], theirs["id"]}
    assert (await client.get(f"{WEBHOOKS}/{theirs['id']}", headers=admin.headers)).is_success


# --- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "ftp://files.example.org/in"}, "body.url"),
        ({"url": "https://"}, "body.url"),
        ({"url": "crm.example.org/hooks"}, "body.url"),
        ({"url": "https://crm.example.org/a b"}, "body.url"),
        ({"event_types": ["interaction.created", "interaction.exploded"]}, "body.event_types"),
        ({"event_types": []}, "body.event_types"),
        ({"event_types": ["ping"]}, "body.event_types"),
        ({"secret": "too-short"}, "body.secret"),
        ({"colour": "blue"}, "body.colour"),
    ],
)
async def test_invalid_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient, integrator_caller: CallerFactory, change: dict[str, Any], field: str
) -> None:
    admin = await integrator_caller()
    response = await client.post(WEBHOOKS, json=BODY | change, headers=admin.headers)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert [error["field"] for error in body["errors"]] == [field]


async def test_an_unknown_event_type_is_named_in_the_message(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    admin = await integrator_caller()
    response = await client.post(
        WEBHOOKS, json=BODY | {"event_types": ["interaction.exploded"]}, headers=admin.headers
    )
    assert "interaction.exploded" in response.json()["errors"][0]["message"]


async def test_repeated_event_types_are_kept_once(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    admin = await integrator_caller()
    types = ["agent.state_changed", "interaction.created", "agent.state_changed"]
    created = await _create(client, admin, event_types=types)
    assert created["event_types"] == ["agent.state_changed", "interaction.created"]


async def test_an_update_is_validated_like_a_create(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    admin = await integrator_caller()
    created = await _create(client, admin)
    response = await client.patch(
        f"{WEBHOOKS}/{created['id']}", json={"url": "mailto:x@y.z"}, headers=admin.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.url"


async def test_an_unknown_or_malformed_id_is_404_or_422(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    admin = await integrator_caller()
    missing = "00000000-0000-4000-8000-000000000000"
    response = await client.get(f"{WEBHOOKS}/{missing}", headers=admin.headers)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert (await client.get(f"{WEBHOOKS}/nope", headers=admin.headers)).status_code == 422


# --- update, delete, list -----------------------------------------------------------


async def test_patch_changes_only_the_fields_given(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    created = await _create(client, integrator)
    response = await client.patch(
        f"{WEBHOOKS}/{created['id']}",
        json={"event_types": ["agent.state_changed"], "active": False},
        headers=integrator.headers,
    )
    assert response.status_code == 200
    updated = response.json()
    assert (updated["event_types"], updated["active"]) == (["agent.state_changed"], False)
    assert (updated["url"], updated["description"]) == (created["url"], created["description"])


async def test_delete_removes_the_subscription(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    created = await _create(client, integrator)
    path = f"{WEBHOOKS}/{created['id']}"
    assert (await client.post(f"{path}/ping", headers=integrator.headers)).status_code == 202
    assert (await client.delete(path, headers=integrator.headers)).status_code == 204
    assert (await client.get(path, headers=integrator.headers)).status_code == 404
    assert (await client.delete(path, headers=integrator.headers)).status_code == 404


async def test_the_list_pages_newest_first_with_a_cursor(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    ids = [(await _create(client, integrator))["id"] for _ in range(3)]
    first = (await client.get(WEBHOOKS, params={"limit": 2}, headers=integrator.headers)).json()
    second = (
        await client.get(
            WEBHOOKS,
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=integrator.headers,
        )
    ).json()
    seen = [item["id"] for item in first["items"] + second["items"]]
    assert seen == list(reversed(ids))
    assert second["next_cursor"] is None


# --- deliveries: ping, list, retry ----------------------------------------------------


async def test_ping_queues_a_ping_delivery_listed_with_its_state(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    created = await _create(client, integrator)
    path = f"{WEBHOOKS}/{created['id']}"
    response = await client.post(f"{path}/ping", headers=integrator.headers)
    assert response.status_code == 202
    ping = response.json()
    assert (ping["event_type"], ping["status"], ping["attempts"]) == ("ping", "pending", 0)
    assert ping["payload"]["type"] == "ping"
    assert ping["payload"]["data"] == {"subscription_id": created["id"]}
    listed = (await client.get(f"{path}/deliveries", headers=integrator.headers)).json()
    [item] = listed["items"]
    # Only what a dispatcher running meanwhile cannot change (it may have tried once).
    assert {key: item[key] for key in ("id", "event_id", "event_type", "status")} == {
        key: ping[key] for key in ("id", "event_id", "event_type", "status")
    }
    expected = {"attempts", "next_attempt_at", "last_status_code", "last_error", "delivered_at"}
    assert expected <= item.keys()


async def test_ping_on_an_inactive_subscription_is_409(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    created = await _create(client, integrator)
    path = f"{WEBHOOKS}/{created['id']}"
    await client.patch(path, json={"active": False}, headers=integrator.headers)
    response = await client.post(f"{path}/ping", headers=integrator.headers)
    assert (response.status_code, response.json()["code"]) == (409, "webhook_inactive")


async def test_deliveries_filter_by_status_and_page_with_a_cursor(
    app: FastAPI, client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    created = await _create(client, integrator)
    path = f"{WEBHOOKS}/{created['id']}"
    ids = [
        (await client.post(f"{path}/ping", headers=integrator.headers)).json()["id"]
        for _ in range(3)
    ]
    await _set_status(app, ids[0], DeliveryStatus.DEAD)
    dead = await client.get(
        f"{path}/deliveries", params={"status": "dead"}, headers=integrator.headers
    )
    assert [item["id"] for item in dead.json()["items"]] == [ids[0]]
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(3):
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = (
            await client.get(f"{path}/deliveries", params=params, headers=integrator.headers)
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == list(reversed(ids))
    assert cursor is None


@pytest.mark.parametrize(
    ("params", "status"), [({"status": "lost"}, 422), ({"cursor": "not-a-cursor"}, 400)]
)
async def test_bad_delivery_list_parameters_are_refused(
    client: httpx.AsyncClient,
    integrator_caller: CallerFactory,
    params: dict[str, str],
    status: int,
) -> None:
    integrator = await integrator_caller()
    created = await _create(client, integrator)
    response = await client.get(
        f"{WEBHOOKS}/{created['id']}/deliveries", params=params, headers=integrator.headers
    )
    assert response.status_code == status


async def test_a_dead_delivery_can_be_retried_back_to_pending(
    app: FastAPI, client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    created = await _create(client, integrator)
    path = f"{WEBHOOKS}/{created['id']}"
    delivery = (await client.post(f"{path}/ping", headers=integrator.headers)).json()
    await _set_status(app, delivery["id"], DeliveryStatus.DEAD, attempts=15)
    response = await client.post(
        f"{path}/deliveries/{delivery['id']}/retry", headers=integrator.headers
    )
    assert response.status_code == 200
    retried = response.json()
    assert (retried["status"], retried["attempts"]) == ("pending", 0)
    assert retried["next_attempt_at"] is not None


async def test_retrying_a_delivery_that_is_not_dead_is_409(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    created = await _create(client, integrator)
    path = f"{WEBHOOKS}/{created['id']}"
    delivery = (await client.post(f"{path}/ping", headers=integrator.headers)).json()
    response = await client.post(
        f"{path}/deliveries/{delivery['id']}/retry", headers=integrator.headers
    )
    assert (response.status_code, response.json()["code"]) == (409, "delivery_not_dead")


async def test_a_subscription_list_cursor_is_not_a_delivery_cursor(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    ids = [(await _create(client, integrator))["id"] for _ in range(2)]
    page = (await client.get(WEBHOOKS, params={"limit": 1}, headers=integrator.headers)).json()
    response = await client.get(
        f"{WEBHOOKS}/{ids[0]}/deliveries",
        params={"cursor": page["next_cursor"]},
        headers=integrator.headers,
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_cursor")


async def test_an_out_of_range_delivery_id_is_422(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    created = await _create(client, integrator)
    response = await client.post(
        f"{WEBHOOKS}/{created['id']}/deliveries/{2**64}/retry", headers=integrator.headers
    )
    assert response.status_code == 422


async def test_retrying_another_subscriptions_delivery_is_404(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    first, second = await _create(client, integrator), await _create(client, integrator)
    delivery = (
        await client.post(f"{WEBHOOKS}/{first['id']}/ping", headers=integrator.headers)
    ).json()
    response = await client.post(
        f"{WEBHOOKS}/{second['id']}/deliveries/{delivery['id']}/retry", headers=integrator.headers
    )
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


async def test_the_openapi_document_describes_every_webhook_route(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    operations = [
        operation
        for path, item in paths.items()
        if path.startswith(WEBHOOKS)
        for operation in item.values()
    ]
    assert len(operations) == 9
    assert all(operation["summary"] and operation["description"] for operation in operations)
    assert all("403" in operation["responses"] for operation in operations)


async def _set_status(
    app: FastAPI, delivery_id: int, status: DeliveryStatus, *, attempts: int = 1
) -> None:
    resources: Resources = app.state.resources
    async with resources.sessions() as session, session.begin():
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(status=status, attempts=attempts)
        )
