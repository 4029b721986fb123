"""Unit tests of the routing engine, one behaviour each, with a fake `now`."""

from __future__ import annotations

from datetime import date

import pytest

from app.routing import commands as c
from app.routing import core as routing_core
from app.routing import events as ev
from app.routing.engine import Engine
from app.routing.errors import (
    AgentUnavailableError,
    DuplicateInteractionError,
    InvalidCommandError,
    InvalidStateError,
    OfferExpiredError,
    QueueFullError,
    QueueNotEmptyError,
    UnknownAgentError,
    UnknownInteractionError,
    UnknownQueueError,
    WrongAgentError,
)
from app.routing.model import (
    AgentId,
    AgentState,
    BusinessHours,
    Channel,
    ClosedPolicy,
    CustomerId,
    EscalationStep,
    InteractionId,
    InteractionState,
    OpenInterval,
    QueueConfig,
    QueueId,
    SelectionStrategy,
    agent_config,
    requirement,
)

T0 = 1_741_000_000.0  # 2025-03-03T11:06:40Z, a Monday
Q = QueueId("ui-en")
UI_EN = requirement("ui", "english:3")


def iid(n: int | str) -> InteractionId:
    return InteractionId(f"i{n}")


def aid(name: str) -> AgentId:
    return AgentId(name)


def make(**queue_fields: object) -> Engine:
    engine = Engine()
    config = QueueConfig(Q, required=UI_EN, **queue_fields)  # type: ignore[arg-type]
    engine.apply(c.UpsertQueue(config), T0)
    return engine


def add_agent(
    engine: Engine,
    name: str,
    skills: dict[str, int] | None = None,
    *,
    chat: int = 3,
    available: bool = True,
    now: float = T0,
) -> list[ev.Event]:
    config = agent_config(name, skills or {"ui": 5, "english": 5}, capacity={Channel.CHAT: chat})
    out = engine.apply(c.UpsertAgent(config), now)
    if available:
        out += engine.apply(c.SetAgentState(aid(name), AgentState.AVAILABLE), now)
    return out


def arrive(
    engine: Engine, n: int | str, now: float = T0, channel: Channel = Channel.CHAT, **kw: object
) -> list[ev.Event]:
    queue_id = kw.pop("queue_id", Q)
    return engine.apply(c.Arrive(iid(n), channel, queue_id=queue_id, **kw), now)  # type: ignore[arg-type]


def offers(events: list[ev.Event]) -> list[tuple[str, str]]:
    return [(e.interaction_id, e.agent_id) for e in events if isinstance(e, ev.InteractionOffered)]


def kinds(events: list[ev.Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def state(engine: Engine, n: int | str) -> InteractionState | None:
    view = engine.interaction(iid(n))
    return view.state if view else None


# ---- arrival and ordering -----------------------------------------------------------------


def test_arrival_is_offered_at_once_to_a_free_eligible_agent() -> None:
    engine = make()
    add_agent(engine, "ana")
    events = arrive(engine, 1)
    assert kinds(events) == ["InteractionQueued", "InteractionOffered"]
    assert offers(events) == [("i1", "ana")]


def test_arrival_waits_when_no_agent_has_the_skills() -> None:
    engine = make()
    add_agent(engine, "bob", {"ui": 5})
    assert offers(arrive(engine, 1)) == []
    assert state(engine, 1) is InteractionState.QUEUED


@pytest.mark.parametrize(
    ("arrivals", "expected_first"),
    [
        ([(1, 0), (2, 0), (3, 0)], "i1"),  # FIFO among equals
        ([(1, 0), (2, 5), (3, 0)], "i2"),  # priority first
        ([(1, 1), (2, 1), (3, 5)], "i3"),
    ],
)
def test_free_agent_takes_highest_priority_then_earliest(
    arrivals: list[tuple[int, int]], expected_first: str
) -> None:
    engine = make()
    for offset, (n, priority) in enumerate(arrivals):
        arrive(engine, n, T0 + offset, priority=priority)
    events = add_agent(engine, "ana", chat=1, now=T0 + 10)
    assert offers(events) == [(expected_first, "ana")]


def test_aging_lets_an_old_low_priority_interaction_overtake_a_new_high_one() -> None:
    engine = make(aging_per_s=0.1)
    arrive(engine, "old", T0, priority=0)
    arrive(engine, "new", T0 + 100, priority=5)  # at T0+100 old has 10 > 5
    events = add_agent(engine, "ana", chat=1, now=T0 + 100)
    assert offers(events) == [("iold", "ana")]


def test_queue_priority_orders_across_queues() -> None:
    engine = make()
    engine.apply(c.UpsertQueue(QueueConfig(QueueId("vip"), required=UI_EN, priority=3)), T0)
    arrive(engine, 1, T0)
    arrive(engine, 2, T0 + 1, queue_id=QueueId("vip"))
    assert offers(add_agent(engine, "ana", chat=1, now=T0 + 2)) == [("i2", "ana")]


def test_raising_a_waiting_interactions_priority_puts_it_first_in_line() -> None:
    engine = make()
    arrive(engine, 1, T0)
    arrive(engine, 2, T0 + 1)
    events = engine.apply(c.SetPriority(iid(2), 5), T0 + 2)
    assert events == [ev.InteractionReprioritized(T0 + 2, iid(2), Q, 0, 5)]
    position = engine.position(iid(2))
    assert position is not None and position[0] == 1
    assert offers(add_agent(engine, "ana", chat=1, now=T0 + 3)) == [("i2", "ana")]


def test_only_a_waiting_interaction_can_be_reprioritised() -> None:
    engine = make()
    add_agent(engine, "ana", chat=1)
    arrive(engine, 1)  # offered to Ana at once
    with pytest.raises(InvalidStateError):
        engine.apply(c.SetPriority(iid(1), 5), T0 + 1)
    with pytest.raises(UnknownInteractionError):
        engine.apply(c.SetPriority(iid(9), 5), T0 + 1)


def test_full_queue_refuses_with_reason() -> None:
    engine = make(max_size=1)
    arrive(engine, 1)
    events = arrive(engine, 2)
    assert isinstance(events[0], ev.InteractionRefused) and events[0].reason == "queue_full"
    assert engine.interaction(iid(2)) is None


MONDAY_9_TO_5 = BusinessHours(
    "America/New_York", (OpenInterval(0, 9 * 60, 17 * 60),), frozenset({date(2025, 3, 10)})
)


@pytest.mark.parametrize(
    ("at", "policy", "expected"),
    [
        (T0, ClosedPolicy.REFUSE, "InteractionRefused"),  # 06:06 local: before opening
        (T0, ClosedPolicy.CALLBACK, "CallbackScheduled"),
        (T0 + 3 * 3600, ClosedPolicy.REFUSE, "InteractionOffered"),  # 09:06 local: open
        (T0 + 7 * 86400 + 3 * 3600, ClosedPolicy.REFUSE, "InteractionRefused"),  # holiday
    ],
)
def test_business_hours_decide_refuse_callback_or_route(
    at: float, policy: ClosedPolicy, expected: str
) -> None:
    engine = make(hours=MONDAY_9_TO_5, closed_policy=policy)
    add_agent(engine, "ana", now=at)
    assert expected in kinds(arrive(engine, 1, at))


def test_callback_enters_routing_when_the_queue_opens() -> None:
    engine = make(hours=MONDAY_9_TO_5, closed_policy=ClosedPolicy.CALLBACK)
    add_agent(engine, "ana")
    scheduled = arrive(engine, 1)[-1]
    assert isinstance(scheduled, ev.CallbackScheduled)
    assert engine.next_deadline() == scheduled.callback_at
    assert offers(engine.apply(c.Tick(), scheduled.callback_at)) == [("i1", "ana")]


# ---- escalation ---------------------------------------------------------------------------


def test_escalation_also_offers_to_agents_with_other_skills_after_a_wait() -> None:
    step = EscalationStep(after_s=120, also=requirement("ui:7"))
    engine = make(escalation=(step,))
    add_agent(engine, "senior", {"ui": 8})  # no English: not eligible at first
    assert offers(arrive(engine, 1)) == []
    events = engine.apply(c.Tick(), T0 + 120)
    assert kinds(events) == ["InteractionEscalated", "InteractionOffered"]


def test_escalation_relaxes_required_skills() -> None:
    step = EscalationStep(after_s=60, required=requirement("ui"))
    engine = make(escalation=(step,))
    add_agent(engine, "bob", {"ui": 2})
    arrive(engine, 1)
    assert offers(engine.apply(c.Tick(), T0 + 60)) == [("i1", "bob")]


def test_escalation_raises_priority() -> None:
    engine = make(escalation=(EscalationStep(after_s=30, priority_delta=10),))
    arrive(engine, 1, T0)
    arrive(engine, 2, T0 + 1, priority=5)
    engine.apply(c.Tick(), T0 + 30)
    assert offers(add_agent(engine, "ana", chat=1, now=T0 + 31)) == [("i1", "ana")]


def test_overflow_moves_to_another_queue_keeping_the_queued_time() -> None:
    engine = make(escalation=(EscalationStep(after_s=300, overflow_to=QueueId("spill")),))
    engine.apply(c.UpsertQueue(QueueConfig(QueueId("spill"))), T0)
    arrive(engine, 1, T0)
    events = engine.apply(c.Tick(), T0 + 300)
    assert isinstance(events[0], ev.InteractionEscalated)
    view = engine.interaction(iid(1))
    assert view is not None and view.queue_id == "spill" and view.queued_at == T0


# ---- selection ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (SelectionStrategy.LONGEST_IDLE, "early"),
        (SelectionStrategy.MOST_SKILLED, "expert"),
        (SelectionStrategy.LEAST_OCCUPIED, "expert"),
    ],
)
def test_selection_strategy_picks_the_agent(strategy: SelectionStrategy, expected: str) -> None:
    engine = make(strategy=strategy)
    add_agent(engine, "early", {"ui": 3, "english": 3}, now=T0)
    add_agent(engine, "expert", {"ui": 10, "english": 10}, now=T0 + 5)
    arrive(engine, 0, T0 + 6)  # goes to one of them, then completes
    first = engine.interaction(iid(0))
    assert first is not None and first.agent_id is not None
    if strategy is SelectionStrategy.LEAST_OCCUPIED:
        engine.apply(c.Accept(iid(0), first.agent_id), T0 + 7)
        assert first.agent_id == "early"  # longest idle breaks the tie
    else:
        engine.apply(c.Reject(iid(0), first.agent_id), T0 + 7)
        engine.apply(c.Cancel(iid(0)), T0 + 7)
    assert offers(arrive(engine, 1, T0 + 8))[0][1] == expected


def test_round_robin_rotates_through_agents() -> None:
    engine = make(strategy=SelectionStrategy.ROUND_ROBIN)
    for name in ("a", "b", "c"):
        add_agent(engine, name, chat=5)
    chosen = [offers(arrive(engine, n, T0 + n))[0][1] for n in range(6)]
    assert chosen == ["a", "b", "c", "a", "b", "c"]


def test_sticky_interaction_waits_for_the_last_agent_then_goes_to_anyone() -> None:
    engine = make(sticky_s=60)
    add_agent(engine, "ana", chat=1)
    customer = CustomerId("claimant-7")
    arrive(engine, 1, T0, customer_id=customer)
    engine.apply(c.Accept(iid(1), aid("ana")), T0 + 1)
    add_agent(engine, "bob", now=T0 + 2)
    assert offers(arrive(engine, 2, T0 + 10, customer_id=customer)) == []  # held for ana
    events = engine.apply(c.Tick(), T0 + 70)
    assert offers(events) == [("i2", "bob")]
    # Said as an event, so the stored row stops naming ana (a restart would hold it again).
    assert ev.InteractionRequeued(T0 + 70, iid(2), Q, aid("ana"), "sticky_expired") in events


def test_sticky_interaction_goes_to_the_last_agent_when_free() -> None:
    engine = make(sticky_s=60)
    add_agent(engine, "ana", chat=1)
    customer = CustomerId("claimant-7")
    arrive(engine, 1, T0, customer_id=customer)
    engine.apply(c.Accept(iid(1), aid("ana")), T0 + 1)
    engine.apply(c.Complete(iid(1)), T0 + 5)
    add_agent(engine, "bob", now=T0 + 6)
    assert offers(arrive(engine, 2, T0 + 10, customer_id=customer)) == [("i2", "ana")]


def test_sticky_memory_forgets_the_longest_unserved_customer_past_its_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(routing_core, "STICKY_MEMORY_LIMIT", 1)
    engine = make(sticky_s=60)
    add_agent(engine, "ana", chat=1)
    add_agent(engine, "bob", chat=3, now=T0 + 2)
    first, second = CustomerId("claimant-7"), CustomerId("claimant-8")
    arrive(engine, 1, T0 + 3, customer_id=first)  # ana, the longest idle
    engine.apply(c.Accept(iid(1), aid("ana")), T0 + 4)
    arrive(engine, 2, T0 + 5, customer_id=second)  # ana is full: bob
    engine.apply(c.Accept(iid(2), aid("bob")), T0 + 6)
    # Ana is still busy; the first customer is forgotten, so not held for her.
    assert offers(arrive(engine, 3, T0 + 10, customer_id=first)) == [("i3", "bob")]


# ---- offers -------------------------------------------------------------------------------


def test_accept_makes_the_interaction_active() -> None:
    engine = make()
    add_agent(engine, "ana")
    arrive(engine, 1)
    events = engine.apply(c.Accept(iid(1), aid("ana")), T0 + 4)
    assert isinstance(events[0], ev.OfferAccepted) and events[0].wait_s == 4
    assert state(engine, 1) is InteractionState.ACTIVE


def test_reject_offers_to_the_next_eligible_agent() -> None:
    engine = make()
    add_agent(engine, "ana", now=T0)
    add_agent(engine, "bob", now=T0 + 1)
    assert offers(arrive(engine, 1, T0 + 2)) == [("i1", "ana")]
    events = engine.apply(c.Reject(iid(1), aid("ana")), T0 + 3)
    assert offers(events) == [("i1", "bob")]


def test_rejected_interaction_keeps_its_place_in_line() -> None:
    engine = make()
    add_agent(engine, "ana", chat=1)
    arrive(engine, 1, T0)
    arrive(engine, 2, T0 + 1)
    engine.apply(c.Reject(iid(1), aid("ana")), T0 + 2)  # ana takes i2 meanwhile
    add_agent(engine, "bob", chat=1, now=T0 + 3)
    view = engine.interaction(iid(1))
    assert view is not None and view.agent_id == "bob" and view.queued_at == T0


def test_rejecting_agent_gets_the_interaction_again_after_the_pause() -> None:
    engine = make(reoffer_after_s=20)
    add_agent(engine, "ana")
    arrive(engine, 1)
    assert offers(engine.apply(c.Reject(iid(1), aid("ana")), T0 + 1)) == []
    assert offers(engine.apply(c.Tick(), T0 + 21)) == [("i1", "ana")]


@pytest.mark.parametrize(("missed_policy", "agent_state"), [(True, "busy"), (False, "available")])
def test_offer_time_out_requeues_and_applies_missed_policy(
    missed_policy: bool, agent_state: str
) -> None:
    engine = make(offer_timeout_s=15, missed_policy=missed_policy)
    add_agent(engine, "ana")
    arrive(engine, 1)
    assert engine.next_deadline() == T0 + 15
    events = engine.apply(c.Tick(), T0 + 15)
    assert "OfferTimedOut" in kinds(events)
    agent = engine.agent(aid("ana"))
    assert agent is not None and agent.state == agent_state
    assert state(engine, 1) is InteractionState.QUEUED
    if missed_policy:
        assert agent.reason == "missed"


def test_a_closed_interactions_old_timer_does_not_fire_on_a_new_one_with_its_id() -> None:
    engine = make(offer_timeout_s=30)
    add_agent(engine, "ana")
    arrive(engine, 1)
    engine.apply(c.Accept(iid(1), aid("ana")), T0 + 1)
    engine.apply(c.Complete(iid(1)), T0 + 2)
    assert offers(arrive(engine, 1, now=T0 + 10)) == [("i1", "ana")]
    # The first offer's time-out (T0 + 30) is stale: the new offer runs to T0 + 40.
    assert "OfferTimedOut" not in kinds(engine.apply(c.Tick(), T0 + 35))
    assert state(engine, 1) is InteractionState.OFFERED
    assert "OfferTimedOut" in kinds(engine.apply(c.Tick(), T0 + 40))


def test_accepting_an_expired_offer_fails_and_changes_nothing() -> None:
    engine = make(offer_timeout_s=15)
    add_agent(engine, "ana")
    arrive(engine, 1)
    with pytest.raises(OfferExpiredError) as caught:
        engine.apply(c.Accept(iid(1), aid("ana")), T0 + 16)
    assert caught.value.code == "offer_expired"
    assert state(engine, 1) is InteractionState.OFFERED


# ---- capacity and wrap-up ------------------------------------------------------------------


def test_chat_capacity_limits_concurrent_offers() -> None:
    engine = make()
    add_agent(engine, "ana", chat=2)
    got = [offers(arrive(engine, n)) for n in range(3)]
    assert got == [[("i0", "ana")], [("i1", "ana")], []]


def test_voice_call_takes_the_whole_agent() -> None:
    engine = make()
    add_agent(engine, "ana", chat=3)
    assert offers(arrive(engine, "call", channel=Channel.VOICE)) == [("icall", "ana")]
    assert offers(arrive(engine, "chat")) == []


def test_chat_in_progress_blocks_a_call() -> None:
    engine = make()
    add_agent(engine, "ana", chat=3)
    arrive(engine, "chat")
    assert offers(arrive(engine, "call", channel=Channel.VOICE)) == []


def test_wrap_up_holds_capacity_until_its_time_out() -> None:
    engine = make(wrap_up_s=30)
    add_agent(engine, "ana", chat=1)
    arrive(engine, 1)
    engine.apply(c.Accept(iid(1), aid("ana")), T0)
    arrive(engine, 2, T0 + 1)
    events = engine.apply(c.Complete(iid(1)), T0 + 10)
    assert kinds(events) == ["WrapUpStarted"]
    events = engine.apply(c.Tick(), T0 + 40)
    assert kinds(events) == ["InteractionCompleted", "InteractionOffered"]


def test_finish_wrap_up_frees_capacity_early() -> None:
    engine = make(wrap_up_s=30)
    add_agent(engine, "ana", chat=1)
    arrive(engine, 1)
    engine.apply(c.Accept(iid(1), aid("ana")), T0)
    arrive(engine, 2, T0 + 1)
    engine.apply(c.Complete(iid(1)), T0 + 10)
    assert offers(engine.apply(c.FinishWrapUp(iid(1)), T0 + 12)) == [("i2", "ana")]


def test_agent_going_offline_revokes_open_offers() -> None:
    engine = make()
    add_agent(engine, "ana")
    arrive(engine, 1)
    events = engine.apply(c.SetAgentState(aid("ana"), AgentState.OFFLINE), T0 + 1)
    assert kinds(events) == ["AgentStateChanged", "OfferRevoked"]
    assert state(engine, 1) is InteractionState.QUEUED


def test_busy_agent_gets_no_offers() -> None:
    engine = make()
    add_agent(engine, "ana")
    engine.apply(c.SetAgentState(aid("ana"), AgentState.BUSY, "break"), T0)
    assert offers(arrive(engine, 1)) == []


# ---- transfer, abandon, cancel ------------------------------------------------------------


def test_transfer_to_a_queue_requeues_and_keeps_history() -> None:
    engine = make()
    engine.apply(c.UpsertQueue(QueueConfig(QueueId("tier2"), required=requirement("ui:8"))), T0)
    add_agent(engine, "ana")
    arrive(engine, 1)
    engine.apply(c.Accept(iid(1), aid("ana")), T0 + 1)
    events = engine.apply(c.Transfer(iid(1), to_queue=QueueId("tier2")), T0 + 60)
    assert kinds(events)[:2] == ["InteractionTransferred", "InteractionQueued"]
    view = engine.interaction(iid(1))
    assert view is not None and view.queue_id == "tier2" and view.arrived_at == T0
    assert [step for _, step, _ in view.history] == ["queued", "answered", "transferred", "queued"]


def test_transfer_to_a_queue_is_not_offered_straight_back_to_the_agent_who_sent_it() -> None:
    engine = make()
    add_agent(engine, "ana")
    arrive(engine, 1)
    engine.apply(c.Accept(iid(1), aid("ana")), T0 + 1)
    events = engine.apply(c.Transfer(iid(1), to_queue=Q), T0 + 2)
    assert offers(events) == []
    add_agent(engine, "bob", now=T0 + 3)
    assert state(engine, 1) is InteractionState.OFFERED
    view = engine.interaction(iid(1))
    assert view is not None and view.agent_id == "bob"


def test_a_transfer_nobody_else_takes_returns_to_its_sender_after_the_reoffer_wait() -> None:
    engine = make()
    add_agent(engine, "ana")
    arrive(engine, 1)
    engine.apply(c.Accept(iid(1), aid("ana")), T0 + 1)
    engine.apply(c.Transfer(iid(1), to_queue=Q), T0 + 2)
    events = engine.apply(c.Tick(), T0 + 2 + 31)
    assert offers(events) == [("i1", "ana")]


def test_transfer_into_a_full_queue_is_refused_and_changes_nothing() -> None:
    engine = make()
    engine.apply(c.UpsertQueue(QueueConfig(QueueId("tier2"), required=UI_EN, max_size=1)), T0)
    add_agent(engine, "ana", chat=1)
    arrive(engine, 1)
    engine.apply(c.Accept(iid(1), aid("ana")), T0 + 1)
    arrive(engine, 2, queue_id=QueueId("tier2"))
    with pytest.raises(QueueFullError):
        engine.apply(c.Transfer(iid(1), to_queue=QueueId("tier2")), T0 + 2)
    assert state(engine, 1) is InteractionState.ACTIVE


def test_transfer_within_a_full_queue_is_allowed() -> None:
    engine = make(max_size=1)
    add_agent(engine, "ana", available=False)
    arrive(engine, 1)
    events = engine.apply(c.Transfer(iid(1), to_queue=Q), T0 + 2)
    assert kinds(events)[:2] == ["InteractionTransferred", "InteractionQueued"]


@pytest.mark.parametrize("presence", [AgentState.BUSY, AgentState.OFFLINE])
def test_transfer_to_a_named_agent_who_is_not_available_is_refused(presence: AgentState) -> None:
    engine = make()
    add_agent(engine, "ana")
    add_agent(engine, "bob")
    engine.apply(c.SetAgentState(aid("bob"), presence, "break"), T0)
    arrive(engine, 1)
    engine.apply(c.Accept(iid(1), aid("ana")), T0 + 1)
    with pytest.raises(AgentUnavailableError):
        engine.apply(c.Transfer(iid(1), to_agent=aid("bob")), T0 + 2)
    assert state(engine, 1) is InteractionState.ACTIVE


@pytest.mark.parametrize(
    ("presence", "reason"),
    [(AgentState.OFFLINE, "agent_offline"), (AgentState.BUSY, "agent_busy")],
)
def test_a_named_transfer_waiting_for_an_agent_who_leaves_returns_to_its_queue(
    presence: AgentState, reason: str
) -> None:
    engine = make()
    add_agent(engine, "bob", chat=1)
    arrive(engine, 1)
    engine.apply(c.Accept(iid(1), aid("bob")), T0)
    add_agent(engine, "ana", now=T0 + 1)
    arrive(engine, 2, T0 + 1)
    engine.apply(c.Accept(iid(2), aid("ana")), T0 + 1)
    assert offers(engine.apply(c.Transfer(iid(2), to_agent=aid("bob")), T0 + 2)) == []  # full
    events = engine.apply(c.SetAgentState(aid("bob"), presence, "break"), T0 + 3)
    assert ev.InteractionRequeued(T0 + 3, iid(2), Q, aid("bob"), reason) in events
    assert offers(events) == [("i2", "ana")]
    view = engine.interaction(iid(2))
    assert view is not None and view.target_agent_id is None


def test_a_named_transfer_the_agent_misses_goes_to_her_queue_once_she_is_set_busy() -> None:
    engine = make(offer_timeout_s=20, missed_policy=True)
    add_agent(engine, "ana")
    add_agent(engine, "bob", now=T0 + 1)
    arrive(engine, 1, T0 + 2)
    engine.apply(c.Accept(iid(1), aid("ana")), T0 + 2)
    assert offers(engine.apply(c.Transfer(iid(1), to_agent=aid("bob")), T0 + 3)) == [("i1", "bob")]
    events = engine.apply(c.Tick(), T0 + 3 + 20)
    assert ev.InteractionRequeued(T0 + 23, iid(1), Q, aid("bob"), "agent_busy") in events
    assert offers(events) == [("i1", "ana")]


def test_transfer_to_a_named_agent_offers_only_to_that_agent() -> None:
    engine = make()
    add_agent(engine, "ana")
    add_agent(engine, "bob", {"ui": 1}, chat=1)  # not eligible for the queue itself
    arrive(engine, 1)
    engine.apply(c.Accept(iid(1), aid("ana")), T0 + 1)
    events = engine.apply(c.Transfer(iid(1), to_agent=aid("bob")), T0 + 2)
    assert offers(events) == [("i1", "bob")]


def test_abandon_while_waiting_records_the_wait() -> None:
    engine = make()
    arrive(engine, 1)
    events = engine.apply(c.Abandon(iid(1)), T0 + 45)
    assert isinstance(events[0], ev.InteractionAbandoned) and events[0].wait_s == 45
    assert engine.interaction(iid(1)) is None


def test_abandon_during_an_offer_frees_the_agent() -> None:
    engine = make()
    add_agent(engine, "ana", chat=1)
    arrive(engine, 1)
    arrive(engine, 2)
    assert offers(engine.apply(c.Abandon(iid(1)), T0 + 5)) == [("i2", "ana")]


def test_cancel_an_active_interaction_frees_the_agent() -> None:
    engine = make()
    add_agent(engine, "ana", chat=1)
    arrive(engine, 1)
    engine.apply(c.Accept(iid(1), aid("ana")), T0)
    arrive(engine, 2)
    events = engine.apply(c.Cancel(iid(1)), T0 + 5)
    assert kinds(events) == ["InteractionCancelled", "InteractionOffered"]


def test_implicit_queue_is_made_for_a_skill_set() -> None:
    engine = Engine()
    add_agent(engine, "ana", {"snap": 4})
    events = engine.apply(c.Arrive(iid(1), Channel.SMS, skills=requirement("snap:3")), T0)
    assert kinds(events) == ["QueueConfigured", "InteractionQueued", "InteractionOffered"]


# ---- position and estimated wait ----------------------------------------------------------


def test_position_and_estimated_wait_follow_the_line() -> None:
    engine = make(expected_handle_s=300)
    add_agent(engine, "ana", chat=1)
    add_agent(engine, "bob", chat=1)
    for n in range(5):
        arrive(engine, n, T0 + n)
    assert engine.position(iid(0)) == (0, 0.0)  # offered
    assert engine.position(iid(2)) == (1, 150.0)  # 1 x 300 s / 2 servers
    assert engine.position(iid(4)) == (3, 450.0)
    engine.apply(c.Abandon(iid(2)), T0 + 10)
    assert engine.position(iid(4)) == (2, 300.0)


# ---- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (c.Accept(iid(9), aid("ana")), UnknownInteractionError),
        (c.Accept(iid(1), aid("bob")), WrongAgentError),
        (c.Accept(iid(1), aid("zed")), UnknownAgentError),
        (c.Arrive(iid(1), Channel.CHAT, queue_id=Q), DuplicateInteractionError),
        (c.Arrive(iid(2), Channel.CHAT, queue_id=QueueId("nope")), UnknownQueueError),
        (c.Arrive(iid(2), Channel.CHAT), InvalidCommandError),
        (c.Complete(iid(1)), InvalidStateError),
        (c.RemoveQueue(Q), QueueNotEmptyError),
        (c.Transfer(iid(1)), InvalidCommandError),
        (c.UpsertAgent(agent_config("x", {"ui": 11})), InvalidCommandError),
    ],
)
def test_invalid_command_raises_and_leaves_state_unchanged(
    command: c.Command, error: type[Exception]
) -> None:
    engine = make()
    add_agent(engine, "ana")
    add_agent(engine, "bob")
    arrive(engine, 1)
    before = (engine.interaction(iid(1)), engine.agent(aid("ana")), engine.queue(Q))
    with pytest.raises(error):
        engine.apply(command, T0 + 1)
    assert (engine.interaction(iid(1)), engine.agent(aid("ana")), engine.queue(Q)) == before


# ---- recovery -----------------------------------------------------------------------------


def _restore_commands() -> list[c.Command]:
    return [
        c.UpsertQueue(QueueConfig(Q, required=UI_EN)),
        c.RestoreAgent(agent_config("ana", {"ui": 5, "english": 5}), AgentState.AVAILABLE),
        c.RestoreAgent(agent_config("bob", {"ui": 5, "english": 5}), AgentState.AVAILABLE),
        c.RestoreAssigned(iid("a"), Channel.CHAT, Q, aid("ana"), False, T0 - 90, T0 - 80, seq=1),
        c.RestoreAssigned(iid("b"), Channel.CHAT, Q, aid("ana"), False, T0 - 90, T0 - 80, seq=2),
        c.RestoreQueued(iid(5), Channel.CHAT, Q, queued_at=T0 - 30, seq=15),
        c.RestoreQueued(iid(3), Channel.CHAT, Q, queued_at=T0 - 30, seq=13),
        c.RestoreQueued(iid(4), Channel.CHAT, Q, queued_at=T0 - 60, seq=14),
        c.RestoreQueued(iid(6), Channel.CHAT, Q, queued_at=T0 - 10, seq=16, priority=2),
        c.RestoreQueued(iid(7), Channel.CHAT, Q, queued_at=T0 - 5, seq=17),
    ]


@pytest.mark.parametrize("order", ["forward", "reversed"])
def test_restore_in_any_order_then_tick_rebuilds_the_same_routing(order: str) -> None:
    engine = Engine()
    commands = _restore_commands()
    config, agents, interactions = commands[:1], commands[1:3], commands[3:]
    if order == "reversed":
        agents, interactions = agents[::-1], interactions[::-1]
    for command in [*config, *agents, *interactions]:
        assert offers(engine.apply(command, T0)) == []  # restore never routes
    routed = offers(engine.apply(c.Tick(), T0))
    assert routed == [("i6", "ana"), ("i4", "bob"), ("i3", "bob"), ("i5", "bob")]
    after = engine.apply(c.Arrive(iid(8), Channel.CHAT, queue_id=Q), T0 + 1)
    assert isinstance(after[0], ev.InteractionQueued) and after[0].seq == 18


def test_restore_opens_to_its_queue_what_was_held_for_an_agent_now_offline() -> None:
    engine = Engine()
    engine.apply(c.UpsertQueue(QueueConfig(Q, required=UI_EN)), T0)
    for name, presence in [("ana", AgentState.OFFLINE), ("bob", AgentState.AVAILABLE)]:
        engine.apply(c.RestoreAgent(agent_config(name, {"ui": 5, "english": 5}), presence), T0)
    held = c.RestoreQueued(
        iid(1), Channel.CHAT, Q, queued_at=T0 - 30, seq=1, target_agent=aid("ana")
    )
    engine.apply(held, T0)
    events = engine.apply(c.Tick(), T0)
    assert ev.InteractionRequeued(T0, iid(1), Q, aid("ana"), "agent_offline") in events
    assert offers(events) == [("i1", "bob")]


def test_a_restored_sticky_wait_ends_when_it_would_have() -> None:
    engine = Engine()
    engine.apply(c.UpsertQueue(QueueConfig(Q, required=UI_EN, sticky_s=60)), T0)
    for name in ("ana", "bob"):
        config = agent_config(name, {"ui": 5, "english": 5}, capacity={Channel.CHAT: 1})
        engine.apply(c.RestoreAgent(config, AgentState.AVAILABLE), T0)
    engine.apply(
        c.RestoreAssigned(iid("a"), Channel.CHAT, Q, aid("ana"), False, T0 - 90, T0 - 80, seq=1),
        T0,
    )
    held = c.RestoreQueued(
        iid(1), Channel.CHAT, Q, T0 - 30, seq=2, target_agent=aid("ana"), target_until=T0 + 30
    )
    engine.apply(held, T0)
    assert offers(engine.apply(c.Tick(), T0)) == []  # ana is full (chat capacity 1): it waits
    events = engine.apply(c.Tick(), T0 + 30)
    assert ev.InteractionRequeued(T0 + 30, iid(1), Q, aid("ana"), "sticky_expired") in events
    assert offers(events) == [("i1", "bob")]


# ---- statistics ---------------------------------------------------------------------------


def test_stats_follow_the_metric_definitions() -> None:
    engine = make(sl_threshold_s=20)
    add_agent(engine, "ana", chat=1)
    arrive(engine, 1, T0)
    engine.apply(c.Accept(iid(1), aid("ana")), T0 + 10)  # answered within 20 s
    arrive(engine, 2, T0 + 11)
    arrive(engine, 3, T0 + 12)
    engine.apply(c.Abandon(iid(3)), T0 + 42)  # abandoned after threshold
    engine.apply(c.Complete(iid(1)), T0 + 110)  # handle 100 s -> i2 offered
    engine.apply(c.Accept(iid(2), aid("ana")), T0 + 111)  # waited 100 s
    snapshot = engine.stats(T0 + 120)
    totals = snapshot.queues[Q].totals
    assert (totals.answered, totals.abandoned, totals.completed) == (2, 1, 1)
    assert totals.asa_s == pytest.approx(55.0)
    assert totals.service_level == pytest.approx(1 / 3)
    assert totals.abandon_rate == pytest.approx(1 / 3)
    assert totals.aht_s == pytest.approx(100.0)
    assert snapshot.agents_by_state == {"offline": 0, "available": 1, "busy": 0}
    assert snapshot.occupancy == pytest.approx(1.0)
    assert {row.interval_start % 900 for row in snapshot.intervals} == {0.0}


def test_oldest_wait_is_reported_per_queue() -> None:
    engine = make()
    arrive(engine, 1, T0)
    arrive(engine, 2, T0 + 5)
    assert engine.stats(T0 + 30).queues[Q].oldest_wait_s == 30
    engine.apply(c.Abandon(iid(1)), T0 + 31)
    assert engine.stats(T0 + 40).queues[Q].oldest_wait_s == 35
