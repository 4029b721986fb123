"""The simulator against textbook queueing theory (fixed seeds, enough arrivals)."""

from __future__ import annotations

import math

import pytest

from app.routing.model import Channel, QueueConfig, QueueId, agent_config, requirement
from app.routing.simulate import Distribution, QueueLoad, RosterAgent, Scenario, simulate

Q = QueueId("q")


def erlang_c(servers: int, load: float) -> float:
    """Probability of waiting in M/M/c with offered load `load` erlangs."""
    below = sum(load**k / math.factorial(k) for k in range(servers))
    top = load**servers / math.factorial(servers) * servers / (servers - load)
    return top / (below + top)


def run_mmc(servers: int, arrivals_per_s: float, mean_handle_s: float, arrivals: int, seed: int):
    agents = tuple(RosterAgent(agent_config(f"a{i}", {"x": 5})) for i in range(servers))
    queue = QueueConfig(Q, required=requirement("x"), sl_threshold_s=20)
    load = QueueLoad(
        Q, Channel.VOICE, (arrivals_per_s * 3600,), Distribution("exponential", mean_handle_s)
    )
    scenario = Scenario(
        queues=(queue,),
        loads=(load,),
        agents=agents,
        duration_s=arrivals / arrivals_per_s,
        seed=seed,
    )
    return simulate(scenario)


def test_mm1_mean_wait_matches_theory() -> None:
    mu, lam = 1 / 30, 0.5 / 30  # utilisation 0.5
    result = run_mmc(1, lam, 30, 12_000, seed=11)
    expected_wq = (lam / mu) / (mu - lam)  # 30 s
    assert result.kpis[Q].asa_s == pytest.approx(expected_wq, rel=0.12)


@pytest.mark.slow
def test_mmc_erlang_c_waiting_probability_and_asa_match_theory() -> None:
    servers, mu, lam = 4, 1 / 60, 3 / 60  # 3 erlangs on 4 agents
    result = run_mmc(servers, lam, 60, 30_000, seed=5)
    outcomes = list(result.outcomes.values())
    waited = sum(1 for o in outcomes if o.answered_s is not None and o.answered_s > o.arrival_s)
    p_wait = erlang_c(servers, lam / mu)
    assert waited / len(outcomes) == pytest.approx(p_wait, rel=0.08)
    assert result.kpis[Q].asa_s == pytest.approx(p_wait / (servers * mu - lam), rel=0.15)


def test_impatient_customers_abandon_and_are_counted() -> None:
    agents = (RosterAgent(agent_config("solo", {})),)
    load = QueueLoad(
        Q, Channel.VOICE, (120.0,), Distribution("constant", 60), Distribution("constant", 10)
    )
    result = simulate(
        Scenario(queues=(QueueConfig(Q),), loads=(load,), agents=agents, duration_s=3600)
    )
    kpis = result.kpis[Q]
    assert kpis.abandoned > 0 and kpis.answered + kpis.abandoned == kpis.arrived
    assert all(o.ended_s is not None for o in result.outcomes.values())


def test_same_seed_gives_the_same_run() -> None:
    first = run_mmc(2, 1 / 60, 90, 500, seed=9)
    second = run_mmc(2, 1 / 60, 90, 500, seed=9)
    assert first.kpis == second.kpis
