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
    422: "A field is missing, malformed or refers to something unknown",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status described, as application/problem+json."""
    return {
        status: {"description": _DESCRIPTIONS[status], "content": {PROBLEM_JSON: {}}}
        for status in statuses
    }
