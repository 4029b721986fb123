"""What edges ask of the routing writer, as plain data that can cross a process boundary.

In one process these objects go straight to the writer; across processes they travel as
JSON (`encode_request` / `decode_request`) on a Redis stream. Only the commands an edge
may send are accepted off the wire: configuration and recovery commands are read by the
writer itself from the database.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from typing import Any

from app.routing import commands as c
from app.routing.model import AgentState, Channel, SkillRequirement
from app.runtime.persistence import IdempotencyRecord, NewInteraction


@dataclass(frozen=True, slots=True)
class Execute:
    """Apply one lifecycle or presence command."""

    command: c.Command


@dataclass(frozen=True, slots=True)
class CreateInteraction:
    """Store a new interaction and route it, in one step."""

    arrive: c.Arrive
    new: NewInteraction


@dataclass(frozen=True, slots=True)
class ReloadQueue:
    """Re-read a queue's committed configuration into the engine."""

    queue_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class ReloadAgent:
    """Re-read an agent's committed skills, capacity and activity into the engine."""

    staff_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Sweep:
    """Compare the engine with the database and repair drift."""


@dataclass(frozen=True, slots=True)
class Query:
    """A read-only question about the engine, answered by a named handler with JSON."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)


WriterRequest = Execute | CreateInteraction | ReloadQueue | ReloadAgent | Sweep | Query


@dataclass(frozen=True, slots=True)
class Reply:
    """The writer's answer: a JSON result, or the problem to raise (status, code, detail…)."""

    result: Any = None
    error: dict[str, Any] | None = None


def changes_state(request: WriterRequest) -> bool:
    """True for requests that change routing (and so are applied at most once)."""
    return not isinstance(request, Query)


class MalformedRequestError(ValueError):
    """A request off the wire that this version cannot read."""


# Commands an edge may send; anything else off the wire is refused.
_EDGE_COMMANDS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        c.SetAgentState,
        c.Arrive,
        c.Accept,
        c.Reject,
        c.Abandon,
        c.Cancel,
        c.Complete,
        c.FinishWrapUp,
        c.Transfer,
    )
}


def encode_request(request: WriterRequest) -> dict[str, Any]:
    """The JSON form of a request."""
    match request:
        case Execute(command):
            return {"kind": "execute", "command": encode_command(command)}
        case CreateInteraction(arrive, new):
            return {
                "kind": "create",
                "arrive": encode_command(arrive),
                "new": _encode_new(new),
            }
        case ReloadQueue(queue_id):
            return {"kind": "reload_queue", "queue_id": str(queue_id)}
        case ReloadAgent(staff_id):
            return {"kind": "reload_agent", "staff_id": str(staff_id)}
        case Sweep():
            return {"kind": "sweep"}
        case Query(name, args):
            return {"kind": "query", "name": name, "args": args}
    raise TypeError(f"not a writer request: {request!r}")


def decode_request(data: dict[str, Any]) -> WriterRequest:
    """The request a JSON form stands for; raises `MalformedRequestError` when unreadable."""
    try:
        return _decode_request(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedRequestError(f"unreadable writer request: {exc}") from exc


def _decode_request(data: dict[str, Any]) -> WriterRequest:
    kind = data["kind"]
    if kind == "execute":
        return Execute(decode_command(data["command"]))
    if kind == "create":
        arrive = decode_command(data["arrive"])
        if not isinstance(arrive, c.Arrive):
            raise ValueError("a create carries an Arrive command")
        return CreateInteraction(arrive, _decode_new(data["new"]))
    if kind == "reload_queue":
        return ReloadQueue(uuid.UUID(data["queue_id"]))
    if kind == "reload_agent":
        return ReloadAgent(uuid.UUID(data["staff_id"]))
    if kind == "sweep":
        return Sweep()
    if kind == "query":
        return Query(str(data["name"]), dict(data["args"]))
    raise ValueError(f"unknown request kind {kind!r}")


def encode_command(command: c.Command) -> dict[str, Any]:
    """The JSON form of an edge command: its type name and its fields."""
    name = type(command).__name__
    if name not in _EDGE_COMMANDS:
        raise TypeError(f"{name} cannot be sent to the writer")
    fields: dict[str, Any] = {"type": name}
    for item in dataclasses.fields(command):
        value = getattr(command, item.name)
        if isinstance(value, frozenset):
            value = sorted([need.skill, need.min_level] for need in value)
        fields[item.name] = value
    return fields


def decode_command(data: dict[str, Any]) -> c.Command:
    """The edge command a JSON form stands for."""
    fields = dict(data)
    cls = _EDGE_COMMANDS.get(fields.pop("type"))
    if cls is None:
        raise ValueError(f"not an edge command: {data.get('type')!r}")
    if "channel" in fields:
        fields["channel"] = Channel(fields["channel"])
    if "state" in fields:
        fields["state"] = AgentState(fields["state"])
    if fields.get("skills") is not None:
        fields["skills"] = frozenset(
            SkillRequirement(str(skill), int(level)) for skill, level in fields["skills"]
        )
    command: c.Command = cls(**fields)
    return command


def _encode_new(new: NewInteraction) -> dict[str, Any]:
    data = dataclasses.asdict(new)
    data["id"] = str(new.id)
    data["queue_id"] = str(new.queue_id) if new.queue_id else None
    return data


def _decode_new(data: dict[str, Any]) -> NewInteraction:
    fields = dict(data)
    fields["id"] = uuid.UUID(fields["id"])
    fields["channel"] = Channel(fields["channel"])
    fields["queue_id"] = uuid.UUID(fields["queue_id"]) if fields["queue_id"] else None
    if fields.get("idempotency") is not None:
        fields["idempotency"] = IdempotencyRecord(**fields["idempotency"])
    return NewInteraction(**fields)
