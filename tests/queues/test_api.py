"""The queues API: validation of every rule, skills by name, routing reloads, permissions."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.agents.models import StaffRole
from tests.agents.support import RecordingRouting, claimant_headers, install_recording_routing
from tests.conftest import Caller, CallerFactory

QUEUES = "/api/v1/queues"
SKILLS = "/api/v1/skills"


@pytest.fixture
def routing(app: FastAPI) -> RecordingRouting:
    return install_recording_routing(app)


@pytest.fixture
async def admin(client: httpx.AsyncClient, staff_caller: CallerFactory) -> Caller:
    """An admin, with the skills english, spanish and ui already defined."""
    caller = await staff_caller(StaffRole.ADMIN)
    for name in ("english", "spanish", "ui"):
        response = await client.post(SKILLS, json={"name": name}, headers=caller.headers)
        assert response.status_code == 201
    return caller


async def _create(client: httpx.AsyncClient, caller: Caller, **fields: Any) -> dict[str, Any]:
    response = await client.post(QUEUES, json={"name": "General", **fields}, headers=caller.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _refused(
    client: httpx.AsyncClient, caller: Caller, **fields: Any
) -> list[dict[str, str]]:
    response = await client.post(QUEUES, json={"name": "Refused", **fields}, headers=caller.headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"
    errors: list[dict[str, str]] = response.json()["errors"]
    return errors


async def test_a_queue_is_created_with_every_setting(
    client: httpx.AsyncClient, admin: Caller, routing: RecordingRouting
) -> None:
    fallback = await _create(client, admin)
    settings = {
        "name": "Seguro de Desempleo",
        "description": "Reclamos en español",
        "required_skills": [{"skill": "spanish", "min_level": 6}, {"skill": "ui", "min_level": 3}],
        "priority": 2,
        "service_level_threshold_s": 90,
        "service_level_target": 0.9,
        "max_size": 150,
        "offer_timeout_s": 20,
        "wrap_up_s": 60,
        "selection_strategy": "most_skilled",
        "aging_per_s": 0.01,
        "sticky_s": 3600,
        "busy_on_missed_offer": False,
        "time_zone": "America/Chicago",
        "weekly_hours": [{"day": "mon", "open": "08:00", "close": "17:00"}],
        "holidays": ["2026-12-25"],
        "closed_policy": "callback",
        "escalation_steps": [
            {"after_s": 120, "add_skills": [{"skill": "english", "min_level": 5}]},
            {"after_s": 600, "priority_delta": 1, "overflow_to": "General"},
        ],
    }
    response = await client.post(QUEUES, json=settings, headers=admin.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    expected_steps = [
        {
            "after_s": 120,
            "add_skills": [{"skill": "english", "min_level": 5}],
            "required_skills": None,
            "priority_delta": 0,
            "overflow_to": None,
        },
        {
            "after_s": 600,
            "add_skills": None,
            "required_skills": None,
            "priority_delta": 1,
            "overflow_to": fallback["id"],
        },
    ]
    assert body == {
        **settings,
        "escalation_steps": expected_steps,
        "id": body["id"],
        "active": True,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    fetched = await client.get(f"{QUEUES}/{body['id']}", headers=admin.headers)
    assert fetched.json() == body


async def test_defaults_fill_what_is_left_out(client: httpx.AsyncClient, admin: Caller) -> None:
    body = await _create(client, admin)
    assert body["required_skills"] == []
    assert body["selection_strategy"] == "longest_idle"
    assert body["service_level_target"] == 0.8
    assert body["max_size"] is None
    assert body["weekly_hours"] == []
    assert body["closed_policy"] == "refuse"


async def test_creating_reloads_the_committed_queue(
    client: httpx.AsyncClient, admin: Caller, routing: RecordingRouting
) -> None:
    body = await _create(client, admin)
    assert [(r.queue_id, r.committed_name) for r in routing.queues] == [
        (uuid.UUID(body["id"]), "General")
    ]


async def test_an_unknown_required_skill_is_422_naming_the_field(
    client: httpx.AsyncClient, admin: Caller, routing: RecordingRouting
) -> None:
    errors = await _refused(
        client,
        admin,
        required_skills=[{"skill": "klingon", "min_level": 6}, {"skill": "ui"}],
    )
    assert errors == [
        {"field": "body.required_skills.0.skill", "message": "there is no skill named 'klingon'"}
    ]
    assert routing.queues == []


async def test_a_deactivated_skill_cannot_be_required(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    skills = (await client.get(SKILLS, headers=admin.headers)).json()["items"]
    ui = next(item for item in skills if item["name"] == "ui")
    await client.post(f"{SKILLS}/{ui['id']}/deactivate", headers=admin.headers)
    errors = await _refused(client, admin, required_skills=[{"skill": "ui"}])
    assert "deactivated" in errors[0]["message"]


async def test_a_skill_listed_twice_is_422(client: httpx.AsyncClient, admin: Caller) -> None:
    errors = await _refused(client, admin, required_skills=[{"skill": "ui"}, {"skill": "UI"}])
    assert errors[0]["field"] == "body.required_skills"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"service_level_target": 0}, "body.service_level_target"),
        ({"service_level_target": 1.5}, "body.service_level_target"),
        ({"selection_strategy": "random"}, "body.selection_strategy"),
        ({"closed_policy": "voicemail"}, "body.closed_policy"),
        ({"max_size": 0}, "body.max_size"),
        ({"offer_timeout_s": 0}, "body.offer_timeout_s"),
        (
            {"required_skills": [{"skill": "ui", "min_level": 11}]},
            "body.required_skills.0.min_level",
        ),
        ({"time_zone": "Mars/Olympus_Mons"}, "body.time_zone"),
        ({"holidays": ["2026-02-30"]}, "body.holidays.0"),
        (
            {"weekly_hours": [{"day": "mon", "open": "8am", "close": "17:00"}]},
            "body.weekly_hours.0.open",
        ),
        (
            {"weekly_hours": [{"day": "funday", "open": "08:00", "close": "17:00"}]},
            "body.weekly_hours.0.day",
        ),
        (
            {"weekly_hours": [{"day": "mon", "open": "17:00", "close": "08:00"}]},
            "body.weekly_hours.0",
        ),
        ({"colour": "blue"}, "body.colour"),
    ],
)
async def test_a_malformed_setting_is_422_naming_the_field(
    client: httpx.AsyncClient, admin: Caller, fields: dict[str, Any], field: str
) -> None:
    errors = await _refused(client, admin, **fields)
    assert [error["field"] for error in errors] == [field]


async def test_overlapping_opening_hours_are_422(client: httpx.AsyncClient, admin: Caller) -> None:
    hours = [
        {"day": "tue", "open": "08:00", "close": "12:00"},
        {"day": "tue", "open": "11:00", "close": "15:00"},
    ]
    errors = await _refused(client, admin, weekly_hours=hours)
    assert errors[0]["field"] == "body.weekly_hours"
    assert "tue" in errors[0]["message"]


async def test_opening_hours_may_close_at_midnight(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    hours = [{"day": "sat", "open": "09:00", "close": "24:00"}]
    assert (await _create(client, admin, weekly_hours=hours))["weekly_hours"] == hours


async def test_escalation_after_s_must_increase(client: httpx.AsyncClient, admin: Caller) -> None:
    steps = [{"after_s": 300, "priority_delta": 1}, {"after_s": 300, "priority_delta": 1}]
    errors = await _refused(client, admin, escalation_steps=steps)
    assert errors[0]["field"] == "body.escalation_steps"
    assert "after_s must increase" in errors[0]["message"]


async def test_an_escalation_step_that_changes_nothing_is_422(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    errors = await _refused(client, admin, escalation_steps=[{"after_s": 60}])
    assert errors[0]["field"] == "body.escalation_steps.0"


async def test_an_overflow_step_must_be_the_last(client: httpx.AsyncClient, admin: Caller) -> None:
    await _create(client, admin)
    steps = [{"after_s": 60, "overflow_to": "General"}, {"after_s": 120, "priority_delta": 1}]
    errors = await _refused(client, admin, escalation_steps=steps)
    assert "must be the last" in errors[0]["message"]


async def test_escalation_references_are_checked(client: httpx.AsyncClient, admin: Caller) -> None:
    unknown_skill = [{"after_s": 60, "required_skills": [{"skill": "klingon"}]}]
    errors = await _refused(client, admin, escalation_steps=unknown_skill)
    assert errors[0]["field"] == "body.escalation_steps.0.required_skills.0.skill"
    unknown_queue = [{"after_s": 60, "overflow_to": "Nowhere"}]
    errors = await _refused(client, admin, escalation_steps=unknown_queue)
    assert errors[0]["field"] == "body.escalation_steps.0.overflow_to"
    to_itself = [{"after_s": 60, "overflow_to": "Refused"}]
    errors = await _refused(client, admin, escalation_steps=to_itself)
    assert errors[0]["message"] == "a queue cannot overflow to itself"


async def test_overflow_may_name_the_target_by_id(client: httpx.AsyncClient, admin: Caller) -> None:
    target = await _create(client, admin)
    steps = [{"after_s": 60, "overflow_to": target["id"], "required_skills": []}]
    response = await client.post(
        QUEUES, json={"name": "Spillover", "escalation_steps": steps}, headers=admin.headers
    )
    assert response.json()["escalation_steps"][0]["overflow_to"] == target["id"]
    assert response.json()["escalation_steps"][0]["required_skills"] == []


async def test_a_taken_name_is_409(client: httpx.AsyncClient, admin: Caller) -> None:
    await _create(client, admin)
    response = await client.post(QUEUES, json={"name": "General"}, headers=admin.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "queue_name_taken"


async def test_patch_changes_the_fields_sent_and_reloads(
    client: httpx.AsyncClient, admin: Caller, routing: RecordingRouting
) -> None:
    created = await _create(client, admin, max_size=100, required_skills=[{"skill": "ui"}])
    response = await client.patch(
        f"{QUEUES}/{created['id']}",
        json={"max_size": None, "required_skills": [{"skill": "spanish", "min_level": 4}]},
        headers=admin.headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["max_size"] is None
    assert body["required_skills"] == [{"skill": "spanish", "min_level": 4}]
    assert body["name"] == created["name"]
    assert body["updated_at"] > created["updated_at"]
    assert len(routing.queues) == 2


async def test_patch_to_a_taken_name_is_409(client: httpx.AsyncClient, admin: Caller) -> None:
    await _create(client, admin)
    other = (await client.post(QUEUES, json={"name": "Other"}, headers=admin.headers)).json()
    response = await client.patch(
        f"{QUEUES}/{other['id']}", json={"name": "General"}, headers=admin.headers
    )
    assert response.status_code == 409


async def test_patch_refuses_overflow_to_the_same_queue(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    created = await _create(client, admin)
    steps = [{"after_s": 60, "overflow_to": created["id"]}]
    response = await client.patch(
        f"{QUEUES}/{created['id']}", json={"escalation_steps": steps}, headers=admin.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.escalation_steps.0.overflow_to"


async def test_deactivate_and_activate_reload_the_committed_state(
    client: httpx.AsyncClient, admin: Caller, routing: RecordingRouting
) -> None:
    created = await _create(client, admin)
    off = await client.post(f"{QUEUES}/{created['id']}/deactivate", headers=admin.headers)
    assert off.json()["active"] is False
    on = await client.post(f"{QUEUES}/{created['id']}/activate", headers=admin.headers)
    assert on.json()["active"] is True
    assert [reload.committed_active for reload in routing.queues] == [True, False, True]


async def test_the_list_filters_pages_and_names_skills(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    first = await _create(client, admin, required_skills=[{"skill": "ui", "min_level": 2}])
    second = (await client.post(QUEUES, json={"name": "B"}, headers=admin.headers)).json()
    await client.post(QUEUES, json={"name": "C"}, headers=admin.headers)
    await client.post(f"{QUEUES}/{second['id']}/deactivate", headers=admin.headers)
    page = (
        await client.get(QUEUES, params={"active": "true", "limit": 1}, headers=admin.headers)
    ).json()
    assert [item["name"] for item in page["items"]] == ["C"]
    rest = (
        await client.get(
            QUEUES,
            params={"active": "true", "cursor": page["next_cursor"]},
            headers=admin.headers,
        )
    ).json()
    assert rest["items"] == [first]
    assert rest["next_cursor"] is None


async def test_an_unknown_id_is_404(client: httpx.AsyncClient, admin: Caller) -> None:
    missing = f"{QUEUES}/00000000-0000-0000-0000-000000000000"
    assert (await client.get(missing, headers=admin.headers)).status_code == 404
    patch = await client.patch(missing, json={"priority": 1}, headers=admin.headers)
    assert patch.status_code == 404


async def test_an_agent_reads_queues_but_cannot_edit_one(
    client: httpx.AsyncClient,
    admin: Caller,
    staff_caller: CallerFactory,
    routing: RecordingRouting,
) -> None:
    created = await _create(client, admin)
    agent = await staff_caller(StaffRole.AGENT)
    assert (await client.get(f"{QUEUES}/{created['id']}", headers=agent.headers)).status_code == 200
    patch = await client.patch(
        f"{QUEUES}/{created['id']}", json={"priority": 5}, headers=agent.headers
    )
    assert patch.status_code == 403
    assert patch.json()["code"] == "forbidden"
    assert len(routing.queues) == 1


async def test_an_integrator_reads_but_cannot_create(
    client: httpx.AsyncClient, admin: Caller, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    assert (await client.get(QUEUES, headers=integrator.headers)).status_code == 200
    response = await client.post(QUEUES, json={"name": "X"}, headers=integrator.headers)
    assert response.status_code == 403


async def test_a_supervisor_may_write(
    client: httpx.AsyncClient, admin: Caller, staff_caller: CallerFactory
) -> None:
    await _create(client, await staff_caller(StaffRole.SUPERVISOR))


async def test_a_claimant_is_403_and_no_credentials_401(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    assert (await client.get(QUEUES, headers=claimant_headers(app))).status_code == 403
    assert (await client.post(QUEUES, json={"name": "X"})).status_code == 401
