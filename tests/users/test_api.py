"""The users API: staff accounts of every role, admins only, with no self lock-out."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.agents.models import Staff, StaffRole
from app.auth.passwords import verify_password
from app.state import Resources
from tests.agents.support import RecordingRouting, claimant_headers, install_recording_routing
from tests.conftest import Caller, CallerFactory

USERS = "/api/v1/users"
PASSWORD = "correct-horse-battery"


@pytest.fixture
def routing(app: FastAPI) -> RecordingRouting:
    return install_recording_routing(app)


@pytest.fixture
async def admin(staff_caller: CallerFactory) -> Caller:
    return await staff_caller(StaffRole.ADMIN, username="root")


async def _create(
    client: httpx.AsyncClient, caller: Caller, username: str, role: str = "supervisor"
) -> dict[str, Any]:
    body = {"username": username, "password": PASSWORD, "role": role}
    response = await client.post(USERS, json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _stored_hash(app: FastAPI, user_id: str) -> str:
    resources: Resources = app.state.resources
    async with resources.sessions() as session:
        staff = await session.get(Staff, uuid.UUID(user_id))
        assert staff is not None
        return staff.password_hash


async def test_an_admin_creates_a_user_without_seeing_the_hash(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller
) -> None:
    body = {
        "username": "Sam.Supervisor",
        "password": PASSWORD,
        "role": "supervisor",
        "display_name": "Sam",
        "email": "sam@esd.example.gov",
    }
    response = await client.post(USERS, json=body, headers=admin.headers)
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {
        "id",
        "username",
        "display_name",
        "email",
        "role",
        "active",
        "last_login_at",
        "created_at",
        "updated_at",
    }
    assert (created["username"], created["role"], created["active"]) == (
        "sam.supervisor",
        "supervisor",
        True,
    )
    assert verify_password(await _stored_hash(app, created["id"]), PASSWORD)
    fetched = await client.get(f"{USERS}/{created['id']}", headers=admin.headers)
    assert fetched.json() == created


async def test_a_taken_username_is_409(client: httpx.AsyncClient, admin: Caller) -> None:
    body = {"username": "ROOT", "password": PASSWORD, "role": "agent"}
    response = await client.post(USERS, json=body, headers=admin.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "username_taken"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"role": "integrator"}, "body.role"),
        ({"password": "1234567"}, "body.password"),
        ({"username": "x"}, "body.username"),
    ],
)
async def test_a_malformed_user_is_422(
    client: httpx.AsyncClient, admin: Caller, fields: dict[str, Any], field: str
) -> None:
    body = {"username": "new.user", "password": PASSWORD, "role": "agent", **fields}
    response = await client.post(USERS, json=body, headers=admin.headers)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_the_list_filters_by_role_and_active(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    agent = await _create(client, admin, "ana", role="agent")
    retired = await _create(client, admin, "old.agent", role="agent")
    await client.post(f"{USERS}/{retired['id']}/deactivate", headers=admin.headers)
    everyone = (await client.get(USERS, headers=admin.headers)).json()
    assert [item["username"] for item in everyone["items"]] == ["old.agent", "ana", "root"]
    params = {"role": "agent", "active": "true"}
    agents = (await client.get(USERS, params=params, headers=admin.headers)).json()
    assert agents["items"] == [agent]


async def test_patch_changes_name_email_and_role(
    client: httpx.AsyncClient, admin: Caller, routing: RecordingRouting
) -> None:
    created = await _create(client, admin, "sam")
    response = await client.patch(
        f"{USERS}/{created['id']}",
        json={"display_name": "Sam S.", "email": "sam@example.gov", "role": "admin"},
        headers=admin.headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["display_name"], body["email"], body["role"]) == (
        "Sam S.",
        "sam@example.gov",
        "admin",
    )
    assert routing.agents == []


async def test_an_admin_cannot_change_their_own_role(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    response = await client.patch(
        f"{USERS}/{admin.id}", json={"role": "agent"}, headers=admin.headers
    )
    assert response.status_code == 409
    assert response.json()["code"] == "own_account"


async def test_an_admin_cannot_deactivate_themselves(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    response = await client.post(f"{USERS}/{admin.id}/deactivate", headers=admin.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "own_account"
    assert (await client.get(f"{USERS}/{admin.id}", headers=admin.headers)).json()["active"]


async def test_deactivating_and_activating_an_agent_reloads_it(
    client: httpx.AsyncClient, admin: Caller, routing: RecordingRouting
) -> None:
    created = await _create(client, admin, "ana", role="agent")
    off = await client.post(f"{USERS}/{created['id']}/deactivate", headers=admin.headers)
    assert off.json()["active"] is False
    on = await client.post(f"{USERS}/{created['id']}/activate", headers=admin.headers)
    assert on.json()["active"] is True
    assert [reload.committed_active for reload in routing.agents] == [True, False, True]


async def test_turning_an_agent_into_a_supervisor_reloads_it(
    client: httpx.AsyncClient, admin: Caller, routing: RecordingRouting
) -> None:
    created = await _create(client, admin, "ana", role="agent")
    await client.patch(
        f"{USERS}/{created['id']}", json={"role": "supervisor"}, headers=admin.headers
    )
    assert [reload.staff_id for reload in routing.agents] == [uuid.UUID(created["id"])] * 2


async def test_setting_a_password_replaces_the_hash(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller
) -> None:
    created = await _create(client, admin, "sam")
    url = f"{USERS}/{created['id']}/password"
    response = await client.post(url, json={"password": "new-horse-battery"}, headers=admin.headers)
    assert response.status_code == 204
    stored = await _stored_hash(app, created["id"])
    assert verify_password(stored, "new-horse-battery")
    assert not verify_password(stored, PASSWORD)


async def test_a_weak_password_is_422(client: httpx.AsyncClient, admin: Caller) -> None:
    created = await _create(client, admin, "sam")
    url = f"{USERS}/{created['id']}/password"
    response = await client.post(url, json={"password": "aaaaaaaaaa"}, headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.password"


async def test_an_unknown_id_is_404(client: httpx.AsyncClient, admin: Caller) -> None:
    url = f"{USERS}/00000000-0000-0000-0000-000000000000/password"
    response = await client.post(url, json={"password": PASSWORD}, headers=admin.headers)
    assert response.status_code == 404


async def test_only_admins_reach_users(
    app: FastAPI,
    client: httpx.AsyncClient,
    staff_caller: CallerFactory,
    integrator_caller: CallerFactory,
) -> None:
    body = {"username": "intruder", "password": PASSWORD, "role": "admin"}
    callers = [
        await staff_caller(StaffRole.SUPERVISOR),
        await staff_caller(StaffRole.AGENT),
        await integrator_caller(),
    ]
    for caller in callers:
        assert (await client.get(USERS, headers=caller.headers)).status_code == 403
        assert (await client.post(USERS, json=body, headers=caller.headers)).status_code == 403
    assert (await client.get(USERS, headers=claimant_headers(app))).status_code == 403
    assert (await client.post(USERS, json=body)).status_code == 401
