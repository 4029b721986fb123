"""Every table takes a row and gives it back unchanged, on every backend."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import AgentSkill, Staff, StaffRole
from app.auth.models import ApiKey
from app.db.base import AppendOnlyError
from app.db.migrate import upgrade_async
from app.db.session import create_engine, create_session_factory
from app.interactions.models import (
    Disposition,
    Interaction,
    InteractionDisposition,
    InteractionEvent,
    Message,
    SenderKind,
)
from app.queues.models import Queue, QueueSkill
from app.routing.model import Channel, InteractionState
from app.skills.models import Skill, SkillKind
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

QUEUED_AT = datetime(2026, 11, 23, 14, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
async def session(database_url: str) -> AsyncIterator[AsyncSession]:
    """A session on a freshly migrated database of each backend."""
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    async with create_session_factory(engine)() as db_session:
        yield db_session
    await engine.dispose()


async def _graph(session: AsyncSession) -> dict[str, object]:
    skill = Skill(name="spanish", kind=SkillKind.LANGUAGE, description="Español")
    queue = Queue(
        name="Seguro de Desempleo",
        escalation_steps=[{"after_s": 120, "add_priority": 1}],
        weekly_hours=[{"day": "mon", "open": "08:00", "close": "17:00"}],
        holidays=["2026-12-25"],
        time_zone="America/Los_Angeles",
    )
    staff = Staff(username="maria", display_name="María", role=StaffRole.AGENT, password_hash="x")
    session.add_all([skill, queue, staff])
    await session.flush()
    interaction = Interaction(
        channel=Channel.CHAT,
        state=InteractionState.QUEUED,
        queue_id=queue.id,
        agent_id=staff.id,
        customer_id="claimant-42",
        customer_name="José",
        customer_contact={"email": "jose@example.org"},
        attributes={"claim": "UI-123", "nested": {"a": [1, 2]}},
        queued_at=QUEUED_AT,
        queue_seq=7,
    )
    disposition = Disposition(code="work_search_reviewed", label="Work search reviewed")
    subscription = WebhookSubscription(url="https://hooks.example.org/x", secret="s" * 32)
    session.add_all([interaction, disposition, subscription])
    await session.flush()
    rows: dict[str, object] = {
        "skill": skill,
        "queue": queue,
        "staff": staff,
        "interaction": interaction,
        "disposition": disposition,
        "subscription": subscription,
        "queue_skill": QueueSkill(queue_id=queue.id, skill_id=skill.id, min_level=6),
        "agent_skill": AgentSkill(staff_id=staff.id, skill_id=skill.id, proficiency=9),
        "event": InteractionEvent(
            interaction_id=interaction.id, type="interaction.queued", data={"position": 1}
        ),
        "message": Message(
            interaction_id=interaction.id,
            seq=1,
            sender_kind=SenderKind.CUSTOMER,
            body="Hola, ¿me ayudan? 👋",
            client_message_id="c-1",
        ),
        "interaction_disposition": InteractionDisposition(
            interaction_id=interaction.id, disposition_id=disposition.id, recorded_by=staff.id
        ),
        "api_key": ApiKey(name="CRM", prefix="sb_abc123", key_hash="h"),
        "delivery": WebhookDelivery(
            subscription_id=subscription.id,
            event_id=uuid.uuid4(),
            event_type="interaction.queued",
            payload={"id": str(interaction.id)},
        ),
    }
    session.add_all(rows.values())
    await session.commit()
    return rows


async def test_a_row_of_each_table_round_trips(session: AsyncSession) -> None:
    rows = await _graph(session)
    session.expunge_all()
    for original in rows.values():
        model = type(original)
        loaded = (await session.scalars(select(model))).one()
        for column in model.__table__.columns:
            assert getattr(loaded, column.key) == getattr(original, column.key), column.key


async def test_timestamps_come_back_as_aware_utc(session: AsyncSession) -> None:
    await _graph(session)
    session.expunge_all()
    loaded = (await session.scalars(select(Interaction))).one()
    assert loaded.queued_at == QUEUED_AT
    assert loaded.queued_at is not None and loaded.queued_at.utcoffset() == timedelta(0)
    assert loaded.created_at.tzinfo is not None


async def test_timestamps_in_other_zones_are_stored_as_the_same_instant(
    session: AsyncSession,
) -> None:
    eastern = QUEUED_AT.astimezone(timezone(timedelta(hours=-5)))
    session.add(Skill(name="x", created_at=eastern, updated_at=eastern))
    await session.commit()
    session.expunge_all()
    loaded = (await session.scalars(select(Skill))).one()
    assert loaded.created_at == QUEUED_AT and loaded.created_at.tzinfo == UTC


async def test_naive_timestamps_are_refused(session: AsyncSession) -> None:
    session.add(Skill(name="naive", created_at=datetime(2026, 1, 1)))
    with pytest.raises(StatementError, match="naive"):
        await session.flush()


async def test_interaction_events_cannot_be_changed(session: AsyncSession) -> None:
    rows = await _graph(session)
    event = rows["event"]
    assert isinstance(event, InteractionEvent)
    event.type = "rewritten"
    with pytest.raises(AppendOnlyError):
        await session.flush()


async def test_message_sequence_numbers_are_unique_per_interaction(session: AsyncSession) -> None:
    rows = await _graph(session)
    interaction = rows["interaction"]
    assert isinstance(interaction, Interaction)
    session.add(
        Message(interaction_id=interaction.id, seq=1, sender_kind=SenderKind.AGENT, body="dup")
    )
    with pytest.raises(IntegrityError):
        await session.flush()


async def test_proficiency_outside_one_to_ten_is_refused(session: AsyncSession) -> None:
    rows = await _graph(session)
    staff, skill = rows["staff"], rows["skill"]
    assert isinstance(staff, Staff) and isinstance(skill, Skill)
    other = Skill(name="english")
    session.add(other)
    await session.flush()
    session.add(AgentSkill(staff_id=staff.id, skill_id=other.id, proficiency=11))
    with pytest.raises(IntegrityError):
        await session.flush()


async def test_delivery_status_defaults_to_pending(session: AsyncSession) -> None:
    await _graph(session)
    session.expunge_all()
    delivery = (await session.scalars(select(WebhookDelivery))).one()
    assert delivery.status is DeliveryStatus.PENDING and delivery.attempts == 0
