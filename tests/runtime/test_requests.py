"""Writer requests survive the trip to JSON and back; anything else off the wire is refused."""

from __future__ import annotations

import json
import uuid

import pytest

from app.routing import commands as c
from app.routing.model import (
    AgentConfig,
    AgentId,
    AgentState,
    Channel,
    InteractionId,
    QueueId,
    requirement,
)
from app.runtime.persistence import IdempotencyRecord, NewInteraction
from app.runtime.requests import (
    CreateInteraction,
    Execute,
    MalformedRequestError,
    Query,
    ReloadAgent,
    ReloadQueue,
    Sweep,
    WriterRequest,
    changes_state,
    decode_request,
    encode_request,
)

IX = InteractionId(str(uuid.uuid4()))
AGENT = AgentId(str(uuid.uuid4()))
QUEUE = QueueId(str(uuid.uuid4()))

EDGE_COMMANDS: list[c.Command] = [
    c.SetAgentState(AGENT, AgentState.BUSY, "break"),
    c.Arrive(IX, Channel.VOICE, queue_id=QUEUE, priority=3, preferred_agent=AGENT),
    c.Arrive(IX, Channel.CHAT, skills=requirement("spanish:5", "ui")),
    c.Accept(IX, AGENT),
    c.Reject(IX, AGENT),
    c.Abandon(IX),
    c.Cancel(IX),
    c.Complete(IX),
    c.FinishWrapUp(IX),
    c.Transfer(IX, to_queue=QUEUE),
    c.Transfer(IX, to_agent=AGENT),
]


def _round_trip(request: WriterRequest) -> WriterRequest:
    return decode_request(json.loads(json.dumps(encode_request(request))))


@pytest.mark.parametrize("command", EDGE_COMMANDS, ids=lambda command: type(command).__name__)
def test_every_edge_command_comes_back_equal(command: c.Command) -> None:
    assert _round_trip(Execute(command)) == Execute(command)


def test_a_creation_comes_back_with_its_row_and_idempotency_key() -> None:
    new = NewInteraction(
        id=uuid.UUID(IX),
        channel=Channel.CHAT,
        queue_id=uuid.UUID(QUEUE),
        required_skills=[{"skill": "ui", "min_level": 2}],
        customer_name="Ana",
        customer_contact={"email": "ana@example.org"},
        attributes={"claim": "UI-1"},
        idempotency=IdempotencyRecord("integrator-1", "key-1", "ab" * 32),
    )
    request = CreateInteraction(c.Arrive(IX, Channel.CHAT, queue_id=QUEUE), new)
    assert _round_trip(request) == request


@pytest.mark.parametrize(
    "request_",
    [
        ReloadQueue(uuid.uuid4()),
        ReloadAgent(uuid.uuid4()),
        Sweep(),
        Query("stats.queues", {"a": [1, "b"]}),
    ],
    ids=lambda request: type(request).__name__,
)
def test_other_requests_come_back_equal(request_: WriterRequest) -> None:
    assert _round_trip(request_) == request_


def test_only_queries_leave_routing_unchanged() -> None:
    assert not changes_state(Query("stats.queues"))
    assert changes_state(Execute(c.Cancel(IX)))
    assert changes_state(Sweep())


def test_configuration_commands_cannot_be_sent_by_edges() -> None:
    upsert = c.UpsertAgent(AgentConfig(AGENT, "Maria", skills={}))
    with pytest.raises(TypeError):
        encode_request(Execute(upsert))


@pytest.mark.parametrize(
    "wire",
    [
        {"kind": "execute", "command": {"type": "UpsertAgent", "config": {}}},
        {"kind": "execute", "command": {"type": "Accept", "interaction_id": "x"}},
        {"kind": "reload_queue", "queue_id": "not-a-uuid"},
        {"kind": "create", "arrive": {"type": "Cancel", "interaction_id": "x"}, "new": {}},
        {"kind": "teleport"},
        {},
    ],
)
def test_unreadable_requests_are_refused(wire: dict[str, object]) -> None:
    with pytest.raises(MalformedRequestError):
        decode_request(wire)  # type: ignore[arg-type]
