"""Refresh-token rotation, reuse detection, log-out and GET /auth/me."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app import clock
from app.agents.models import StaffRole
from app.auth.models import RefreshToken
from app.auth.tokens import hash_refresh_token, issue_claimant_token
from app.state import Resources
from tests.conftest import CallerFactory

REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"
SignedIn = Callable[..., Awaitable[dict[str, Any]]]


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": token})


async def test_a_refresh_returns_new_tokens_and_rotates_the_refresh_token(
    client: httpx.AsyncClient, signed_in: SignedIn
) -> None:
    first = await signed_in()
    response = await _refresh(client, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["user"] == first["user"]
    me = await client.get(ME, headers={"Authorization": f"Bearer {second['access_token']}"})
    assert me.json()["role"] == "agent"


async def test_refresh_tokens_are_stored_only_as_hashes(app: FastAPI, signed_in: SignedIn) -> None:
    body = await signed_in()
    resources: Resources = app.state.resources
    async with resources.sessions() as session:
        hashes = list(await session.scalars(select(RefreshToken.token_hash)))
    assert hashes == [hash_refresh_token(body["refresh_token"])]


async def test_reusing_a_rotated_token_is_401_and_ends_the_whole_chain(
    client: httpx.AsyncClient, signed_in: SignedIn
) -> None:
    first = await signed_in()
    second = (await _refresh(client, first["refresh_token"])).json()
    third = (await _refresh(client, second["refresh_token"])).json()

    replay = await _refresh(client, first["refresh_token"])
    assert replay.status_code == 401
    assert replay.json()["code"] == "invalid_refresh_token"
    assert "already used" in replay.json()["detail"]
    # The newest token, which the thief or the owner holds, no longer works either.
    assert (await _refresh(client, third["refresh_token"])).status_code == 401


async def test_reuse_detection_leaves_other_sign_ins_alone(
    client: httpx.AsyncClient, signed_in: SignedIn, login: Any
) -> None:
    phone = await signed_in()
    desk = (await login("maria.lopez")).json()
    await _refresh(client, phone["refresh_token"])
    assert (await _refresh(client, phone["refresh_token"])).status_code == 401
    assert (await _refresh(client, desk["refresh_token"])).status_code == 200


async def test_an_unknown_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    response = await _refresh(client, "not-a-token-we-issued")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"


async def test_an_expired_refresh_token_is_401(
    client: httpx.AsyncClient, signed_in: SignedIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = await signed_in()
    later = clock.utcnow() + timedelta(days=31)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    assert (await _refresh(client, body["refresh_token"])).status_code == 401


async def test_a_deactivated_member_of_staff_cannot_refresh(
    client: httpx.AsyncClient,
    signed_in: SignedIn,
    deactivate: Callable[[str], Awaitable[None]],
) -> None:
    body = await signed_in(username="leaving.agent")
    await deactivate("leaving.agent")
    assert (await _refresh(client, body["refresh_token"])).status_code == 401


async def test_an_empty_refresh_token_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post(REFRESH, json={"refresh_token": ""})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.refresh_token"


async def test_log_out_revokes_the_refresh_token(
    client: httpx.AsyncClient, signed_in: SignedIn
) -> None:
    body = await signed_in()
    response = await client.post(LOGOUT, json={"refresh_token": body["refresh_token"]})
    assert response.status_code == 204
    assert response.content == b""
    assert (await _refresh(client, body["refresh_token"])).status_code == 401


async def test_log_out_is_idempotent_and_says_nothing_about_unknown_tokens(
    client: httpx.AsyncClient, signed_in: SignedIn
) -> None:
    body = await signed_in()
    for token in (body["refresh_token"], body["refresh_token"], "never-issued"):
        response = await client.post(LOGOUT, json={"refresh_token": token})
        assert response.status_code == 204


async def test_log_out_after_a_rotation_ends_the_sign_in(
    client: httpx.AsyncClient, signed_in: SignedIn
) -> None:
    first = await signed_in()
    second = (await _refresh(client, first["refresh_token"])).json()
    await client.post(LOGOUT, json={"refresh_token": second["refresh_token"]})
    assert (await _refresh(client, second["refresh_token"])).status_code == 401


async def test_log_out_without_a_body_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(LOGOUT)
    assert response.status_code == 422


async def test_me_describes_a_member_of_staff(
    client: httpx.AsyncClient, staff_caller: CallerFactory
) -> None:
    caller = await staff_caller(StaffRole.SUPERVISOR, username="sam.super")
    response = await client.get(ME, headers=caller.headers)
    assert response.json() == {
        "kind": "staff",
        "role": "supervisor",
        "subject_id": caller.id,
        "name": "sam.super",
        "interaction_id": None,
    }


async def test_me_describes_an_integrator(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    caller = await integrator_caller("CRM")
    body = (await client.get(ME, headers=caller.headers)).json()
    assert (body["kind"], body["role"], body["subject_id"], body["name"]) == (
        "api_key",
        "integrator",
        caller.id,
        "CRM",
    )


async def test_me_describes_a_claimant(app: FastAPI, client: httpx.AsyncClient) -> None:
    resources: Resources = app.state.resources
    token = issue_claimant_token(
        resources.secret_key, interaction_id="i-42", name="José", now=clock.now_s()
    ).token
    body = (await client.get(ME, headers={"Authorization": f"Bearer {token}"})).json()
    assert (body["role"], body["interaction_id"]) == ("claimant", "i-42")


async def test_me_without_credentials_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


async def test_a_refresh_token_is_not_an_access_token(
    client: httpx.AsyncClient, signed_in: SignedIn
) -> None:
    body = await signed_in()
    response = await client.get(ME, headers={"Authorization": f"Bearer {body['refresh_token']}"})
    assert response.status_code == 401
