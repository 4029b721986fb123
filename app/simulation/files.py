"""Trace and roster CSV readers, and the per-interaction CSV writer."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from app.routing.model import AgentId, Channel, InteractionId, QueueId, agent_config
from app.routing.simulate import Outcome, RosterAgent, TraceArrival
from app.simulation.scenario import InputError, parse_skills

TRACE_COLUMNS = ("id", "arrival_s", "queue", "channel", "skills", "handle_s", "patience_s")
ROSTER_COLUMNS = ("agent", "skills", "chat_capacity")
OUT_COLUMNS = ("id", "queue", "agent", "arrival_s", "answered_s", "abandoned_s", "ended_s")


class _Row:
    """One CSV row with field access that names file, line and field on error."""

    def __init__(self, source: str, line: int, values: dict[str, str]) -> None:
        self.source, self.line, self.values = source, line, values

    def fail(self, field: str, problem: str) -> InputError:
        """An error naming this row's field."""
        return InputError(f"{self.source}:{self.line}: field {field!r}: {problem}")

    def text(self, field: str, *, required: bool = True) -> str:
        """The stripped value."""
        value = (self.values.get(field) or "").strip()
        if required and not value:
            raise self.fail(field, "is empty")
        return value

    def number(self, field: str, *, optional: bool = False) -> float | None:
        """A finite number >= 0 (or None when empty and `optional`)."""
        value = self.text(field, required=not optional)
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            raise self.fail(field, f"not a number: {value!r}") from None
        if not math.isfinite(number) or number < 0:
            raise self.fail(field, f"must be a finite number >= 0, got {value!r}")
        return number


def _rows(path: Path, columns: tuple[str, ...]) -> Iterable[_Row]:
    source = str(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{source}: cannot read: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [name for name in columns if name not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{source}:1: missing column(s): {', '.join(missing)}")
        for values in reader:
            yield _Row(source, reader.line_num, values)


def read_trace(path: Path) -> list[TraceArrival]:
    """Read `id,arrival_s,queue,channel,skills,handle_s,patience_s` rows."""
    arrivals = []
    seen: set[str] = set()
    for row in _rows(path, TRACE_COLUMNS):
        interaction_id = row.text("id")
        if interaction_id in seen:
            raise row.fail("id", f"duplicate id {interaction_id!r}")
        seen.add(interaction_id)
        queue = row.text("queue", required=False)
        skills_text = row.text("skills", required=False)
        skills = parse_skills(skills_text, lambda problem, r=row: r.fail("skills", problem))
        if not queue and not skills_text:
            raise row.fail("queue", "give a queue or skills")
        channel_text = row.text("channel", required=False) or "chat"
        try:
            channel = Channel(channel_text)
        except ValueError:
            raise row.fail("channel", f"unknown channel {channel_text!r}") from None
        arrivals.append(
            TraceArrival(
                id=InteractionId(interaction_id),
                arrival_s=_required(row.number("arrival_s")),
                queue_id=QueueId(queue) if queue else None,
                channel=channel,
                skills=skills if not queue else None,
                handle_s=_required(row.number("handle_s")),
                patience_s=row.number("patience_s", optional=True),
            )
        )
    return arrivals


def _required(value: float | None) -> float:
    assert value is not None
    return value


def read_roster(path: Path) -> list[RosterAgent]:
    """Read `agent,skills,chat_capacity` rows; skills as `name:level` joined by `;`."""
    agents = []
    for row in _rows(path, ROSTER_COLUMNS):
        agent_id = row.text("agent")
        skills: dict[str, int] = {}
        for part in row.text("skills", required=False).split(";"):
            if not part.strip():
                continue
            name, _, level = part.partition(":")
            try:
                value = int(level) if level else 1
            except ValueError:
                raise row.fail("skills", f"level must be an integer in {part!r}") from None
            if not name.strip() or not 1 <= value <= 10:
                raise row.fail("skills", f"expected name:level with level 1..10, got {part!r}")
            skills[name.strip()] = value
        chat = row.number("chat_capacity", optional=True)
        if chat is not None and chat != int(chat):
            raise row.fail("chat_capacity", "must be a whole number")
        capacity = {Channel.CHAT: int(chat)} if chat is not None else {}
        agents.append(RosterAgent(agent_config(AgentId(agent_id), skills, capacity=capacity)))
    return agents


def write_outcomes(handle: TextIO, outcomes: Iterable[Outcome]) -> None:
    """One row per interaction; times in seconds after the start, empty when not reached."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(OUT_COLUMNS)
    fmt: Callable[[float | None], str] = lambda value: "" if value is None else f"{value:.3f}"  # noqa: E731
    for o in outcomes:
        writer.writerow(
            [
                o.id,
                o.queue,
                o.agent or "",
                fmt(o.arrival_s),
                fmt(o.answered_s),
                fmt(o.abandoned_s),
                fmt(o.ended_s),
            ]
        )
