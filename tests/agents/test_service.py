"""`agent_config_from_row` maps a stored agent; recovery loads active agents at once."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI

from app.agents.models import AgentSkill, Staff, StaffRole
from app.agents.repository import load_active_agents
from app.agents.service import agent_config_from_row
from app.routing.model import DEFAULT_CAPACITY, DEFAULT_EXCLUSIVE, AgentId, Channel
from app.skills.models import Skill
from app.state import Resources

STAFF_ID = uuid.UUID("33333333-3333-3333-3333-333333333333")


def _staff(**overrides: Any) -> Staff:
    fields: dict[str, Any] = {
        "id": STAFF_ID,
        "username": "maria.lopez",
        "display_name": "María López",
        "role": StaffRole.AGENT,
        "password_hash": "x",
        "active": True,
        "capacity": {},
    }
    return Staff(**{**fields, **overrides})


def test_id_name_and_skills_are_mapped() -> None:
    config = agent_config_from_row(_staff(), [("spanish", 10), ("ui", 8)])
    assert config.id == AgentId(str(STAFF_ID))
    assert config.name == "María López"
    assert dict(config.skills) == {"spanish": 10, "ui": 8}
    assert config.exclusive == DEFAULT_EXCLUSIVE


def test_stored_capacity_overrides_the_defaults_per_channel() -> None:
    config = agent_config_from_row(_staff(capacity={"chat": 2, "email": 0}), [])
    assert config.capacity_for(Channel.CHAT) == 2
    assert config.capacity_for(Channel.EMAIL) == 0
    assert config.capacity_for(Channel.VOICE) == DEFAULT_CAPACITY[Channel.VOICE]


def test_an_unknown_stored_channel_is_ignored() -> None:
    config = agent_config_from_row(_staff(capacity={"fax": 9}), [])
    assert dict(config.capacity) == dict(DEFAULT_CAPACITY)


async def test_recovery_loads_active_agents_with_their_skills(app: FastAPI) -> None:
    resources: Resources = app.state.resources
    async with resources.sessions() as session, session.begin():
        ui = Skill(name="ui")
        working = _staff(id=uuid.uuid4(), username="working")
        retired = _staff(id=uuid.uuid4(), username="retired", active=False)
        supervisor = _staff(id=uuid.uuid4(), username="boss", role=StaffRole.SUPERVISOR)
        idle = _staff(id=uuid.uuid4(), username="idle")
        session.add_all([ui, working, retired, supervisor, idle])
        await session.flush()
        session.add_all(
            [
                AgentSkill(staff_id=working.id, skill_id=ui.id, proficiency=7),
                AgentSkill(staff_id=retired.id, skill_id=ui.id, proficiency=9),
            ]
        )
    async with resources.sessions() as session:
        loaded = await load_active_agents(session)
    by_name = {staff.username: skills for staff, skills in loaded}
    assert by_name == {"working": [("ui", 7)], "idle": []}
