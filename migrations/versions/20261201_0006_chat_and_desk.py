"""Chat and desk: socket presence, message authors, canned responses, follow-ups.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "socket_presence",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("connected_at", TIMESTAMP, nullable=False),
        sa.Column("disconnected_at", TIMESTAMP, nullable=True),
        sa.Column("handled_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("kind", "subject_id", name=op.f("pk_socket_presence")),
    )
    op.create_index(
        op.f("ix_socket_presence_disconnected_at"),
        "socket_presence",
        ["disconnected_at"],
        unique=False,
    )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("author", sa.String(length=200), nullable=True))
    op.create_table(
        "canned_responses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_responses")),
    )
    op.create_index(
        op.f("ix_canned_responses_language"), "canned_responses", ["language"], unique=False
    )
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("interaction_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("callback_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_follow_ups_interaction_id_interactions"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["staff.id"], name=op.f("fk_follow_ups_agent_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["interactions.id"],
            name=op.f("fk_follow_ups_callback_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
    )
    op.create_index(op.f("ix_follow_ups_due_at"), "follow_ups", ["due_at"], unique=False)
    op.create_index(
        op.f("ix_follow_ups_interaction_id"), "follow_ups", ["interaction_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_follow_ups_interaction_id"), table_name="follow_ups")
    op.drop_index(op.f("ix_follow_ups_due_at"), table_name="follow_ups")
    op.drop_table("follow_ups")
    op.drop_index(op.f("ix_canned_responses_language"), table_name="canned_responses")
    op.drop_table("canned_responses")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("author")
    op.drop_index(op.f("ix_socket_presence_disconnected_at"), table_name="socket_presence")
    op.drop_table("socket_presence")
