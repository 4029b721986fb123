"""Scale-out: the writer's fencing number and the requests it has applied.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "writer_fence",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fence", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("since", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_writer_fence")),
    )
    op.create_table(
        "applied_requests",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("result", JSON, nullable=False),
        sa.Column("applied_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applied_requests")),
    )
    op.create_index(
        op.f("ix_applied_requests_applied_at"), "applied_requests", ["applied_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_applied_requests_applied_at"), table_name="applied_requests")
    op.drop_table("applied_requests")
    op.drop_table("writer_fence")
