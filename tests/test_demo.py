"""The demo centre is complete and consistent: every queue can be served by some agent."""

from __future__ import annotations

from app.demo import AGENTS, QUEUES, SKILLS


def test_every_demo_skill_used_is_declared() -> None:
    used = {name for queue in QUEUES for name in queue.skills}
    used |= {name for agent in AGENTS for name in agent.skills}
    assert used <= set(SKILLS)


def test_every_demo_queue_has_at_least_two_agents_who_can_serve_it() -> None:
    for queue in QUEUES:
        able = [
            agent
            for agent in AGENTS
            if all(agent.skills.get(skill, 0) >= level for skill, level in queue.skills.items())
        ]
        assert len(able) >= 2, queue.name


def test_the_demo_has_a_dozen_agents() -> None:
    assert len(AGENTS) == 12
