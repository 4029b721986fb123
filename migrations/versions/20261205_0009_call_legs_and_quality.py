"""Calls: legs (a call set up again after a transfer), connected time, quality per side.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch_op:
        batch_op.add_column(sa.Column("leg_connected_at", TIMESTAMP, nullable=True))
        batch_op.add_column(sa.Column("legs", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("connected_s", sa.Float(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("quality", JSON, nullable=False, server_default="{}"))
    _backfill_legs()


def _backfill_legs() -> None:
    """Calls answered before this revision had one leg: ended ones keep its length."""
    calls = sa.table(
        "calls",
        sa.column("interaction_id", sa.Uuid()),
        sa.column("connected_at", TIMESTAMP),
        sa.column("ended_at", TIMESTAMP),
        sa.column("leg_connected_at", TIMESTAMP),
        sa.column("legs", sa.Integer()),
        sa.column("connected_s", sa.Float()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(calls.c.interaction_id, calls.c.connected_at, calls.c.ended_at).where(
            calls.c.connected_at.is_not(None)
        )
    ).all()
    for interaction_id, connected_at, ended_at in rows:
        values: dict[str, object] = {"legs": 1}
        if ended_at is None:
            values["leg_connected_at"] = connected_at
        else:
            values["connected_s"] = max(0.0, (ended_at - connected_at).total_seconds())
        bind.execute(
            calls.update().where(calls.c.interaction_id == interaction_id).values(**values)
        )


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch_op:
        batch_op.drop_column("quality")
        batch_op.drop_column("connected_s")
        batch_op.drop_column("legs")
        batch_op.drop_column("leg_connected_at")
