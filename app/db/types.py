"""Small column helpers shared by the domain models."""

from __future__ import annotations

from enum import Enum

from sqlalchemy import BigInteger, Integer
from sqlalchemy import Enum as SAEnum

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants 64 bits for logs.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def str_enum(enum_class: type[Enum], name: str) -> SAEnum:
    """Store an enum as its string value in a VARCHAR with a CHECK (portable, easy to migrate)."""
    return SAEnum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
