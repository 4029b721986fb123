"""The dispositions API: wrap-up outcomes with a unique code, and who may manage them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.agents.models import StaffRole
from tests.agents.support import claimant_headers
from tests.conftest import Caller, CallerFactory

DISPOSITIONS = "/api/v1/dispositions"


@pytest.fixture
async def supervisor(staff_caller: CallerFactory) -> Caller:
    return await staff_caller(StaffRole.SUPERVISOR)


async def _create(
    client: httpx.AsyncClient, caller: Caller, code: str = "work_search_reviewed"
) -> dict[str, Any]:
    body = {"code": code, "label": code.replace("_", " ").capitalize()}
    response = await client.post(DISPOSITIONS, json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_a_supervisor_creates_a_disposition(
    client: httpx.AsyncClient, supervisor: Caller
) -> None:
    body = {"code": "RESEA_appointment_set", "label": " RESEA appointment set ", "description": "x"}
    response = await client.post(DISPOSITIONS, json=body, headers=supervisor.headers)
    assert response.status_code == 201
    created = response.json()
    assert (created["code"], created["label"], created["active"]) == (
        "resea_appointment_set",
        "RESEA appointment set",
        True,
    )
    fetched = await client.get(f"{DISPOSITIONS}/{created['id']}", headers=supervisor.headers)
    assert fetched.json() == created


async def test_a_taken_code_is_409(client: httpx.AsyncClient, supervisor: Caller) -> None:
    await _create(client, supervisor)
    body = {"code": "work_search_reviewed", "label": "Again"}
    response = await client.post(DISPOSITIONS, json=body, headers=supervisor.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "disposition_code_taken"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "work search", "label": "x"}, "body.code"),
        ({"code": "ok", "label": "  "}, "body.label"),
        ({"code": "ok"}, "body.label"),
    ],
)
async def test_a_malformed_disposition_is_422(
    client: httpx.AsyncClient, supervisor: Caller, body: dict[str, Any], field: str
) -> None:
    response = await client.post(DISPOSITIONS, json=body, headers=supervisor.headers)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_patch_changes_the_label_but_not_the_code(
    client: httpx.AsyncClient, supervisor: Caller
) -> None:
    created = await _create(client, supervisor)
    url = f"{DISPOSITIONS}/{created['id']}"
    renamed = await client.patch(url, json={"label": "Work search log"}, headers=supervisor.headers)
    assert renamed.json()["label"] == "Work search log"
    recoded = await client.patch(url, json={"code": "other"}, headers=supervisor.headers)
    assert recoded.status_code == 422


async def test_deactivate_and_activate_toggle_active_and_filter_the_list(
    client: httpx.AsyncClient, supervisor: Caller
) -> None:
    kept = await _create(client, supervisor, "claim_status_explained")
    retired = await _create(client, supervisor)
    off = await client.post(
        f"{DISPOSITIONS}/{retired['id']}/deactivate", headers=supervisor.headers
    )
    assert off.json()["active"] is False
    active = await client.get(DISPOSITIONS, params={"active": "true"}, headers=supervisor.headers)
    assert active.json() == {"items": [kept], "next_cursor": None}
    on = await client.post(f"{DISPOSITIONS}/{retired['id']}/activate", headers=supervisor.headers)
    assert on.json()["active"] is True


async def test_the_list_pages_with_a_cursor(client: httpx.AsyncClient, supervisor: Caller) -> None:
    for code in ("a1", "b2", "c3"):
        await _create(client, supervisor, code)
    first = (await client.get(DISPOSITIONS, params={"limit": 2}, headers=supervisor.headers)).json()
    second = (
        await client.get(
            DISPOSITIONS,
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=supervisor.headers,
        )
    ).json()
    codes = [item["code"] for item in first["items"] + second["items"]]
    assert codes == ["c3", "b2", "a1"]
    assert second["next_cursor"] is None


async def test_a_bad_cursor_is_400(client: httpx.AsyncClient, supervisor: Caller) -> None:
    response = await client.get(DISPOSITIONS, params={"cursor": "nope"}, headers=supervisor.headers)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


async def test_an_unknown_id_is_404(client: httpx.AsyncClient, supervisor: Caller) -> None:
    url = f"{DISPOSITIONS}/00000000-0000-0000-0000-000000000000/deactivate"
    assert (await client.post(url, headers=supervisor.headers)).status_code == 404


async def test_agents_and_integrators_read_but_do_not_write(
    client: httpx.AsyncClient,
    supervisor: Caller,
    staff_caller: CallerFactory,
    integrator_caller: CallerFactory,
) -> None:
    created = await _create(client, supervisor)
    for caller in (await staff_caller(StaffRole.AGENT), await integrator_caller()):
        listed = await client.get(DISPOSITIONS, headers=caller.headers)
        assert listed.json()["items"] == [created]
        body = {"code": "x1", "label": "x"}
        assert (
            await client.post(DISPOSITIONS, json=body, headers=caller.headers)
        ).status_code == 403


async def test_a_claimant_is_403_and_no_credentials_401(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    assert (await client.get(DISPOSITIONS, headers=claimant_headers(app))).status_code == 403
    assert (await client.get(DISPOSITIONS)).status_code == 401
