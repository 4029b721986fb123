"""Health endpoints, request ids and problem+json for errors the foundation can raise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.settings import load_settings


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_database_and_bus_ready(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "bus": "ok", "routing": "ok"}
    backend = app.state.resources.settings.database_backend
    assert (body["database_backend"], body["bus_backend"]) == (backend, "in-process")


@pytest.fixture
async def unreachable_database_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose database is a PostgreSQL port on which nothing listens."""
    settings = load_settings(data_dir=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none")
    application: FastAPI = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield http


async def test_readyz_is_503_naming_the_database_when_it_does_not_answer(
    unreachable_database_client: httpx.AsyncClient,
) -> None:
    response = await unreachable_database_client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["status"] == 503
    assert body["checks"]["bus"] == "ok"
    assert body["checks"]["database"] != "ok"
    assert body["checks"]["routing"].startswith("starting")
    assert body["detail"].startswith("database:")


async def test_every_response_carries_a_generated_request_id(client: httpx.AsyncClient) -> None:
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    assert len(first.headers["x-request-id"]) == 32
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_well_formed_incoming_request_id_is_kept(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "lb-7f3a:42"})
    assert response.headers["x-request-id"] == "lb-7f3a:42"


async def test_a_malformed_incoming_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["x-request-id"] != "bad id\twith spaces"


async def test_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["code"], body["instance"]) == (
        404,
        "not_found",
        "/api/v1/nothing-here",
    )
    assert body["request_id"] == response.headers["x-request-id"]


async def test_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/healthz")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


async def test_an_unexpected_error_is_a_500_problem_without_internals(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    response = await client.get("/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error"
    assert "secret internals" not in response.text
    assert body["request_id"] == response.headers["x-request-id"]


async def test_landing_page_links_to_the_api_docs(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert 'href="/docs"' in response.text


async def test_openapi_document_describes_the_health_endpoints(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/healthz", "/readyz"} <= set(paths)


async def test_requests_needing_the_database_are_503_while_it_is_down(
    unreachable_database_client: httpx.AsyncClient,
) -> None:
    response = await unreachable_database_client.get(
        "/api/v1/interactions", headers={"X-API-Key": "sb_0123456789ab_secret"}
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == "database_unavailable"


async def test_a_constraint_race_lost_in_the_database_is_a_409(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from sqlalchemy.exc import IntegrityError

    @app.get("/race")
    async def race() -> None:
        raise IntegrityError("INSERT …", {}, Exception("UNIQUE constraint failed"))

    response = await client.get("/race")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
