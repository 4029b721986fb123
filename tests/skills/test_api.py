"""The skills API: create, read, list, update, (de)activate, and who may do each."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.agents.models import StaffRole
from tests.agents.support import claimant_headers
from tests.conftest import Caller, CallerFactory

SKILLS = "/api/v1/skills"


@pytest.fixture
async def admin(staff_caller: CallerFactory) -> Caller:
    return await staff_caller(StaffRole.ADMIN)


async def _create(
    client: httpx.AsyncClient, caller: Caller, name: str, kind: str = "language"
) -> dict[str, object]:
    response = await client.post(SKILLS, json={"name": name, "kind": kind}, headers=caller.headers)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_an_admin_creates_a_skill(client: httpx.AsyncClient, admin: Caller) -> None:
    response = await client.post(
        SKILLS,
        json={"name": "spanish", "kind": "language", "description": "Spanish / Español"},
        headers=admin.headers,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "spanish"
    assert body["kind"] == "language"
    assert body["description"] == "Spanish / Español"
    assert body["active"] is True
    fetched = await client.get(f"{SKILLS}/{body['id']}", headers=admin.headers)
    assert fetched.json() == body


async def test_a_name_is_trimmed_and_lower_cased(client: httpx.AsyncClient, admin: Caller) -> None:
    body = await _create(client, admin, "  Paid_Leave ")
    assert body["name"] == "paid_leave"


async def test_a_name_that_is_not_a_slug_is_422(client: httpx.AsyncClient, admin: Caller) -> None:
    response = await client.post(SKILLS, json={"name": "paid leave"}, headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.name"


async def test_a_taken_name_is_409(client: httpx.AsyncClient, admin: Caller) -> None:
    await _create(client, admin, "spanish")
    response = await client.post(SKILLS, json={"name": "Spanish"}, headers=admin.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "skill_name_taken"


async def test_an_unknown_kind_is_422(client: httpx.AsyncClient, admin: Caller) -> None:
    response = await client.post(SKILLS, json={"name": "x1", "kind": "food"}, headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.kind"


async def test_patch_changes_only_the_fields_sent(client: httpx.AsyncClient, admin: Caller) -> None:
    created = await _create(client, admin, "resea", kind="other")
    response = await client.patch(
        f"{SKILLS}/{created['id']}", json={"kind": "program"}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json()["kind"] == "program"
    assert response.json()["description"] == created["description"]


async def test_the_name_cannot_be_patched(client: httpx.AsyncClient, admin: Caller) -> None:
    created = await _create(client, admin, "resea")
    response = await client.patch(
        f"{SKILLS}/{created['id']}", json={"name": "other"}, headers=admin.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.name"


async def test_patch_refuses_null_for_a_required_field(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    created = await _create(client, admin, "resea")
    response = await client.patch(
        f"{SKILLS}/{created['id']}", json={"kind": None}, headers=admin.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.kind"


async def test_deactivate_and_activate_toggle_active(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    created = await _create(client, admin, "russian")
    off = await client.post(f"{SKILLS}/{created['id']}/deactivate", headers=admin.headers)
    assert off.status_code == 200
    assert off.json()["active"] is False
    on = await client.post(f"{SKILLS}/{created['id']}/activate", headers=admin.headers)
    assert on.json()["active"] is True


async def test_an_unknown_id_is_404(client: httpx.AsyncClient, admin: Caller) -> None:
    response = await client.get(
        f"{SKILLS}/00000000-0000-0000-0000-000000000000", headers=admin.headers
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_the_list_pages_with_a_cursor(client: httpx.AsyncClient, admin: Caller) -> None:
    for name in ("english", "spanish", "vietnamese"):
        await _create(client, admin, name)
    first = (await client.get(SKILLS, params={"limit": 2}, headers=admin.headers)).json()
    assert [item["name"] for item in first["items"]] == ["vietnamese", "spanish"]
    second = (
        await client.get(
            SKILLS, params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin.headers
        )
    ).json()
    assert [item["name"] for item in second["items"]] == ["english"]
    assert second["next_cursor"] is None


async def test_the_list_filters_by_active_and_kind(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    english = await _create(client, admin, "english")
    await _create(client, admin, "ui", kind="program")
    await client.post(f"{SKILLS}/{english['id']}/deactivate", headers=admin.headers)
    active = (await client.get(SKILLS, params={"active": "true"}, headers=admin.headers)).json()
    assert [item["name"] for item in active["items"]] == ["ui"]
    languages = (
        await client.get(SKILLS, params={"kind": "language"}, headers=admin.headers)
    ).json()
    assert [item["name"] for item in languages["items"]] == ["english"]


async def test_a_supervisor_may_write(
    client: httpx.AsyncClient, staff_caller: CallerFactory
) -> None:
    supervisor = await staff_caller(StaffRole.SUPERVISOR)
    await _create(client, supervisor, "employer", kind="program")


async def test_agents_and_integrators_read_but_do_not_write(
    client: httpx.AsyncClient,
    admin: Caller,
    staff_caller: CallerFactory,
    integrator_caller: CallerFactory,
) -> None:
    created = await _create(client, admin, "spanish")
    for caller in (await staff_caller(StaffRole.AGENT), await integrator_caller()):
        assert (await client.get(SKILLS, headers=caller.headers)).status_code == 200
        assert (
            await client.post(SKILLS, json={"name": "x1"}, headers=caller.headers)
        ).status_code == 403
        patch = await client.patch(
            f"{SKILLS}/{created['id']}", json={"description": "x"}, headers=caller.headers
        )
        assert patch.status_code == 403
        deactivate = await client.post(
            f"{SKILLS}/{created['id']}/deactivate", headers=caller.headers
        )
        assert deactivate.status_code == 403


async def test_a_claimant_is_403_and_no_credentials_401(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    assert (await client.get(SKILLS, headers=claimant_headers(app))).status_code == 403
    response = await client.get(SKILLS)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
