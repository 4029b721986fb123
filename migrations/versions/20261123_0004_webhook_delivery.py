"""Webhooks: subscriptions owned by the integrator API key that created them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.add_column(sa.Column("created_by_api_key_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            "fk_webhook_subscriptions_created_by_api_key_id_api_keys",
            "api_keys",
            ["created_by_api_key_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(
            "ix_webhook_subscriptions_created_by_api_key_id", ["created_by_api_key_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.drop_index("ix_webhook_subscriptions_created_by_api_key_id")
        batch.drop_constraint(
            "fk_webhook_subscriptions_created_by_api_key_id_api_keys", type_="foreignkey"
        )
        batch.drop_column("created_by_api_key_id")
