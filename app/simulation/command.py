"""`switchboard simulate`: run a scenario or a trace at virtual time and print queue KPIs."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.routing.simulate import RosterAgent, Scenario, SimResult, TraceArrival, simulate
from app.routing.stats import QueueKpis
from app.simulation.files import read_roster, read_trace, write_outcomes
from app.simulation.scenario import InputError, load_scenario


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the simulate options to `parser`."""
    parser.description = (
        "Drive the routing engine at virtual time from a scenario (queues, roster with shifts,"
        " arrival rates, handle and patience distributions) or a trace of real arrivals."
    )
    parser.add_argument("--scenario", type=Path, help="scenario file (.toml or .json)")
    parser.add_argument(
        "--trace", type=Path, help="CSV: id,arrival_s,queue,channel,skills,handle_s,patience_s"
    )
    parser.add_argument("--roster", type=Path, help="CSV: agent,skills,chat_capacity")
    parser.add_argument("--seed", type=int, help="random seed (overrides the scenario's)")
    parser.add_argument("--json", action="store_true", help="print KPIs as JSON")
    parser.add_argument("--out", type=Path, help="write one CSV row per interaction here")


def run(args: argparse.Namespace) -> int:
    """Run the simulation; 0 on success, 2 (one error line, no traceback) on bad input."""
    try:
        scenario, trace = _inputs(args)
        result = simulate(scenario, trace)
        if args.out is not None:
            _write_out(args.out, result)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(_as_json(result), indent=2))
    else:
        print(_table(result))
    return 0


def _inputs(args: argparse.Namespace) -> tuple[Scenario, list[TraceArrival]]:
    if args.scenario is None and args.trace is None:
        raise InputError("give --scenario FILE or --trace FILE (with --roster FILE)")
    scenario = Scenario(seed=1 if args.seed is None else args.seed, duration_s=0.0)
    if args.scenario is not None:
        scenario = load_scenario(args.scenario, args.seed)
    trace = read_trace(args.trace) if args.trace is not None else []
    roster: list[RosterAgent] = read_roster(args.roster) if args.roster is not None else []
    if roster:
        scenario = _replace_agents(scenario, roster)
    if trace and not scenario.agents:
        raise InputError(f"{args.trace}: a trace needs agents: give --roster FILE")
    return scenario, trace


def _replace_agents(scenario: Scenario, roster: list[RosterAgent]) -> Scenario:
    return replace(scenario, agents=tuple(roster))


def _write_out(path: Path, result: SimResult) -> None:
    try:
        with path.open("w", newline="", encoding="utf-8") as handle:
            write_outcomes(handle, result.outcomes.values())
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from None


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def _table(result: SimResult) -> str:
    header = (
        f"{'queue':<24} {'arrived':>8} {'answered':>8} {'abandoned':>9} "
        f"{'ASA s':>8} {'SL':>7} {'aband.':>7} {'AHT s':>8}"
    )
    lines = [header, "-" * len(header)]
    for queue_id in sorted(result.kpis):
        k = result.kpis[queue_id]
        if not (k.arrived or k.answered or k.abandoned):
            continue
        lines.append(
            f"{queue_id:<24} {k.arrived:>8} {k.answered:>8} {k.abandoned:>9} "
            f"{_fmt(k.asa_s, '{:.1f}'):>8} {_fmt(k.service_level, '{:.1%}'):>7} "
            f"{_fmt(k.abandon_rate, '{:.1%}'):>7} {_fmt(k.aht_s, '{:.1f}'):>8}"
        )
    lines.append(f"interactions: {len(result.outcomes)}")
    lines.append(f"agent occupancy: {_fmt(result.occupancy, '{:.1%}')}")
    return "\n".join(lines)


def _kpis_json(k: QueueKpis) -> dict[str, Any]:
    return {
        "queue": k.queue_id,
        "arrived": k.arrived,
        "answered": k.answered,
        "abandoned": k.abandoned,
        "completed": k.completed,
        "asa_s": k.asa_s,
        "service_level": k.service_level,
        "abandon_rate": k.abandon_rate,
        "aht_s": k.aht_s,
    }


def _as_json(result: SimResult) -> dict[str, Any]:
    return {
        "queues": [_kpis_json(result.kpis[q]) for q in sorted(result.kpis)],
        "interactions": len(result.outcomes),
        "occupancy": result.occupancy,
    }


def main(argv: list[str] | None = None) -> int:
    """Run as `python -m app.simulation.command` until the CLI wires it in."""
    parser = argparse.ArgumentParser(prog="switchboard simulate")
    configure_parser(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
