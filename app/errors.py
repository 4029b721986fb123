"""`AppError` and the handlers that render every failure as RFC 9457 problem+json."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.logs import current_request_id

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger(__name__)


class AppError(Exception):
    """A failure the caller should see: HTTP status, stable code, human title and detail."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
        errors: Sequence[dict[str, str]] = (),
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status or self.status
        self.code = code or self.code
        self.title = title or self.title
        self.errors = list(errors)
        self.headers = headers or {}
        # More members of the problem body, e.g. a closed queue's opening hours.
        self.extra = extra or {}


class NotFoundError(AppError):
    """The named resource does not exist (or the caller may not know it does)."""

    status = 404
    code = "not_found"
    title = "Not found"


class ConflictError(AppError):
    """The request clashes with the current state of the resource."""

    status = 409
    code = "conflict"
    title = "Conflict"


class ServiceUnavailableError(AppError):
    """A dependency (database, bus) is down; the client should retry later."""

    status = 503
    code = "service_unavailable"
    title = "Service unavailable"


def problem_body(
    *, status: int, code: str, title: str, detail: str, instance: str, request_id: str | None
) -> dict[str, Any]:
    """The RFC 9457 members every problem carries, plus our stable `code` and request id."""
    return {
        "type": f"https://switchboard.invalid/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": instance,
        "request_id": request_id,
    }


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: Sequence[dict[str, str]] = (),
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """Build one problem+json response; the request id lets support find the log lines."""
    body = problem_body(
        status=status,
        code=code,
        title=title,
        detail=detail,
        instance=request.url.path,
        request_id=current_request_id(),
    )
    if errors:
        body["errors"] = list(errors)
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _handle_app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        extra=exc.extra,
    )


async def _handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_field_error(error) for error in exc.errors()]
    fields = ", ".join(error["field"] for error in errors)
    return problem_response(
        request,
        status=422,
        code="validation_failed",
        title="The request is not valid",
        detail=f"Check these fields: {fields}" if fields else "The request is not valid",
        errors=errors,
    )


async def _handle_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    title = str(exc.detail) if isinstance(exc.detail, str) else "Error"
    return problem_response(
        request,
        status=exc.status_code,
        code=code,
        title=title,
        detail=title,
        headers=dict(exc.headers or {}),
    )


def _field_error(error: Any) -> dict[str, str]:
    location = [str(part) for part in error.get("loc", ())]
    if error.get("type") == "json_invalid":
        return {"field": "body", "message": f"Malformed JSON: {error.get('msg', '')}"}
    # pydantic prefixes what our own validators raise; the caller needs only the reason.
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return {"field": ".".join(location) or "body", "message": message}


async def _handle_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable on %s: %s", request.url.path, exc)
    return problem_response(
        request,
        status=503,
        code="database_unavailable",
        title="Service unavailable",
        detail="The database cannot be reached right now; try again shortly.",
        headers={"Retry-After": "5"},
    )


async def _handle_redis_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("redis unavailable on %s: %s", request.url.path, exc)
    return problem_response(
        request,
        status=503,
        code="redis_unavailable",
        title="Service unavailable",
        detail="Redis cannot be reached right now; try again shortly.",
        headers={"Retry-After": "5"},
    )


async def _handle_integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # Services check uniqueness first; this is the rare race two requests can still win.
    logger.warning("integrity error on %s: %s", request.url.path, exc)
    return problem_response(
        request,
        status=409,
        code="conflict",
        title="Conflict",
        detail="The change clashes with data stored meanwhile (e.g. a name just taken); "
        "read the current state and try again.",
    )


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception through problem+json."""
    # Connection-level failures only: an outage is a 503 to retry, not a bug.
    app.add_exception_handler(OperationalError, _handle_database_unavailable)
    app.add_exception_handler(InterfaceError, _handle_database_unavailable)
    app.add_exception_handler(ConnectionError, _handle_database_unavailable)
    app.add_exception_handler(TimeoutError, _handle_database_unavailable)
    # No pooled connection came free in time: overloaded, so also a retryable 503.
    app.add_exception_handler(PoolTimeoutError, _handle_database_unavailable)
    app.add_exception_handler(RedisError, _handle_redis_unavailable)
    app.add_exception_handler(IntegrityError, _handle_integrity_error)
    app.add_exception_handler(AppError, _handle_app_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_error)
