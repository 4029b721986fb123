"""`queue_config_from_row` maps every stored setting; recovery loads active queues at once."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import FastAPI

from app.db.migrate import upgrade_async
from app.db.session import create_engine, create_session_factory
from app.queues.models import Queue, QueueSkill
from app.queues.repository import load_active_queues
from app.queues.service import queue_config_from_row
from app.routing.model import (
    BusinessHours,
    ClosedPolicy,
    EscalationStep,
    OpenInterval,
    QueueConfig,
    QueueId,
    SelectionStrategy,
    SkillRequirement,
)
from app.skills.models import Skill
from app.state import Resources

QUEUE_ID = uuid.UUID("11111111-1111-1111-1111-111111111111")
OVERFLOW_ID = "22222222-2222-2222-2222-222222222222"


def _queue(**overrides: Any) -> Queue:
    fields: dict[str, Any] = {
        "id": QUEUE_ID,
        "name": "Seguro de Desempleo",
        "description": "",
        "priority": 2,
        "service_level_threshold_s": 90,
        "service_level_target": 0.9,
        "max_size": 150,
        "offer_timeout_s": 20,
        "wrap_up_s": 60,
        "selection_strategy": "most_skilled",
        "aging_per_s": 0.01,
        "sticky_s": 3600,
        "busy_on_missed_offer": True,
        "time_zone": "America/Chicago",
        "weekly_hours": [],
        "holidays": [],
        "closed_policy": "callback",
        "escalation_steps": [],
        "active": True,
    }
    return Queue(**{**fields, **overrides})


def test_every_scalar_setting_is_mapped() -> None:
    config = queue_config_from_row(_queue(), [("spanish", 6), ("ui", 3)])
    assert config == QueueConfig(
        id=QueueId(str(QUEUE_ID)),
        name="Seguro de Desempleo",
        required=frozenset({SkillRequirement("spanish", 6), SkillRequirement("ui", 3)}),
        priority=2,
        sl_threshold_s=90.0,
        sl_target=0.9,
        max_size=150,
        hours=None,
        closed_policy=ClosedPolicy.CALLBACK,
        escalation=(),
        strategy=SelectionStrategy.MOST_SKILLED,
        offer_timeout_s=20.0,
        aging_per_s=0.01,
        missed_policy=True,
        sticky_s=3600.0,
        wrap_up_s=60.0,
    )


def test_busy_on_missed_offer_off_maps_to_no_missed_policy() -> None:
    assert queue_config_from_row(_queue(busy_on_missed_offer=False), []).missed_policy is False


def test_weekly_hours_map_to_intervals_in_minutes_from_monday() -> None:
    hours = [
        {"day": "mon", "open": "08:00", "close": "17:30"},
        {"day": "sun", "open": "20:00", "close": "24:00"},
    ]
    config = queue_config_from_row(_queue(weekly_hours=hours, holidays=["2026-12-25"]), [])
    assert config.hours == BusinessHours(
        tz="America/Chicago",
        weekly=(OpenInterval(0, 480, 1050), OpenInterval(6, 1200, 1440)),
        holidays=frozenset({date(2026, 12, 25)}),
    )


def test_holidays_alone_mean_open_all_week_except_those_days() -> None:
    config = queue_config_from_row(_queue(holidays=["2026-07-04"]), [])
    assert config.hours is not None
    assert config.hours.weekly == tuple(OpenInterval(day, 0, 1440) for day in range(7))
    assert config.hours.holidays == frozenset({date(2026, 7, 4)})


def test_escalation_steps_map_add_skills_to_also_and_keep_overflow_ids() -> None:
    steps = [
        {"after_s": 120, "add_skills": [{"skill": "english", "min_level": 5}]},
        {"after_s": 300, "required_skills": [], "priority_delta": 2},
        {"after_s": 600, "overflow_to": OVERFLOW_ID},
    ]
    config = queue_config_from_row(_queue(escalation_steps=steps), [("spanish", 6)])
    assert config.escalation == (
        EscalationStep(after_s=120.0, also=frozenset({SkillRequirement("english", 5)})),
        EscalationStep(after_s=300.0, required=frozenset(), priority_delta=2),
        EscalationStep(after_s=600.0, overflow_to=QueueId(OVERFLOW_ID)),
    )


async def test_recovery_loads_active_queues_with_their_skills(app: FastAPI) -> None:
    resources: Resources = app.state.resources
    async with resources.sessions() as session, session.begin():
        ui, spanish = Skill(name="ui"), Skill(name="spanish")
        open_queue, closed_queue, bare_queue = (
            Queue(name="A"),
            Queue(name="B", active=False),
            Queue(name="C"),
        )
        session.add_all([ui, spanish, open_queue, closed_queue, bare_queue])
        await session.flush()
        session.add_all(
            [
                QueueSkill(queue_id=open_queue.id, skill_id=ui.id, min_level=3),
                QueueSkill(queue_id=open_queue.id, skill_id=spanish.id, min_level=6),
                QueueSkill(queue_id=closed_queue.id, skill_id=ui.id, min_level=1),
            ]
        )
    async with resources.sessions() as session:
        loaded = await load_active_queues(session)
    by_name = {queue.name: skills for queue, skills in loaded}
    assert by_name == {"A": [("spanish", 6), ("ui", 3)], "C": []}


async def test_recovery_load_works_on_every_backend(database_url: str) -> None:
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    try:
        sessions = create_session_factory(engine)
        async with sessions() as session, session.begin():
            ui = Skill(name="ui")
            hours = [{"day": "mon", "open": "08:00", "close": "17:00"}]
            queue = Queue(name="A", weekly_hours=hours, holidays=["2026-12-25"])
            session.add_all([ui, queue])
            await session.flush()
            session.add(QueueSkill(queue_id=queue.id, skill_id=ui.id, min_level=4))
        async with sessions() as session:
            [(loaded, skills)] = await load_active_queues(session)
        config = queue_config_from_row(loaded, skills)
        assert config.required == frozenset({SkillRequirement("ui", 4)})
        assert config.hours is not None
        assert config.hours.weekly == (OpenInterval(0, 480, 1020),)
    finally:
        await engine.dispose()
