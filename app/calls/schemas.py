"""Request and response bodies of the calls API."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from app import clock
from app.calls.models import CallParty, CallStatus
from app.routing.model import InteractionState

# Telephony clocks drift; an event this far ahead of ours is a mistake, not drift.
MAX_CLOCK_AHEAD = timedelta(minutes=5)


class IceServer(BaseModel):
    """One entry of RTCPeerConnection's `iceServers`; TURN entries carry credentials."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class IceServers(BaseModel):
    """What a browser passes to `new RTCPeerConnection({iceServers})`, and for how long."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "iceServers": [
                        {"urls": ["stun:turn.esd.example.gov:3478"]},
                        {
                            "urls": ["turn:turn.esd.example.gov:3478?transport=udp"],
                            "username": "1796239200:4b1f0c1e-6f0e-4f55-9a55-2f0d8f3b3c11",
                            "credential": "YPHMM06K+nOzX6k1Yz4LO87SRUg=",
                        },
                    ],
                    "ttl_s": 3600,
                }
            ]
        }
    )

    iceServers: list[IceServer]  # noqa: N815 - the WebRTC name, so the list passes as is.
    ttl_s: int = Field(description="Fetch again before this many seconds pass")


class CallEventType(StrEnum):
    """What happened to a call, as a telephony platform reports it."""

    ANSWERED = "answered"
    HELD = "held"
    RESUMED = "resumed"
    ENDED = "ended"


class CallEventCreate(BaseModel):
    """One call event from the telephony platform."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"event": "answered", "call_id": "pbx-7f3a9c", "at": "2026-12-01T15:04:05Z"},
                {"event": "ended", "call_id": "pbx-7f3a9c", "ended_by": "customer"},
            ]
        },
    )

    event: CallEventType
    at: AwareDatetime | None = Field(None, description="When it happened; defaults to now")
    call_id: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = Field(None, description="The telephony's call id; checked against the interaction's")
    ended_by: CallParty | None = Field(None, description="Who hung up (with `ended` only)")

    @field_validator("at")
    @classmethod
    def _not_in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > clock.utcnow() + MAX_CLOCK_AHEAD:
            raise ValueError("is more than 5 minutes ahead of the service's clock")
        return value

    @field_validator("ended_by")
    @classmethod
    def _only_when_ended(cls, value: CallParty | None, info: ValidationInfo) -> CallParty | None:
        if value is not None and info.data.get("event") is not CallEventType.ENDED:
            raise ValueError("only an `ended` event says who ended the call")
        return value


class BrowserCallState(StrEnum):
    """What a browser of a web call reports in a `call_state` frame."""

    CONNECTED = "connected"
    HELD = "held"
    RESUMED = "resumed"


# Bounds of a sane getStats summary; anything past them is a broken page, not a bad line.
MAX_QUALITY_MS = 60_000.0
MAX_QUALITY_SAMPLES = 1_000_000


class CallQualityReport(BaseModel):
    """One side's summary of a call so far, from its own getStats (a `call_quality` frame)."""

    model_config = ConfigDict(extra="ignore")

    rtt_ms: float | None = Field(None, ge=0, le=MAX_QUALITY_MS, description="Mean round trip")
    jitter_ms: float | None = Field(None, ge=0, le=MAX_QUALITY_MS, description="Mean jitter")
    loss_pct: float | None = Field(
        None, ge=0, le=100, description="Inbound audio packets lost over the call, in %"
    )
    samples: int = Field(ge=0, le=MAX_QUALITY_SAMPLES, description="getStats readings summed")


class QualitySummary(CallQualityReport):
    """A side's latest summary and when it came."""

    at: datetime


class CallQuality(BaseModel):
    """Each side's quality summary; None until that side sent one."""

    customer: QualitySummary | None = None
    agent: QualitySummary | None = None


class CallRead(BaseModel):
    """A call's state, figures and quality; durations in seconds."""

    interaction_id: uuid.UUID
    interaction_state: InteractionState
    call_id: str | None
    status: CallStatus
    connected_at: datetime | None
    held_since: datetime | None = Field(description="Set while on hold")
    hold_s: float = Field(description="Time on hold so far, finished holds only")
    hold_count: int
    ended_at: datetime | None
    ended_by: CallParty | None
    talk_s: float | None = Field(
        description="Connected time less hold time over every leg, once ended"
    )
    legs: int = Field(description="Times the call connected (again after a transfer)")
    quality: CallQuality
