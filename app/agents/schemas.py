"""Request and response bodies of the agents API, and the staff fields the users API shares."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    field_validator,
)

from app.agents.models import MAX_PROFICIENCY, MIN_PROFICIENCY, USERNAME_PATTERN, Staff
from app.api.fields import Email, Name, Slug, not_null
from app.auth.passwords import check_password_strength
from app.routing.model import DEFAULT_CAPACITY, Channel

MAX_CAPACITY = 20
MAX_SKILLS = 50


def _trim_lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _trim(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _check_username(value: str) -> str:
    if not USERNAME_PATTERN.match(value):
        raise ValueError("use 2-64 lower-case letters, digits, '.', '_' or '-'")
    return value


def _check_password(value: str) -> str:
    check_password_strength(value)
    return value


Username = Annotated[
    str,
    BeforeValidator(_trim_lower),
    Field(min_length=2, max_length=64, examples=["maria.lopez"]),
    AfterValidator(_check_username),
]
"""A sign-in name: trimmed, lower-cased, unique."""

Password = Annotated[
    str,
    Field(min_length=8, max_length=256, examples=["correct-horse-battery"]),
    AfterValidator(_check_password),
]
"""A new password: at least 8 characters, not trivially guessable. Never returned."""

PHONE_ENDPOINT_PATTERN = re.compile(
    r"^(?:(?:sips?|tel):[^\s]{1,196}|\+?[0-9*#](?:[0-9*#.()\- ]{0,38}[0-9*#])?)$"
)


def _check_phone_endpoint(value: str) -> str:
    if not PHONE_ENDPOINT_PATTERN.match(value):
        raise ValueError(
            "use a SIP URI (sip:maria@pbx.example.gov), a tel: URI, an extension or a number"
        )
    return value


PhoneEndpoint = Annotated[
    str,
    BeforeValidator(_trim),
    Field(
        min_length=1,
        max_length=200,
        description="Where a telephony platform rings this agent: SIP URI, extension or number",
        examples=["sip:maria.lopez@pbx.esd.example.gov", "4021", "+15125550142"],
    ),
    AfterValidator(_check_phone_endpoint),
]

Capacity = Annotated[
    dict[Channel, Annotated[int, Field(ge=0, le=MAX_CAPACITY)]],
    Field(
        description="Interactions per channel at once (0-20); channels left out use defaults",
        examples=[{"chat": 3, "email": 5}],
    ),
]


class AgentSkill(BaseModel):
    """A skill an agent holds, by name, with proficiency 1 (learning) to 10 (expert)."""

    model_config = ConfigDict(extra="forbid")

    skill: Slug
    proficiency: int = Field(ge=MIN_PROFICIENCY, le=MAX_PROFICIENCY)


def _distinct_skills(items: list[AgentSkill]) -> list[AgentSkill]:
    names = [item.skill for item in items]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"each skill may appear once; repeated: {', '.join(repeated)}")
    return items


AgentSkills = Annotated[
    list[AgentSkill], Field(max_length=MAX_SKILLS), AfterValidator(_distinct_skills)
]

_SKILLS_EXAMPLE: list[JsonValue] = [
    {"skill": "spanish", "proficiency": 9},
    {"skill": "ui", "proficiency": 7},
]


class AgentCreate(BaseModel):
    """A new agent: a staff account with role `agent` and its routing profile."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "maria.lopez",
                    "password": "correct-horse-battery",
                    "display_name": "María López",
                    "email": "maria.lopez@esd.example.gov",
                    "skills": _SKILLS_EXAMPLE,
                    "capacity": {"chat": 3},
                }
            ]
        },
    )

    username: Username
    password: Password
    display_name: Name | None = Field(default=None, description="Defaults to the username")
    email: Email | None = None
    skills: AgentSkills = Field(default_factory=list)
    capacity: Capacity = Field(default_factory=dict)
    phone_endpoint: PhoneEndpoint | None = None


class AgentUpdate(BaseModel):
    """Fields to change; `capacity` replaces the stored map. Skills: PUT /agents/{id}/skills."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"capacity": {"chat": 2, "email": 8}}]}
    )

    display_name: Name | None = None
    email: Email | None = Field(default=None, description="null removes the address")
    capacity: Capacity | None = None
    phone_endpoint: PhoneEndpoint | None = Field(default=None, description="null removes it")

    _not_null = field_validator("display_name", "capacity")(not_null)


class AgentSkillsReplace(BaseModel):
    """The agent's whole set of skills; skills left out are removed."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"skills": _SKILLS_EXAMPLE}]}
    )

    skills: AgentSkills


class AgentRead(BaseModel):
    """An agent's account and routing profile (never the password hash)."""

    id: uuid.UUID
    username: str
    display_name: str
    email: str | None
    active: bool
    skills: list[AgentSkill]
    capacity: dict[Channel, int] = Field(description="What was set; other channels use defaults")
    effective_capacity: dict[Channel, int] = Field(description="What the router applies")
    phone_endpoint: str | None = Field(
        default=None, description="Sent to telephony in the interaction.accepted webhook"
    )
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, staff: Staff, skills: list[tuple[str, int]]) -> AgentRead:
        """Combine a staff row with its (skill name, proficiency) pairs."""
        capacity = stored_capacity(staff)
        return cls(
            id=staff.id,
            username=staff.username,
            display_name=staff.display_name,
            email=staff.email,
            active=staff.active,
            skills=[AgentSkill(skill=name, proficiency=level) for name, level in skills],
            capacity=capacity,
            effective_capacity={**DEFAULT_CAPACITY, **capacity},
            phone_endpoint=staff.phone_endpoint,
            last_login_at=staff.last_login_at,
            created_at=staff.created_at,
            updated_at=staff.updated_at,
        )


def stored_capacity(staff: Staff) -> dict[Channel, int]:
    """The capacity overrides stored on a staff row (unknown channel names are ignored)."""
    known = {channel.value for channel in Channel}
    return {Channel(name): int(value) for name, value in staff.capacity.items() if name in known}
