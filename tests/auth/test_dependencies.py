"""Who may call: bearer tokens, API keys, claimants, and the role check on each route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy import update

from app import clock
from app.agents.models import StaffRole
from app.auth.dependencies import CurrentPrincipal, require_roles
from app.auth.models import ApiKey
from app.auth.principals import Principal, Role
from app.auth.tokens import issue_claimant_token, issue_staff_token
from app.state import Resources
from tests.conftest import CallerFactory

SUPERVISORS = require_roles(Role.ADMIN, Role.SUPERVISOR)


@pytest.fixture
def guarded(app: FastAPI) -> FastAPI:
    """Two probe routes: one for anyone signed in, one for admins and supervisors."""

    @app.get("/probe/anyone")
    async def probe_anyone(principal: CurrentPrincipal) -> dict[str, str]:
        return {"role": principal.role.value, "kind": principal.kind.value}

    @app.get("/probe/supervisors")
    async def probe_supervisors(
        principal: Annotated[Principal, Depends(SUPERVISORS)],
    ) -> dict[str, str]:
        return {"role": principal.role.value}

    return app


def _secret(app: FastAPI) -> str:
    resources: Resources = app.state.resources
    return resources.secret_key


async def test_no_credentials_is_401_with_a_challenge(
    guarded: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.get("/probe/anyone")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "unauthenticated"


async def test_a_staff_token_is_accepted(
    guarded: FastAPI, client: httpx.AsyncClient, staff_caller: CallerFactory
) -> None:
    caller = await staff_caller(StaffRole.AGENT)
    response = await client.get("/probe/anyone", headers=caller.headers)
    assert response.json() == {"role": "agent", "kind": "staff"}


@pytest.mark.parametrize(
    "make_token",
    [
        lambda secret: "not-a-jwt",
        lambda secret: (
            issue_staff_token(
                "another-secret-another-secret-another-secret",
                staff_id="x",
                role=Role.ADMIN,
                name="x",
                now=clock.now_s(),
            ).token
        ),
        lambda secret: (
            issue_staff_token(
                secret, staff_id="x", role=Role.ADMIN, name="x", now=clock.now_s() - 3600
            ).token
        ),
    ],
    ids=["garbage", "forged", "expired"],
)
async def test_a_bad_token_is_401(
    guarded: FastAPI, client: httpx.AsyncClient, make_token: Callable[[str], str]
) -> None:
    token = make_token(_secret(guarded))
    response = await client.get("/probe/anyone", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_an_api_key_is_accepted_as_an_integrator(
    guarded: FastAPI, client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    caller = await integrator_caller()
    response = await client.get("/probe/anyone", headers=caller.headers)
    assert response.json() == {"role": "integrator", "kind": "api_key"}
    bearer = {"Authorization": "Bearer " + caller.headers["X-API-Key"]}
    assert (await client.get("/probe/anyone", headers=bearer)).status_code == 200


async def test_a_revoked_api_key_is_401(
    guarded: FastAPI, client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    caller = await integrator_caller()
    resources: Resources = guarded.state.resources
    async with resources.sessions() as session, session.begin():
        await session.execute(update(ApiKey).values(revoked_at=clock.utcnow()))
    response = await client.get("/probe/anyone", headers=caller.headers)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


async def test_a_wrong_api_key_secret_is_401(
    guarded: FastAPI, client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    caller = await integrator_caller()
    tampered = caller.headers["X-API-Key"][:-3] + "abc"
    response = await client.get("/probe/anyone", headers={"X-API-Key": tampered})
    assert response.status_code == 401


async def test_a_role_outside_the_route_is_403(
    guarded: FastAPI, client: httpx.AsyncClient, staff_caller: CallerFactory
) -> None:
    agent = await staff_caller(StaffRole.AGENT)
    response = await client.get("/probe/supervisors", headers=agent.headers)
    assert response.status_code == 403
    assert "admin, supervisor" in response.json()["detail"]
    supervisor = await staff_caller(StaffRole.SUPERVISOR)
    assert (await client.get("/probe/supervisors", headers=supervisor.headers)).status_code == 200


async def test_a_claimant_token_reaches_only_its_own_interaction(
    guarded: FastAPI, client: httpx.AsyncClient
) -> None:
    token = issue_claimant_token(
        _secret(guarded), interaction_id="i-1", name="José", now=clock.now_s()
    ).token
    response = await client.get("/probe/anyone", headers={"Authorization": f"Bearer {token}"})
    assert response.json() == {"role": "claimant", "kind": "claimant"}
    assert (
        await client.get("/probe/supervisors", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 403
