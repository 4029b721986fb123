"""OpenAPI descriptions of the problem+json answers a route can give."""

from __future__ import annotations

from typing import Any

from app.errors import PROBLEM_JSON

_DESCRIPTIONS = {
    400: "Bad request, e.g. a cursor this API did not issue",
    401: "No credentials, or credentials that prove nothing",
    403: "The caller's role may not do this",
    404: "No such resource",
    409: "The request clashes with what is stored",
    413: "The request body is over the size limit",
    422: "A field is missing, malformed or refers to something unknown",
    429: "Too many attempts; wait for Retry-After seconds",
    503: "A dependency is down or overloaded; retry after Retry-After seconds",
}


def problems(
    *statuses: int, described: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status described, as application/problem+json.

    `described` gives a route's own wording for some statuses (and may add others).
    """
    wording = {**{status: _DESCRIPTIONS[status] for status in statuses}, **(described or {})}
    return {
        status: {"description": text, "content": {PROBLEM_JSON: {}}}
        for status, text in wording.items()
    }
