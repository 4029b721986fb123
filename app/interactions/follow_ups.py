"""Follow-ups promised at wrap-up become callbacks when due, offered first to the same agent.

The routing writer's process checks every few seconds. Each due follow-up is created as a
voice interaction in the original queue with the promising agent preferred (held for them up
to the queue's sticky time, then anyone), under an idempotency key of its own, so a crash
between creating it and marking it done cannot create it twice.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from app import clock
from app.auth.principals import Principal, PrincipalKind, Role
from app.errors import AppError
from app.interactions import service
from app.interactions.models import FollowUp, Interaction
from app.interactions.schemas import InteractionCreate
from app.routing.model import Channel

if TYPE_CHECKING:
    from app.state import Resources

logger = logging.getLogger(__name__)

CHECK_EVERY_S = 5.0
BATCH = 100
SCHEDULER = Principal(
    kind=PrincipalKind.API_KEY, role=Role.INTEGRATOR, subject_id="follow-ups", name="Follow-ups"
)


class FollowUpScheduler:
    """Turns due follow-ups into callbacks (run by the writer's process)."""

    def __init__(self, resources: Resources) -> None:
        self._resources = resources

    async def check_once(self) -> int:
        """Create the callbacks that fell due; how many were created."""
        async with self._resources.read_sessions() as session:
            due = list(
                await session.execute(
                    select(FollowUp, Interaction)
                    .join(Interaction, Interaction.id == FollowUp.interaction_id)
                    .where(FollowUp.callback_id.is_(None), FollowUp.due_at <= clock.utcnow())
                    .order_by(FollowUp.due_at)
                    .limit(BATCH)
                )
            )
        created = 0
        for follow_up, original in due:
            try:
                callback_id = await self._create(follow_up, original)
            except AppError as exc:
                # E.g. the queue was removed: it stays due and is tried again.
                logger.warning("follow-up %s not created yet: %s", follow_up.id, exc.detail)
                continue
            await self._done(follow_up.id, callback_id)
            created += 1
        return created

    async def _create(self, follow_up: FollowUp, original: Interaction) -> uuid.UUID:
        contact = original.customer_contact or {}
        body = InteractionCreate.model_validate(
            {
                "channel": Channel.VOICE,
                "queue": str(original.queue_id) if original.queue_id else None,
                "required_skills": None if original.queue_id else original.required_skills,
                "customer": {
                    "id": original.customer_id,
                    "name": original.customer_name,
                    "email": contact.get("email"),
                    "phone": contact.get("phone"),
                },
                "language": original.language,
                "topic": f"Follow-up: {original.topic}"[:100] if original.topic else "Follow-up",
                "preferred_agent_id": follow_up.agent_id,
                "attributes": {
                    "follow_up_of": str(original.id),
                    "follow_up_note": follow_up.note or "",
                },
            }
        )
        response, _ = await service.create_interaction(
            sessions=self._resources.sessions,
            routing=self._resources.routing,
            locks=self._resources.idempotency_locks,
            principal=SCHEDULER,
            body=body,
            idempotency_key=f"follow-up:{follow_up.id}",
        )
        return uuid.UUID(str(response["id"]))

    async def _done(self, follow_up_id: uuid.UUID, callback_id: uuid.UUID) -> None:
        async with self._resources.sessions() as session:
            await session.execute(
                update(FollowUp).where(FollowUp.id == follow_up_id).values(callback_id=callback_id)
            )
            await session.commit()
