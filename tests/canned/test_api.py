"""Canned responses: supervisors manage them, agents list the active ones."""

from __future__ import annotations

import httpx
import pytest

from app.agents.models import StaffRole
from tests.conftest import Caller, CallerFactory

GREETING = {
    "title": "Greeting (Spanish)",
    "body": "Hola {first_name}, soy {agent_first_name}. ¿En qué le puedo ayudar?",
    "language": "es",
}
URL = "/api/v1/canned-responses"


@pytest.fixture
async def supervisor(staff_caller: CallerFactory) -> Caller:
    """A supervisor, who manages canned responses."""
    return await staff_caller(StaffRole.SUPERVISOR)


@pytest.fixture
async def agent(staff_caller: CallerFactory) -> Caller:
    """An agent, who only reads them."""
    return await staff_caller(StaffRole.AGENT)


async def test_a_supervisor_creates_a_canned_response_with_placeholders(
    client: httpx.AsyncClient, supervisor: Caller
) -> None:
    response = await client.post(URL, json=GREETING, headers=supervisor.headers)
    assert response.status_code == 201, response.text
    assert {key: response.json()[key] for key in GREETING} == GREETING


async def test_an_unknown_placeholder_is_refused_naming_the_body(
    client: httpx.AsyncClient, supervisor: Caller
) -> None:
    response = await client.post(
        URL, json={**GREETING, "body": "Hi {nickname}"}, headers=supervisor.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.body"
    message = response.json()["errors"][0]["message"]
    assert message.startswith("unknown placeholder {nickname}"), message  # no pydantic prefix


async def test_agents_may_not_create_canned_responses(
    client: httpx.AsyncClient, agent: Caller
) -> None:
    response = await client.post(URL, json=GREETING, headers=agent.headers)
    assert response.status_code == 403


async def test_agents_list_only_active_ones_in_their_language_or_any(
    client: httpx.AsyncClient, supervisor: Caller, agent: Caller
) -> None:
    spanish = (await client.post(URL, json=GREETING, headers=supervisor.headers)).json()
    anyone = {"title": "Hold on", "body": "One moment, please."}
    await client.post(URL, json=anyone, headers=supervisor.headers)
    english = {**anyone, "title": "English only", "language": "en"}
    await client.post(URL, json=english, headers=supervisor.headers)
    retired = (
        await client.post(URL, json={**GREETING, "title": "Old"}, headers=supervisor.headers)
    ).json()
    await client.patch(f"{URL}/{retired['id']}", json={"active": False}, headers=supervisor.headers)
    listed = await client.get(URL, params={"language": "es"}, headers=agent.headers)
    assert listed.status_code == 200, listed.text
    assert [row["title"] for row in listed.json()] == [spanish["title"], "Hold on"]


async def test_a_deleted_canned_response_is_gone(
    client: httpx.AsyncClient, supervisor: Caller
) -> None:
    created = (await client.post(URL, json=GREETING, headers=supervisor.headers)).json()
    deleted = await client.delete(f"{URL}/{created['id']}", headers=supervisor.headers)
    assert deleted.status_code == 204
    again = await client.patch(
        f"{URL}/{created['id']}", json={"title": "x"}, headers=supervisor.headers
    )
    assert again.status_code == 404
    assert again.json()["code"] == "canned_response_not_found"
