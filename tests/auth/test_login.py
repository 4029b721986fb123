"""POST /auth/login: who gets tokens, who is refused, and how failed attempts are throttled."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app import clock
from app.agents.models import Staff, StaffRole
from app.auth import service
from app.auth.passwords import verify_password
from app.auth.rate_limit import ACCOUNT_LIMIT
from app.state import Resources
from tests.auth.conftest import LOGIN, Login
from tests.conftest import CallerFactory

SignedIn = Callable[..., Awaitable[dict[str, Any]]]


async def test_a_correct_password_returns_tokens_and_the_user(
    client: httpx.AsyncClient, signed_in: SignedIn
) -> None:
    body = await signed_in(StaffRole.SUPERVISOR, username="linh.nguyen")
    assert body["token_type"] == "bearer"
    assert 890 <= body["expires_in"] <= 900
    assert body["refresh_expires_in"] > 29 * 24 * 3600
    assert body["user"]["username"] == "linh.nguyen"
    assert body["user"]["role"] == "supervisor"
    assert set(body["user"]) == {"id", "username", "display_name", "role"}
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["subject_id"] == body["user"]["id"]


async def test_a_log_in_records_last_login_at(app: FastAPI, signed_in: SignedIn) -> None:
    before = clock.utcnow()
    await signed_in(username="maria.lopez")
    resources: Resources = app.state.resources
    async with resources.sessions() as session:
        staff = await session.scalar(select(Staff).where(Staff.username == "maria.lopez"))
    assert staff is not None and staff.last_login_at is not None
    assert staff.last_login_at >= before


async def test_the_username_is_matched_without_case_or_surrounding_spaces(
    staff_caller: CallerFactory, login: Login
) -> None:
    await staff_caller(StaffRole.AGENT, username="maria.lopez")
    assert (await login("  Maria.Lopez ")).status_code == 200


async def test_a_wrong_password_is_401(staff_caller: CallerFactory, login: Login) -> None:
    await staff_caller(StaffRole.AGENT, username="maria.lopez")
    response = await login("maria.lopez", "wrong-password")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_credentials"
    assert "access_token" not in response.text


async def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(
    staff_caller: CallerFactory, login: Login
) -> None:
    await staff_caller(StaffRole.AGENT, username="maria.lopez")
    wrong_password = (await login("maria.lopez", "wrong-password")).json()
    unknown_user = (await login("nobody", "wrong-password")).json()
    for body in (wrong_password, unknown_user):
        del body["request_id"]
    assert unknown_user == wrong_password


async def test_an_unknown_user_still_costs_a_password_verification(
    client: httpx.AsyncClient, login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []

    def counting_verify(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return verify_password(password_hash, password)

    monkeypatch.setattr(service, "verify_password", counting_verify)
    assert (await login("nobody", "some-password")).status_code == 401
    assert len(verified) == 1
    assert verified[0].startswith("$argon2id$")


async def test_a_deactivated_account_is_401_even_with_the_right_password(
    staff_caller: CallerFactory, login: Login, deactivate: Callable[[str], Awaitable[None]]
) -> None:
    await staff_caller(StaffRole.ADMIN, username="former.admin")
    await deactivate("former.admin")
    response = await login("former.admin")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "x"}, "body.username"),
        ({"username": "maria.lopez"}, "body.password"),
        ({"username": "", "password": "x"}, "body.username"),
        ({"username": "maria.lopez", "password": 12345}, "body.password"),
        ({"username": "a" * 65, "password": "x"}, "body.username"),
    ],
    ids=["no-username", "no-password", "empty-username", "number-password", "long-username"],
)
async def test_a_malformed_body_is_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await client.post(LOGIN, json=body)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        LOGIN, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"


async def test_repeated_failures_are_429_with_retry_after_even_for_the_right_password(
    staff_caller: CallerFactory, login: Login
) -> None:
    await staff_caller(StaffRole.AGENT, username="maria.lopez")
    for _ in range(ACCOUNT_LIMIT.max_hits):
        assert (await login("maria.lopez", "wrong-password")).status_code == 401
    response = await login("maria.lopez")
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_attempts"
    retry_after = int(response.headers["retry-after"])
    assert 0 < retry_after <= ACCOUNT_LIMIT.window_s


async def test_the_throttle_is_per_address(
    app: FastAPI, staff_caller: CallerFactory, login: Login
) -> None:
    await staff_caller(StaffRole.AGENT, username="maria.lopez")
    for _ in range(ACCOUNT_LIMIT.max_hits):
        await login("maria.lopez", "wrong-password")
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        response = await elsewhere.post(
            LOGIN, json={"username": "maria.lopez", "password": "test-password-1"}
        )
    assert response.status_code == 200


async def test_log_in_works_again_after_the_window(
    staff_caller: CallerFactory, login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    await staff_caller(StaffRole.AGENT, username="maria.lopez")
    for _ in range(ACCOUNT_LIMIT.max_hits):
        await login("maria.lopez", "wrong-password")
    assert (await login("maria.lopez")).status_code == 429
    later = clock.utcnow() + timedelta(seconds=ACCOUNT_LIMIT.window_s + 1)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    assert (await login("maria.lopez")).status_code == 200
