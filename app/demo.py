"""A realistic demo centre: a state employment department's contact center.

Seeding is idempotent: rows are found by their natural key (name, username, code) and
only what is missing is added, so `switchboard seed-demo` can run any number of times.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import AgentSkill, Staff, StaffRole
from app.agents.service import create_staff
from app.interactions.models import Disposition
from app.queues.models import Queue, QueueSkill
from app.skills.models import Skill, SkillKind

# Known to everyone who reads the README: demo seeding is refused in production mode.
DEMO_PASSWORD = "switchboard-demo"

SKILLS: dict[str, tuple[SkillKind, str]] = {
    "english": (SkillKind.LANGUAGE, "English"),
    "spanish": (SkillKind.LANGUAGE, "Spanish / Español"),
    "vietnamese": (SkillKind.LANGUAGE, "Vietnamese / Tiếng Việt"),
    "russian": (SkillKind.LANGUAGE, "Russian / Русский"),
    "ui": (SkillKind.PROGRAM, "Unemployment Insurance claims"),
    "resea": (SkillKind.PROGRAM, "Reemployment Services and Eligibility Assessment"),
    "paid_leave": (SkillKind.PROGRAM, "Paid Family and Medical Leave"),
    "employer": (SkillKind.PROGRAM, "Employer accounts and tax"),
    "video": (SkillKind.CHANNEL, "Video calls"),
}


@dataclass(frozen=True)
class DemoQueue:
    """A queue of the demo centre with the skills (and minimum levels) it needs."""

    name: str
    description: str
    skills: dict[str, int]
    priority: int = 0
    sl_threshold_s: int = 60
    max_size: int | None = 200
    aging_per_s: float = 0.0
    escalation_steps: list[dict[str, object]] = field(default_factory=list)


QUEUES = [
    DemoQueue(
        "Unemployment Insurance",
        "Claims, payments, weekly certification, in English.",
        {"ui": 3, "english": 5},
        aging_per_s=0.01,
    ),
    DemoQueue(
        "Seguro de Desempleo",
        "Reclamos, pagos y certificación semanal, en español.",
        {"ui": 3, "spanish": 6},
        aging_per_s=0.01,
    ),
    DemoQueue(
        "RESEA appointments",
        "Scheduling and preparing Reemployment Services and Eligibility Assessments.",
        {"resea": 4},
        sl_threshold_s=120,
    ),
    DemoQueue("Paid Leave", "Family and medical leave applications.", {"paid_leave": 3}),
    DemoQueue(
        "Employer line",
        "Employer accounts, separation notices and quarterly reports.",
        {"employer": 5},
        priority=1,
        sl_threshold_s=90,
    ),
    DemoQueue(
        "Video support",
        "Identity verification and assistance over video.",
        {"video": 1, "ui": 5},
        sl_threshold_s=180,
        max_size=50,
    ),
]


@dataclass(frozen=True)
class DemoAgent:
    """An agent of the demo centre: name, skills with proficiency, chat capacity."""

    username: str
    display_name: str
    skills: dict[str, int]
    chats: int = 3


AGENTS = [
    DemoAgent("maria.lopez", "María López", {"english": 9, "spanish": 10, "ui": 8, "video": 1}),
    DemoAgent("james.carter", "James Carter", {"english": 10, "ui": 9, "resea": 7}),
    DemoAgent("linh.nguyen", "Linh Nguyen", {"english": 8, "vietnamese": 10, "ui": 6}, chats=2),
    DemoAgent("ana.ruiz", "Ana Ruiz", {"english": 7, "spanish": 10, "ui": 7, "paid_leave": 5}),
    DemoAgent("david.kim", "David Kim", {"english": 10, "employer": 9, "ui": 4}, chats=2),
    DemoAgent("sarah.johnson", "Sarah Johnson", {"english": 10, "resea": 9, "ui": 6}),
    DemoAgent("olga.petrova", "Olga Petrova", {"english": 8, "russian": 10, "ui": 6}),
    DemoAgent("carlos.mendez", "Carlos Méndez", {"english": 8, "spanish": 9, "resea": 6}, chats=4),
    DemoAgent("aisha.mohamed", "Aisha Mohamed", {"english": 10, "paid_leave": 9, "ui": 5}),
    DemoAgent("tom.wilson", "Tom Wilson", {"english": 10, "employer": 7, "paid_leave": 6}),
    DemoAgent("rosa.garcia", "Rosa García", {"english": 6, "spanish": 10, "ui": 9, "video": 1}),
    DemoAgent("kevin.brown", "Kevin Brown", {"english": 10, "ui": 7, "video": 1}, chats=2),
]

DISPOSITIONS = {
    "work_search_reviewed": "Work search reviewed",
    "referred_worksource": "Referred to WorkSource center",
    "resea_appointment_set": "RESEA appointment set",
    "claim_status_explained": "Claim status explained",
    "identity_verification_started": "Identity verification started",
    "payment_issue_escalated": "Payment issue escalated",
    "weekly_certification_assisted": "Weekly certification assisted",
    "employer_account_updated": "Employer account updated",
    "paid_leave_application_assisted": "Paid leave application assisted",
}


@dataclass
class SeedReport:
    """How many rows of each kind the seeding added (zero on a second run)."""

    skills: int = 0
    queues: int = 0
    staff: int = 0
    dispositions: int = 0

    @property
    def total(self) -> int:
        """Rows added in all."""
        return self.skills + self.queues + self.staff + self.dispositions


DEMO_LOGINS = [
    ("admin", StaffRole.ADMIN, "Alex Admin"),
    ("supervisor", StaffRole.SUPERVISOR, "Sam Supervisor"),
]


async def seed_demo(session: AsyncSession) -> SeedReport:
    """Add whatever part of the demo centre is missing; flushes, the caller commits."""
    report = SeedReport()
    skills = await _seed_skills(session, report)
    await _seed_queues(session, skills, report)
    await _seed_staff(session, skills, report)
    await _seed_dispositions(session, report)
    return report


async def _seed_skills(session: AsyncSession, report: SeedReport) -> dict[str, Skill]:
    existing = {skill.name: skill for skill in await session.scalars(select(Skill))}
    for name, (kind, description) in SKILLS.items():
        if name not in existing:
            existing[name] = Skill(name=name, kind=kind, description=description)
            session.add(existing[name])
            report.skills += 1
    await session.flush()
    return existing


async def _seed_queues(session: AsyncSession, skills: dict[str, Skill], report: SeedReport) -> None:
    names = set(await session.scalars(select(Queue.name)))
    for demo in QUEUES:
        if demo.name in names:
            continue
        queue = Queue(
            name=demo.name,
            description=demo.description,
            priority=demo.priority,
            service_level_threshold_s=demo.sl_threshold_s,
            max_size=demo.max_size,
            aging_per_s=demo.aging_per_s,
            escalation_steps=demo.escalation_steps,
        )
        session.add(queue)
        await session.flush()
        for skill_name, min_level in demo.skills.items():
            session.add(
                QueueSkill(queue_id=queue.id, skill_id=skills[skill_name].id, min_level=min_level)
            )
        report.queues += 1
    await session.flush()


async def _seed_staff(session: AsyncSession, skills: dict[str, Skill], report: SeedReport) -> None:
    usernames = set(await session.scalars(select(Staff.username)))
    for username, role, display_name in DEMO_LOGINS:
        if username not in usernames:
            await create_staff(
                session,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                display_name=display_name,
            )
            report.staff += 1
    for demo in AGENTS:
        if demo.username in usernames:
            continue
        staff = await create_staff(
            session,
            username=demo.username,
            password=DEMO_PASSWORD,
            role=StaffRole.AGENT,
            display_name=demo.display_name,
            capacity={"chat": demo.chats},
        )
        for skill_name, level in demo.skills.items():
            session.add(
                AgentSkill(staff_id=staff.id, skill_id=skills[skill_name].id, proficiency=level)
            )
        report.staff += 1
    await session.flush()


async def _seed_dispositions(session: AsyncSession, report: SeedReport) -> None:
    codes = set(await session.scalars(select(Disposition.code)))
    for code, label in DISPOSITIONS.items():
        if code not in codes:
            session.add(Disposition(code=code, label=label))
            report.dispositions += 1
    await session.flush()
