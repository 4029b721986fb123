"""SQL of the queues domain, including the bulk loads the routing service recovers from."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.pagination import PageParams, paginate
from app.queues.models import Queue, QueueSkill
from app.skills.models import Skill

SkillLevels = list[tuple[str, int]]
"""(skill name, minimum level) pairs, sorted by name."""


async def get_queue(session: AsyncSession, queue_id: uuid.UUID) -> Queue | None:
    """The queue with this id, or None."""
    return await session.get(Queue, queue_id)


async def name_taken(
    session: AsyncSession, name: str, *, other_than: uuid.UUID | None = None
) -> bool:
    """True when a queue other than `other_than` already has this name."""
    statement = select(Queue.id).where(Queue.name == name)
    if other_than is not None:
        statement = statement.where(Queue.id != other_than)
    return await session.scalar(statement) is not None


async def find_queue(session: AsyncSession, reference: str) -> Queue | None:
    """The queue a client named by id or, failing that, by name."""
    try:
        queue = await session.get(Queue, uuid.UUID(reference))
    except ValueError:
        queue = None
    if queue is not None:
        return queue
    return await session.scalar(select(Queue).where(Queue.name == reference))


async def list_queues(
    session: AsyncSession, params: PageParams, *, active: bool | None
) -> list[Queue]:
    """One page of queues, newest first, with the extra row `next_cursor` looks for."""
    statement = select(Queue)
    if active is not None:
        statement = statement.where(Queue.active == active)
    statement = paginate(statement, params, created_at=Queue.created_at, id_column=Queue.id)
    return list(await session.scalars(statement))


async def replace_queue_skills(
    session: AsyncSession, queue_id: uuid.UUID, skills: Sequence[tuple[uuid.UUID, int]]
) -> None:
    """Make (skill id, min level) pairs the queue's whole requirement."""
    await session.execute(delete(QueueSkill).where(QueueSkill.queue_id == queue_id))
    session.add_all(
        QueueSkill(queue_id=queue_id, skill_id=skill_id, min_level=level)
        for skill_id, level in skills
    )
    await session.flush()


async def skills_of_queues(
    session: AsyncSession, queue_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, SkillLevels]:
    """Each queue's required skills by name, in one query."""
    if not queue_ids:
        return {}
    return await _skills_by_queue(session, _skill_rows().where(QueueSkill.queue_id.in_(queue_ids)))


async def load_active_queues(session: AsyncSession) -> list[tuple[Queue, SkillLevels]]:
    """Every active queue with its required skills, in two queries (for recovery)."""
    queues = list(await session.scalars(select(Queue).where(Queue.active.is_(True))))
    active_ids = select(Queue.id).where(Queue.active.is_(True))
    statement = _skill_rows().where(QueueSkill.queue_id.in_(active_ids))
    skills = await _skills_by_queue(session, statement)
    return [(queue, skills.get(queue.id, [])) for queue in queues]


def _skill_rows() -> Select[uuid.UUID, str, int]:
    return (
        select(QueueSkill.queue_id, Skill.name, QueueSkill.min_level)
        .join(Skill, Skill.id == QueueSkill.skill_id)
        .order_by(Skill.name)
    )


async def _skills_by_queue(
    session: AsyncSession, statement: Select[uuid.UUID, str, int]
) -> dict[uuid.UUID, SkillLevels]:
    grouped: defaultdict[uuid.UUID, SkillLevels] = defaultdict(list)
    for queue_id, name, level in await session.execute(statement):
        grouped[queue_id].append((name, level))
    return dict(grouped)
