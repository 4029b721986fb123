"""Cursor pagination shared by every list endpoint: newest first, stable under inserts.

A cursor is opaque to clients: the (created_at, id) of the last item of a page, encoded.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from app.errors import AppError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
ItemT = TypeVar("ItemT")


class InvalidCursorError(AppError):
    """The cursor was not made by this API (or was changed)."""

    status = 400
    code = "invalid_cursor"
    title = "Invalid cursor"

    def __init__(self) -> None:
        super().__init__(
            "The cursor is not valid; use the next_cursor of a previous page.",
            errors=[{"field": "query.cursor", "message": "not a cursor this API issued"}],
        )


@dataclass(frozen=True, slots=True)
class Cursor:
    """The position after which the next page starts."""

    created_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        """The opaque string handed to clients."""
        raw = json.dumps([self.created_at.isoformat(), str(self.id)]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse a client's cursor or raise `InvalidCursorError`."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            created_at_text, id_text = json.loads(raw)
            created_at = datetime.fromisoformat(created_at_text)
            if created_at.tzinfo is None:
                raise ValueError("naive")
            return cls(created_at, uuid.UUID(id_text))
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            raise InvalidCursorError() from None


@dataclass(frozen=True, slots=True)
class PageParams:
    """What the client asked for: how many, after which cursor."""

    limit: int
    after: Cursor | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page")
    ] = None,
) -> PageParams:
    """Read `limit` and `cursor` from the query string."""
    return PageParams(limit=limit, after=Cursor.decode(cursor) if cursor else None)


PageParamsDep = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[ItemT]):
    """One page of a list, and the cursor of the next one (null on the last page)."""

    items: list[ItemT]
    next_cursor: str | None


def paginate(
    statement: Select[Any],
    params: PageParams,
    *,
    created_at: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[uuid.UUID],
) -> Select[Any]:
    """Order newest first and start after the cursor; fetches one extra row to see if more."""
    if params.after is not None:
        statement = statement.where(
            or_(
                created_at < params.after.created_at,
                and_(created_at == params.after.created_at, id_column < params.after.id),
            )
        )
    return statement.order_by(created_at.desc(), id_column.desc()).limit(params.limit + 1)


def next_cursor(rows: list[Any], params: PageParams) -> tuple[list[Any], str | None]:
    """Trim the extra row and build the cursor that follows the last kept one."""
    if len(rows) <= params.limit:
        return rows, None
    kept = rows[: params.limit]
    last = kept[-1]
    return kept, Cursor(last.created_at, last.id).encode()
