"""Calls: an agent's phone endpoint, and the figures of calls bridged by a telephony platform.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch_op:
        batch_op.add_column(sa.Column("phone_endpoint", sa.String(length=200), nullable=True))
    op.create_table(
        "calls",
        sa.Column("interaction_id", sa.Uuid(), nullable=False),
        sa.Column("call_id", sa.String(length=200), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "ringing",
                "connected",
                "held",
                "ended",
                name="call_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("connected_at", TIMESTAMP, nullable=True),
        sa.Column("held_since", TIMESTAMP, nullable=True),
        sa.Column("hold_s", sa.Float(), nullable=False),
        sa.Column("hold_count", sa.Integer(), nullable=False),
        sa.Column("ended_at", TIMESTAMP, nullable=True),
        sa.Column(
            "ended_by",
            sa.Enum(
                "customer",
                "agent",
                "system",
                name="call_party",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("last_event_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("hold_s >= 0", name=op.f("ck_calls_hold_s_not_negative")),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_calls_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("interaction_id", name=op.f("pk_calls")),
    )
    op.create_index(op.f("ix_calls_call_id"), "calls", ["call_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_calls_call_id"), table_name="calls")
    op.drop_table("calls")
    with op.batch_alter_table("staff") as batch_op:
        batch_op.drop_column("phone_endpoint")
