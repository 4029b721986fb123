"""Helpers for the sign-in tests: staff accounts with a known password, and logging in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app.agents.models import Staff, StaffRole
from app.state import Resources
from tests.conftest import CallerFactory

# The password `staff_caller` gives every account it makes.
PASSWORD = "test-password-1"
LOGIN = "/api/v1/auth/login"

Login = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
def login(client: httpx.AsyncClient) -> Login:
    """POST a username and password to the log-in endpoint."""

    async def post(username: str, password: str = PASSWORD, **kwargs: Any) -> httpx.Response:
        return await client.post(LOGIN, json={"username": username, "password": password}, **kwargs)

    return post


@pytest.fixture
def deactivate(app: FastAPI) -> Callable[[str], Awaitable[None]]:
    """Mark a staff account inactive, as an admin would."""
    resources: Resources = app.state.resources

    async def run(username: str) -> None:
        async with resources.sessions() as session, session.begin():
            await session.execute(
                update(Staff).where(Staff.username == username).values(active=False)
            )

    return run


@pytest.fixture
def signed_in(
    staff_caller: CallerFactory, login: Login
) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Make an account and log it in; returns the token response body."""

    async def run(
        role: StaffRole = StaffRole.AGENT, username: str = "maria.lopez"
    ) -> dict[str, Any]:
        await staff_caller(role, username=username)
        response = await login(username)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return run
