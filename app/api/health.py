"""Liveness and readiness: is the process up, and can it reach its database and bus."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.errors import problem_response
from app.state import ResourcesDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def get_healthz() -> dict[str, str]:
    """Answers while the process runs; checks nothing else (for liveness probes)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The process can serve: database and bus answer",
    responses={503: {"description": "A dependency does not answer; the body says which"}},
)
async def get_readyz(request: Request, resources: ResourcesDep) -> JSONResponse:
    """200 when the database and the bus answer and the routing writer runs; else 503 why."""
    timeout_s = resources.settings.ready_timeout_s
    database, bus, routing = await asyncio.gather(
        _check(_ping_database(resources), timeout_s),
        _check(resources.bus.ping(), timeout_s),
        _routing(resources, timeout_s),
    )
    checks = {"database": database, "bus": bus, "routing": routing}
    failed = {name: reason for name, reason in checks.items() if reason != "ok"}
    details: dict[str, Any] = {
        "role": resources.routing.role,
        "checks": checks,
        "database_backend": resources.settings.database_backend,
        "bus_backend": "redis" if resources.settings.redis_url else "in-process",
    }
    if not failed:
        return JSONResponse({"status": "ready", **details})
    reasons = "; ".join(f"{name}: {reason}" for name, reason in failed.items())
    return problem_response(
        request,
        status=503,
        code="not_ready",
        title="Not ready",
        detail=reasons,
        headers={"Retry-After": "5"},
        extra=details,
    )


async def _routing(resources: ResourcesDep, timeout_s: float) -> str:
    try:
        return await asyncio.wait_for(resources.routing.readiness(), timeout_s)
    except TimeoutError:
        return f"no answer within {timeout_s:g}s"


async def _ping_database(resources: ResourcesDep) -> None:
    async with resources.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _check(probe: Any, timeout_s: float) -> str:
    try:
        await asyncio.wait_for(probe, timeout_s)
    except TimeoutError:
        return f"no answer within {timeout_s:g}s"
    except Exception as exc:
        return f"{type(exc).__name__}: {_first_line(str(exc))}"
    return "ok"


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0][:300] if message.strip() else "failed"
