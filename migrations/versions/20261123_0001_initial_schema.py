"""Initial schema: queues, skills, staff, interactions and their log, messages, keys, webhooks.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 17:59:19.792465
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Plain types, so this revision never changes when the application's code does.
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dispositions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispositions")),
        sa.UniqueConstraint("code", name=op.f("uq_dispositions_code")),
    )
    op.create_table(
        "queues",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("service_level_threshold_s", sa.Integer(), nullable=False),
        sa.Column("service_level_target", sa.Float(), nullable=False),
        sa.Column("max_size", sa.Integer(), nullable=True),
        sa.Column("offer_timeout_s", sa.Integer(), nullable=False),
        sa.Column("wrap_up_s", sa.Integer(), nullable=False),
        sa.Column("selection_strategy", sa.String(length=32), nullable=False),
        sa.Column("aging_per_s", sa.Float(), nullable=False),
        sa.Column("sticky_s", sa.Integer(), nullable=False),
        sa.Column("busy_on_missed_offer", sa.Boolean(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("weekly_hours", JSON, nullable=False),
        sa.Column("holidays", JSON, nullable=False),
        sa.Column("closed_policy", sa.String(length=16), nullable=False),
        sa.Column("escalation_steps", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "max_size IS NULL OR max_size > 0", name=op.f("ck_queues_max_size_positive")
        ),
        sa.CheckConstraint("offer_timeout_s > 0", name=op.f("ck_queues_offer_timeout_positive")),
        sa.CheckConstraint(
            "service_level_target > 0 AND service_level_target <= 1",
            name=op.f("ck_queues_sl_target"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queues")),
        sa.UniqueConstraint("name", name=op.f("uq_queues_name")),
    )
    op.create_table(
        "skills",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "language",
                "program",
                "channel",
                "other",
                name="skill_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
        sa.UniqueConstraint("name", name=op.f("uq_skills_name")),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "supervisor",
                "agent",
                name="staff_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("capacity", JSON, nullable=False),
        sa.Column("last_login_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_username")),
    )
    op.create_index(op.f("ix_staff_role"), "staff", ["role"], unique=False)

    op.create_table(
        "agent_skills",
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("skill_id", sa.Uuid(), nullable=False),
        sa.Column("proficiency", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint(
            "proficiency BETWEEN 1 AND 10", name=op.f("ck_agent_skills_proficiency_range")
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_agent_skills_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_agent_skills_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("staff_id", "skill_id", name=op.f("pk_agent_skills")),
    )
    op.create_index(op.f("ix_agent_skills_skill_id"), "agent_skills", ["skill_id"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.Column("expires_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff.id"], name=op.f("fk_api_keys_created_by_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_table(
        "interactions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column(
            "channel",
            sa.Enum(
                "chat",
                "voice",
                "video",
                "email",
                "sms",
                "postal_mail",
                "walk_in",
                name="channel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "offered",
                "active",
                "wrap_up",
                "completed",
                "abandoned",
                "cancelled",
                "transferred",
                name="interaction_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("queue_id", sa.Uuid(), nullable=True),
        sa.Column("required_skills", JSON, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("queue_seq", sa.BigInteger(), nullable=True),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("customer_id", sa.String(length=200), nullable=True),
        sa.Column("customer_name", sa.String(length=200), nullable=True),
        sa.Column("customer_contact", JSON, nullable=False),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("topic", sa.String(length=100), nullable=True),
        sa.Column("attributes", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("queued_at", TIMESTAMP, nullable=True),
        sa.Column("offered_at", TIMESTAMP, nullable=True),
        sa.Column("answered_at", TIMESTAMP, nullable=True),
        sa.Column("first_response_at", TIMESTAMP, nullable=True),
        sa.Column("wrap_up_at", TIMESTAMP, nullable=True),
        sa.Column("ended_at", TIMESTAMP, nullable=True),
        sa.Column("abandoned_at", TIMESTAMP, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("wrap_up_notes", sa.Text(), nullable=True),
        sa.Column("satisfaction_rating", sa.SmallInteger(), nullable=True),
        sa.Column("satisfaction_comment", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "satisfaction_rating IS NULL OR satisfaction_rating BETWEEN 1 AND 5",
            name=op.f("ck_interactions_satisfaction_range"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["staff.id"], name=op.f("fk_interactions_agent_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queues.id"], name=op.f("fk_interactions_queue_id_queues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
    )
    op.create_index(
        "ix_interactions_agent_state", "interactions", ["agent_id", "state"], unique=False
    )
    op.create_index(
        "ix_interactions_created_id", "interactions", ["created_at", "id"], unique=False
    )
    op.create_index(
        "ix_interactions_customer_created",
        "interactions",
        ["customer_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_interactions_external_id"), "interactions", ["external_id"], unique=False
    )
    op.create_index(
        "ix_interactions_queue_created", "interactions", ["queue_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_interactions_state_queue_queued",
        "interactions",
        ["state", "queue_id", "queued_at"],
        unique=False,
    )

    op.create_table(
        "queue_skills",
        sa.Column("queue_id", sa.Uuid(), nullable=False),
        sa.Column("skill_id", sa.Uuid(), nullable=False),
        sa.Column("min_level", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint(
            "min_level BETWEEN 1 AND 10", name=op.f("ck_queue_skills_min_level_range")
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["queues.id"],
            name=op.f("fk_queue_skills_queue_id_queues"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_queue_skills_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("queue_id", "skill_id", name=op.f("pk_queue_skills")),
    )
    op.create_index(op.f("ix_queue_skills_skill_id"), "queue_skills", ["skill_id"], unique=False)

    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("event_types", JSON, nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff.id"], name=op.f("fk_webhook_subscriptions_created_by_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_table(
        "interaction_dispositions",
        sa.Column("interaction_id", sa.Uuid(), nullable=False),
        sa.Column("disposition_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["disposition_id"],
            ["dispositions.id"],
            name=op.f("fk_interaction_dispositions_disposition_id_dispositions"),
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_interaction_dispositions_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["staff.id"],
            name=op.f("fk_interaction_dispositions_recorded_by_staff"),
        ),
        sa.PrimaryKeyConstraint(
            "interaction_id", "disposition_id", name=op.f("pk_interaction_dispositions")
        ),
    )
    op.create_index(
        op.f("ix_interaction_dispositions_disposition_id"),
        "interaction_dispositions",
        ["disposition_id"],
        unique=False,
    )

    op.create_table(
        "interaction_events",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("interaction_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor_kind", sa.String(length=32), nullable=True),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("data", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_interaction_events_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_events")),
    )
    op.create_index(op.f("ix_interaction_events_at"), "interaction_events", ["at"], unique=False)
    op.create_index(
        "ix_interaction_events_interaction_id_id",
        "interaction_events",
        ["interaction_id", "id"],
        unique=False,
    )

    op.create_table(
        "messages",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("interaction_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column(
            "sender_kind",
            sa.Enum(
                "customer",
                "agent",
                "supervisor",
                "system",
                name="sender_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("sender_id", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("client_message_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_messages_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint(
            "interaction_id",
            "client_message_id",
            name=op.f("uq_messages_interaction_id_client_message_id"),
        ),
        sa.UniqueConstraint("interaction_id", "seq", name=op.f("uq_messages_interaction_id_seq")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "delivered",
                "dead",
                name="delivery_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("last_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("last_status_code", sa.SmallInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name=op.f("fk_webhook_deliveries_subscription_id_webhook_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "subscription_id",
            "event_id",
            name=op.f("uq_webhook_deliveries_subscription_id_event_id"),
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_status_next",
        "webhook_deliveries",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_deliveries_subscription_created",
        "webhook_deliveries",
        ["subscription_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_subscription_created", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_status_next", table_name="webhook_deliveries")

    op.drop_table("webhook_deliveries")
    op.drop_table("messages")
    op.drop_index("ix_interaction_events_interaction_id_id", table_name="interaction_events")
    op.drop_index(op.f("ix_interaction_events_at"), table_name="interaction_events")

    op.drop_table("interaction_events")
    op.drop_index(
        op.f("ix_interaction_dispositions_disposition_id"), table_name="interaction_dispositions"
    )

    op.drop_table("interaction_dispositions")
    op.drop_table("webhook_subscriptions")
    op.drop_index(op.f("ix_queue_skills_skill_id"), table_name="queue_skills")

    op.drop_table("queue_skills")
    op.drop_index("ix_interactions_state_queue_queued", table_name="interactions")
    op.drop_index("ix_interactions_queue_created", table_name="interactions")
    op.drop_index(op.f("ix_interactions_external_id"), table_name="interactions")
    op.drop_index("ix_interactions_customer_created", table_name="interactions")
    op.drop_index("ix_interactions_created_id", table_name="interactions")
    op.drop_index("ix_interactions_agent_state", table_name="interactions")

    op.drop_table("interactions")
    op.drop_table("api_keys")
    op.drop_index(op.f("ix_agent_skills_skill_id"), table_name="agent_skills")

    op.drop_table("agent_skills")
    op.drop_index(op.f("ix_staff_role"), table_name="staff")

    op.drop_table("staff")
    op.drop_table("skills")
    op.drop_table("queues")
    op.drop_table("dispositions")
