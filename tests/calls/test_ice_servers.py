"""GET /api/v1/calls/ice-servers: the iceServers list a claimant's or staff browser gets."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from app import clock
from app.agents.models import StaffRole
from app.auth.tokens import issue_claimant_token
from app.calls.credentials import turn_password
from tests.conftest import CallerFactory
from tests.world import resources_of

URL = "/api/v1/calls/ice-servers"
SECRET = "loopback-turn-secret-for-tests"


@pytest.fixture
def turn_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """STUN and TURN set the way the issue names them (bare names); read when the app starts."""
    monkeypatch.setenv("STUN_URLS", "stun:127.0.0.1:3478")
    monkeypatch.setenv("TURN_URLS", "turn:127.0.0.1:3478?transport=udp,turn:127.0.0.1:3478")
    monkeypatch.setenv("TURN_SECRET", SECRET)
    monkeypatch.setenv("TURN_TTL_S", "600")


async def test_a_claimant_gets_stun_and_turn_with_credentials_of_its_own(
    turn_configured: None, app: FastAPI, client: httpx.AsyncClient
) -> None:
    interaction_id = str(uuid.uuid4())
    token = issue_claimant_token(
        resources_of(app).secret_key, interaction_id=interaction_id, name="Ana", now=clock.now_s()
    )
    headers = {"Authorization": f"Bearer {token.token}"}
    response = await client.get(URL, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["ttl_s"] == 600
    stun, turn = body["iceServers"]
    assert stun == {"urls": ["stun:127.0.0.1:3478"]}
    assert turn["urls"] == ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478"]
    expiry, subject = turn["username"].split(":", 1)
    assert subject == interaction_id
    assert abs(int(expiry) - (clock.now_s() + 600)) <= 2
    assert turn["credential"] == turn_password(SECRET, turn["username"])


async def test_a_staff_member_gets_credentials_named_after_its_id(
    turn_configured: None, client: httpx.AsyncClient, staff_caller: CallerFactory
) -> None:
    agent = await staff_caller(StaffRole.AGENT)
    response = await client.get(URL, headers=agent.headers)
    assert response.status_code == 200, response.text
    turn = response.json()["iceServers"][1]
    assert turn["username"].endswith(f":{agent.id}")


async def test_without_a_token_it_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(URL)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_integrator_key_is_refused(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    assert (await client.get(URL, headers=integrator.headers)).status_code == 403


async def test_without_turn_settings_there_is_no_turn_entry(
    client: httpx.AsyncClient, staff_caller: CallerFactory
) -> None:
    agent = await staff_caller(StaffRole.AGENT)
    response = await client.get(URL, headers=agent.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"iceServers": [], "ttl_s": 3600}
