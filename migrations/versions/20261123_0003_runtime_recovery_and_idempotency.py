"""Routing service: recovery columns on interactions, idempotency keys, agent presence.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("interactions") as batch_op:
        batch_op.add_column(
            sa.Column("escalation_tier", sa.SmallInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("entered_queue_at", TIMESTAMP, nullable=True))
        batch_op.add_column(sa.Column("target_agent_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_interactions_target_agent_id_staff"), "staff", ["target_agent_id"], ["id"]
        )
    op.create_table(
        "idempotency_keys",
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("interaction_id", sa.Uuid(), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column("response", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_idempotency_keys_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("principal_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(
        op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"], unique=False
    )
    op.create_table(
        "agent_presence",
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "offline",
                "available",
                "busy",
                name="agent_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("changed_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_agent_presence_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("staff_id", name=op.f("pk_agent_presence")),
    )


def downgrade() -> None:
    op.drop_table("agent_presence")
    op.drop_index(op.f("ix_idempotency_keys_created_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("interactions") as batch_op:
        batch_op.drop_constraint(op.f("fk_interactions_target_agent_id_staff"), type_="foreignkey")
        batch_op.drop_column("target_agent_id")
        batch_op.drop_column("entered_queue_at")
        batch_op.drop_column("escalation_tier")
