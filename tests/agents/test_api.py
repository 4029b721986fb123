"""The agents API: accounts with a routing profile, own-profile reads, reloads, permissions."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.agents.models import StaffRole
from tests.agents.support import RecordingRouting, claimant_headers, install_recording_routing
from tests.conftest import Caller, CallerFactory

AGENTS = "/api/v1/agents"
SKILLS = "/api/v1/skills"
PASSWORD = "correct-horse-battery"


@pytest.fixture
def routing(app: FastAPI) -> RecordingRouting:
    return install_recording_routing(app)


@pytest.fixture
async def supervisor(client: httpx.AsyncClient, staff_caller: CallerFactory) -> Caller:
    """A supervisor, with the skills english, spanish and ui already defined."""
    caller = await staff_caller(StaffRole.SUPERVISOR)
    for name in ("english", "spanish", "ui"):
        response = await client.post(SKILLS, json={"name": name}, headers=caller.headers)
        assert response.status_code == 201
    return caller


async def _create(
    client: httpx.AsyncClient, caller: Caller, username: str = "maria.lopez", **fields: Any
) -> dict[str, Any]:
    body = {"username": username, "password": PASSWORD, **fields}
    response = await client.post(AGENTS, json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_creating_an_agent_stores_account_skills_and_capacity(
    client: httpx.AsyncClient, supervisor: Caller, routing: RecordingRouting
) -> None:
    body = await _create(
        client,
        supervisor,
        username="Maria.Lopez",
        display_name="María López",
        email="maria@esd.example.gov",
        skills=[{"skill": "spanish", "proficiency": 10}, {"skill": "ui", "proficiency": 8}],
        capacity={"chat": 4, "email": 0},
    )
    assert body["username"] == "maria.lopez"
    assert body["display_name"] == "María López"
    assert body["email"] == "maria@esd.example.gov"
    assert body["skills"] == [
        {"skill": "spanish", "proficiency": 10},
        {"skill": "ui", "proficiency": 8},
    ]
    assert body["capacity"] == {"chat": 4, "email": 0}
    assert body["effective_capacity"]["chat"] == 4
    assert body["effective_capacity"]["voice"] == 1
    assert "password" not in body and "password_hash" not in body
    [reload] = routing.agents
    assert reload.staff_id == uuid.UUID(body["id"])
    assert reload.committed_skills == [("spanish", 10), ("ui", 8)]


async def test_the_agent_can_be_read_back(client: httpx.AsyncClient, supervisor: Caller) -> None:
    created = await _create(client, supervisor, skills=[{"skill": "ui", "proficiency": 3}])
    response = await client.get(f"{AGENTS}/{created['id']}", headers=supervisor.headers)
    assert response.json() == created


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"username": "no spaces"}, "body.username"),
        ({"password": "short"}, "body.password"),
        ({"password": "aaaaaaaaaaaa"}, "body.password"),
        ({"skills": [{"skill": "ui", "proficiency": 11}]}, "body.skills.0.proficiency"),
        ({"skills": [{"skill": "ui", "proficiency": 0}]}, "body.skills.0.proficiency"),
        ({"capacity": {"chat": 21}}, "body.capacity.chat"),
        ({"capacity": {"fax": 1}}, "body.capacity.fax.[key]"),
        ({"email": "not-an-address"}, "body.email"),
    ],
)
async def test_a_malformed_field_is_422_naming_it(
    client: httpx.AsyncClient, supervisor: Caller, fields: dict[str, Any], field: str
) -> None:
    body = {"username": "new.agent", "password": PASSWORD, **fields}
    response = await client.post(AGENTS, json=body, headers=supervisor.headers)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_an_unknown_skill_is_422_and_nothing_is_stored(
    client: httpx.AsyncClient, supervisor: Caller, routing: RecordingRouting
) -> None:
    body = {
        "username": "new.agent",
        "password": PASSWORD,
        "skills": [{"skill": "ui", "proficiency": 5}, {"skill": "klingon", "proficiency": 5}],
    }
    response = await client.post(AGENTS, json=body, headers=supervisor.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.skills.1.skill"
    listed = (await client.get(AGENTS, headers=supervisor.headers)).json()
    assert listed["items"] == []
    assert routing.agents == []


async def test_a_taken_username_is_409(
    client: httpx.AsyncClient, supervisor: Caller, staff_caller: CallerFactory
) -> None:
    await staff_caller(StaffRole.SUPERVISOR, username="taken")
    body = {"username": "Taken", "password": PASSWORD}
    response = await client.post(AGENTS, json=body, headers=supervisor.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "username_taken"


async def test_put_skills_replaces_them_and_reloads(
    client: httpx.AsyncClient, supervisor: Caller, routing: RecordingRouting
) -> None:
    created = await _create(client, supervisor, skills=[{"skill": "ui", "proficiency": 5}])
    skills = [{"skill": "english", "proficiency": 9}, {"skill": "spanish", "proficiency": 7}]
    response = await client.put(
        f"{AGENTS}/{created['id']}/skills", json={"skills": skills}, headers=supervisor.headers
    )
    assert response.status_code == 200
    assert response.json()["skills"] == skills
    assert routing.agents[-1].committed_skills == [("english", 9), ("spanish", 7)]


async def test_put_skills_with_a_repeated_skill_is_422(
    client: httpx.AsyncClient, supervisor: Caller
) -> None:
    created = await _create(client, supervisor)
    skills = [{"skill": "ui", "proficiency": 9}, {"skill": "ui", "proficiency": 7}]
    response = await client.put(
        f"{AGENTS}/{created['id']}/skills", json={"skills": skills}, headers=supervisor.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.skills"


async def test_patch_changes_profile_fields_and_reloads(
    client: httpx.AsyncClient, supervisor: Caller, routing: RecordingRouting
) -> None:
    created = await _create(client, supervisor, email="a@b.example", capacity={"chat": 3})
    response = await client.patch(
        f"{AGENTS}/{created['id']}",
        json={"display_name": "María", "email": None, "capacity": {"email": 8}},
        headers=supervisor.headers,
    )
    body = response.json()
    assert body["display_name"] == "María"
    assert body["email"] is None
    assert body["capacity"] == {"email": 8}
    assert len(routing.agents) == 2


async def test_deactivate_and_activate_reload_the_committed_state(
    client: httpx.AsyncClient, supervisor: Caller, routing: RecordingRouting
) -> None:
    created = await _create(client, supervisor)
    off = await client.post(f"{AGENTS}/{created['id']}/deactivate", headers=supervisor.headers)
    assert off.json()["active"] is False
    on = await client.post(f"{AGENTS}/{created['id']}/activate", headers=supervisor.headers)
    assert on.json()["active"] is True
    assert [reload.committed_active for reload in routing.agents] == [True, False, True]


async def test_the_list_holds_only_agents_and_filters(
    client: httpx.AsyncClient, supervisor: Caller
) -> None:
    spanish = await _create(
        client, supervisor, "ana", skills=[{"skill": "spanish", "proficiency": 9}]
    )
    english = await _create(
        client, supervisor, "james", skills=[{"skill": "english", "proficiency": 9}]
    )
    retired = await _create(client, supervisor, "tom")
    await client.post(f"{AGENTS}/{retired['id']}/deactivate", headers=supervisor.headers)
    everyone = (await client.get(AGENTS, headers=supervisor.headers)).json()
    assert [item["username"] for item in everyone["items"]] == ["tom", "james", "ana"]
    active = (
        await client.get(AGENTS, params={"active": "true"}, headers=supervisor.headers)
    ).json()
    assert [item["id"] for item in active["items"]] == [english["id"], spanish["id"]]
    by_skill = (
        await client.get(AGENTS, params={"skill": "Spanish"}, headers=supervisor.headers)
    ).json()
    assert by_skill["items"] == [spanish]


async def test_a_staff_member_who_is_not_an_agent_is_404(
    client: httpx.AsyncClient, supervisor: Caller
) -> None:
    response = await client.get(f"{AGENTS}/{supervisor.id}", headers=supervisor.headers)
    assert response.status_code == 404


async def test_an_agent_reads_its_own_profile_only(
    client: httpx.AsyncClient, staff_caller: CallerFactory, supervisor: Caller
) -> None:
    agent = await staff_caller(StaffRole.AGENT)
    other = await staff_caller(StaffRole.AGENT)
    own = await client.get(f"{AGENTS}/{agent.id}", headers=agent.headers)
    assert own.status_code == 200
    assert (await client.get(f"{AGENTS}/me", headers=agent.headers)).json() == own.json()
    assert (await client.get(f"{AGENTS}/{other.id}", headers=agent.headers)).status_code == 403
    assert (await client.get(AGENTS, headers=agent.headers)).status_code == 403


async def test_an_agent_cannot_change_its_own_profile(
    client: httpx.AsyncClient, staff_caller: CallerFactory, routing: RecordingRouting
) -> None:
    agent = await staff_caller(StaffRole.AGENT)
    skills = {"skills": [{"skill": "ui", "proficiency": 10}]}
    put = await client.put(f"{AGENTS}/{agent.id}/skills", json=skills, headers=agent.headers)
    assert put.status_code == 403
    patch = await client.patch(f"{AGENTS}/{agent.id}", json={"capacity": {}}, headers=agent.headers)
    assert patch.status_code == 403
    assert routing.agents == []


async def test_integrators_and_claimants_are_403_and_no_credentials_401(
    app: FastAPI, client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    assert (await client.get(AGENTS, headers=integrator.headers)).status_code == 403
    body = {"username": "x.y", "password": PASSWORD}
    assert (await client.post(AGENTS, json=body, headers=integrator.headers)).status_code == 403
    assert (await client.get(AGENTS, headers=claimant_headers(app))).status_code == 403
    assert (await client.get(AGENTS)).status_code == 401
