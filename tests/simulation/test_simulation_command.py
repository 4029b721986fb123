"""The `simulate` command: example files run, bad files give one clear error line."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pytest

from app.simulation.command import configure_parser, run

EXAMPLES = Path(__file__).resolve().parents[2] / "app" / "simulation" / "examples"


def simulate(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    return run(parser.parse_args(list(argv)))


def test_example_scenario_prints_a_kpi_row_per_queue(capsys: pytest.CaptureFixture[str]) -> None:
    assert simulate("--scenario", str(EXAMPLES / "employment_day.toml")) == 0
    out = capsys.readouterr().out
    assert "ui-en" in out and "ui-es" in out and "resea" in out and "occupancy" in out


def test_trace_with_roster_writes_one_row_per_interaction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "out.csv"
    code = simulate(
        "--trace",
        str(EXAMPLES / "trace.csv"),
        "--roster",
        str(EXAMPLES / "roster.csv"),
        "--json",
        "--out",
        str(out_file),
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["interactions"] == 6
    rows = list(csv.DictReader(out_file.read_text().splitlines()))
    assert list(rows[0]) == [
        "id",
        "queue",
        "agent",
        "arrival_s",
        "answered_s",
        "abandoned_s",
        "ended_s",
    ]
    assert {row["id"] for row in rows} == {f"c-{n}" for n in range(1, 7)}


def test_same_seed_gives_the_same_json(capsys: pytest.CaptureFixture[str]) -> None:
    scenario = str(EXAMPLES / "employment_day.toml")
    simulate("--scenario", scenario, "--json", "--seed", "3")
    first = capsys.readouterr().out
    simulate("--scenario", scenario, "--json", "--seed", "3")
    assert capsys.readouterr().out == first


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "trace.csv",
            "id,arrival_s,queue,channel,skills,handle_s,patience_s\nx,abc,q,chat,,5,\n",
            "trace.csv:2: field 'arrival_s': not a number",
        ),
        ("trace.csv", "id,arrival_s\nx,1\n", "trace.csv:1: missing column(s)"),
        (
            "trace.csv",
            "id,arrival_s,queue,channel,skills,handle_s,patience_s\nx,1,q,fax,,5,\n",
            "trace.csv:2: field 'channel'",
        ),
        (
            "s.toml",
            "[[queues]]\nid = 'q'\nsl_threshold_s = 'soon'\n",
            "s.toml: queues[0].sl_threshold_s: must be a number",
        ),
        (
            "s.toml",
            "[[queues]]\nid = 'q'\narrivals_per_hour = 5\nhandle = { dist = 'gamma' }\n",
            "s.toml: queues[0].handle.dist",
        ),
        ("s.toml", "[[agents]]\nid = 'a'\nskills = { ui = 12 }\n", "s.toml: agents[0].skills"),
        ("s.toml", "[simulation\n", "s.toml: invalid TOML"),
        ("s.json", '{"queues": [}', "s.json:1: invalid JSON"),
    ],
)
def test_bad_input_prints_one_error_line_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    flag = "--trace" if name.endswith(".csv") else "--scenario"
    extra = ["--roster", str(EXAMPLES / "roster.csv")] if flag == "--trace" else []
    assert simulate(flag, str(path), *extra) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err


def test_missing_file_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert simulate("--scenario", "/nonexistent/s.toml") == 2
    assert "/nonexistent/s.toml: cannot read" in capsys.readouterr().err
