"""Imports every model so that `Base.metadata` is complete (for Alembic and tests)."""

from __future__ import annotations

from app.agents.models import AgentSkill, Staff
from app.auth.models import ApiKey, RefreshToken
from app.calls.models import Call
from app.canned.models import CannedResponse
from app.db.base import Base
from app.interactions.models import (
    Disposition,
    FollowUp,
    IdempotencyKey,
    Interaction,
    InteractionDisposition,
    InteractionEvent,
    Message,
)
from app.queues.models import Queue, QueueSkill
from app.realtime.models import SocketPresence
from app.runtime.models import AgentPresence
from app.skills.models import Skill
from app.supervisors.models import AuditEntry, QueueAlertRule
from app.webhooks.models import WebhookDelivery, WebhookSubscription

__all__ = [
    "AgentPresence",
    "AgentSkill",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Call",
    "CannedResponse",
    "Disposition",
    "FollowUp",
    "IdempotencyKey",
    "Interaction",
    "InteractionDisposition",
    "InteractionEvent",
    "Message",
    "Queue",
    "QueueAlertRule",
    "QueueSkill",
    "RefreshToken",
    "Skill",
    "SocketPresence",
    "Staff",
    "WebhookDelivery",
    "WebhookSubscription",
]
