"""/api-keys: only admins manage keys; a revoked or expired key is refused at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from app import clock
from app.agents.models import StaffRole
from app.auth.api_keys import VERIFIED_KEY_TTL_S
from app.auth.models import ApiKey
from app.state import Resources
from tests.conftest import Caller, CallerFactory

KEYS = "/api/v1/api-keys"
ME = "/api/v1/auth/me"


@pytest.fixture
async def admin(staff_caller: CallerFactory) -> Caller:
    """A signed-in admin."""
    return await staff_caller(StaffRole.ADMIN)


async def _create(client: httpx.AsyncClient, admin: Caller, **body: Any) -> dict[str, Any]:
    response = await client.post(KEYS, json={"name": "CRM sync", **body}, headers=admin.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_an_admin_creates_a_key_and_sees_the_plaintext_once(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    created = await _create(client, admin, expires_at="2099-01-01T00:00:00Z")
    assert created["key"].startswith(f"sb_{created['prefix']}_")
    assert created["name"] == "CRM sync"
    assert created["role"] == "integrator"
    assert created["created_by"] == admin.id
    assert created["expires_at"].startswith("2099-01-01T00:00:00")
    assert created["revoked_at"] is None
    read = (await client.get(f"{KEYS}/{created['id']}", headers=admin.headers)).json()
    assert "key" not in read
    assert "key_hash" not in read
    assert read == {name: value for name, value in created.items() if name != "key"}


async def test_the_new_key_authenticates_as_an_integrator(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    created = await _create(client, admin)
    response = await client.get(ME, headers={"X-API-Key": created["key"]})
    assert response.json()["role"] == "integrator"
    assert response.json()["subject_id"] == created["id"]


async def test_the_plaintext_key_is_never_stored(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller
) -> None:
    created = await _create(client, admin)
    resources: Resources = app.state.resources
    async with resources.sessions() as session:
        row = await session.scalar(select(ApiKey))
    assert row is not None
    secret = created["key"].split("_", 2)[2]
    assert secret not in (row.key_hash, row.prefix, row.name)


async def test_a_revoked_key_is_refused_at_once(client: httpx.AsyncClient, admin: Caller) -> None:
    created = await _create(client, admin)
    integrator = {"X-API-Key": created["key"]}
    assert (await client.get(ME, headers=integrator)).status_code == 200
    response = await client.post(f"{KEYS}/{created['id']}/revoke", headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    refused = await client.get(ME, headers=integrator)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]


async def test_a_key_revoked_by_another_process_is_refused_within_seconds(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = await _create(client, admin)
    integrator = {"X-API-Key": created["key"]}
    assert (await client.get(ME, headers=integrator)).status_code == 200
    resources: Resources = app.state.resources
    async with resources.sessions() as session:
        await session.execute(update(ApiKey).values(revoked_at=clock.utcnow()))
        await session.commit()
    # Trusted a few seconds more by this process, which did not see the revocation ...
    assert (await client.get(ME, headers=integrator)).status_code == 200
    later = clock.utcnow() + timedelta(seconds=VERIFIED_KEY_TTL_S)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    # ... and no longer.
    assert (await client.get(ME, headers=integrator)).status_code == 401


async def test_revoking_twice_keeps_the_first_revocation_time(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    created = await _create(client, admin)
    first = (await client.post(f"{KEYS}/{created['id']}/revoke", headers=admin.headers)).json()
    second = await client.post(f"{KEYS}/{created['id']}/revoke", headers=admin.headers)
    assert second.status_code == 200
    assert second.json()["revoked_at"] == first["revoked_at"]


async def test_an_expired_key_is_refused(
    client: httpx.AsyncClient, admin: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    expires_at = clock.utcnow() + timedelta(hours=1)
    created = await _create(client, admin, expires_at=expires_at.isoformat())
    assert (await client.get(ME, headers={"X-API-Key": created["key"]})).status_code == 200
    later = expires_at + timedelta(seconds=1)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    assert (await client.get(ME, headers={"X-API-Key": created["key"]})).status_code == 401


async def test_using_a_key_records_last_used_at_at_most_once_a_minute(
    client: httpx.AsyncClient, admin: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = await _create(client, admin)
    assert created["last_used_at"] is None
    url = f"{KEYS}/{created['id']}"
    await client.get(ME, headers={"X-API-Key": created["key"]})
    first_use = (await client.get(url, headers=admin.headers)).json()["last_used_at"]
    assert first_use is not None

    soon = clock.utcnow() + timedelta(seconds=30)
    monkeypatch.setattr(clock, "utcnow", lambda: soon)
    await client.get(ME, headers={"X-API-Key": created["key"]})
    assert (await client.get(url, headers=admin.headers)).json()["last_used_at"] == first_use

    later = soon + timedelta(seconds=60)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    await client.get(ME, headers={"X-API-Key": created["key"]})
    assert (await client.get(url, headers=admin.headers)).json()["last_used_at"] != first_use


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.SUPERVISOR])
async def test_staff_other_than_admins_cannot_create_keys(
    client: httpx.AsyncClient, staff_caller: CallerFactory, role: StaffRole
) -> None:
    caller = await staff_caller(role)
    response = await client.post(KEYS, json={"name": "mine"}, headers=caller.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_an_integrator_cannot_create_or_list_keys(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    caller = await integrator_caller()
    assert (await client.post(KEYS, json={"name": "x"}, headers=caller.headers)).status_code == 403
    assert (await client.get(KEYS, headers=caller.headers)).status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", KEYS), ("GET", KEYS), ("GET", f"{KEYS}/{'0' * 32}"), ("POST", f"{KEYS}/x/revoke")],
)
async def test_no_credentials_is_401(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path, json={"name": "x"})
    assert response.status_code == 401


async def test_an_agent_cannot_read_or_revoke_keys(
    client: httpx.AsyncClient, admin: Caller, staff_caller: CallerFactory
) -> None:
    created = await _create(client, admin)
    agent = await staff_caller(StaffRole.AGENT)
    assert (await client.get(f"{KEYS}/{created['id']}", headers=agent.headers)).status_code == 403
    revoke = await client.post(f"{KEYS}/{created['id']}/revoke", headers=agent.headers)
    assert revoke.status_code == 403
    assert (await client.get(ME, headers={"X-API-Key": created["key"]})).status_code == 200


async def test_the_list_pages_through_every_key_newest_first_without_secrets(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    made = [(await _create(client, admin, name=f"key {number}"))["id"] for number in range(5)]
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(KEYS, params=params, headers=admin.headers)).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [item["id"] for item in seen] == list(reversed(made))
    assert all("key" not in item and "key_hash" not in item for item in seen)


async def test_an_unknown_key_id_is_404(client: httpx.AsyncClient, admin: Caller) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await client.get(f"{KEYS}/{unknown}", headers=admin.headers)).status_code == 404
    response = await client.post(f"{KEYS}/{unknown}/revoke", headers=admin.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_a_malformed_key_id_is_422(client: httpx.AsyncClient, admin: Caller) -> None:
    response = await client.get(f"{KEYS}/not-a-uuid", headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "path.key_id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.name"),
        ({"name": "   "}, "body.name"),
        ({"name": "x" * 101}, "body.name"),
        ({"name": "CRM", "expires_at": "2099-01-01T00:00:00"}, "body.expires_at"),
        ({"name": "CRM", "expires_at": "next tuesday"}, "body.expires_at"),
        ({"name": "CRM", "expires_at": "2001-01-01T00:00:00Z"}, "body.expires_at"),
    ],
    ids=["no-name", "blank-name", "long-name", "naive-expiry", "garbage-expiry", "past-expiry"],
)
async def test_a_malformed_body_is_422_naming_the_field(
    client: httpx.AsyncClient, admin: Caller, body: dict[str, Any], field: str
) -> None:
    response = await client.post(KEYS, json=body, headers=admin.headers)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]
