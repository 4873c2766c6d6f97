"""The throughput rows, run several times: each figure's median and the day's spread, into RESULTS.md.

One `make bench` run is one sample; figures here move 10-20 % between runs. This runs the
benchmarks behind the four throughput rows (events applied by one worker, the whole personalised
message, emails into a local SMTP sink, journey steps through our worker) `--runs` times, each
time next to its peer in the same run, and writes the median and the min-max range of each
figure and of its ratio into bench/RESULTS.md, between markers, leaving the rest of the file.

    python -m bench.spread --runs 3            # embedded, and PostgreSQL + Redis when they answer
    python -m bench.spread --rows saved.json   # summarise rows saved by an earlier run (--save)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
from collections.abc import Callable
from pathlib import Path

from bench.__main__ import _answers, on_postgres, run
from bench.common import REPO

RESULTS = REPO / "bench" / "RESULTS.md"
BEGIN, END = "<!-- spread:begin -->", "<!-- spread:end -->"
KEPT = ("events applied by one worker", "whole personalised message", "emails/s into a local SMTP sink",
        "journey steps through our worker")
_NUMBER = re.compile(r"-?[\d,]+(?:\.\d+)?")

Runner = Callable[[], list[str]]


def runners(postgres: bool) -> dict[str, Runner]:
    found: dict[str, Runner] = {
        "embedded: ingest": lambda: run("ingest", "--apply-seconds", "20"),
        "embedded: emails": lambda: run("emails"),
        "embedded: engine": lambda: run("engine", "--burst", "20000", "--steady-seconds", "5"),
    }
    if postgres:
        found["PostgreSQL: ingest"] = lambda: on_postgres("ingest", "--apply-seconds", "20")
        found["PostgreSQL: engine"] = lambda: on_postgres("engine", "--burst", "50000", "--steady-seconds", "5")
    return found


def collect(runs: int, postgres: bool) -> dict[str, list[list[str]]]:
    """Every row of every run, by benchmark; the benchmarks alternate so drift hits them all."""
    rows: dict[str, list[list[str]]] = {}
    for _ in range(runs):
        for name, runner in runners(postgres).items():
            rows.setdefault(name, []).append(runner())
    return rows


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _number(text: str) -> float | None:
    match = _NUMBER.search(text)
    return float(match.group(0).replace(",", "")) if match else None


def _range(values: list[float], unit: str = "") -> str:
    middle = statistics.median(values)
    return f"{middle:,.2f}{unit} ({min(values):,.2f}-{max(values):,.2f})"


def summarise(rows: dict[str, list[list[str]]]) -> list[str]:
    """One line per kept row: median figure with its range, the peer's, the ratio's."""
    lines = ["| benchmark | figure | ours: median (min-max) | peer | peer: median (min-max) "
             "| ratio: median (min-max) |", "|---|---|---|---|---|---|"]
    for bench, runs in rows.items():
        by_label: dict[tuple[str, str], list[list[str]]] = {}
        for line in (line for run_rows in runs for line in run_rows):
            cells = _cells(line)
            if len(cells) == 5 and any(cells[0].startswith(kept) for kept in KEPT):
                by_label.setdefault((cells[0], cells[2]), []).append(cells)
        for (label, peer), samples in by_label.items():
            ours = [v for v in (_number(s[1]) for s in samples) if v is not None]
            theirs = [v for v in (_number(s[3]) for s in samples) if v is not None]
            ratios = [v for v in (_number(s[4]) for s in samples) if v is not None]
            unit = samples[0][1].split()[-1] if samples[0][1].split() else ""
            if not ours:
                continue
            ratio_unit = "x faster" if "faster" in samples[0][4] else "x"  # costs: peer / ours
            lines.append(f"| {bench} ({len(samples)} runs) | {label} | {_range(ours)} {unit} | {peer} | "
                         f"{_range(theirs) + ' ' + unit if theirs else ''} | "
                         f"{_range(ratios, ratio_unit) if ratios else ''} |")
    return lines


def write(lines: list[str], runs: int) -> None:
    section = [BEGIN, f"## Throughput over {runs} runs, {dt.date.today().isoformat()}", "",
               "Each run measures every figure next to its peer in the same run; `python -m bench.spread`.", "",
               *lines, "", END]
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        text = before + "\n".join(section) + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(section) + "\n"
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--save", type=Path, help="also keep every raw row in this JSON file")
    parser.add_argument("--rows", type=Path, help="summarise the rows saved by an earlier --save instead of running")
    args = parser.parse_args()
    if args.rows:
        rows = json.loads(args.rows.read_text())
    else:
        rows = collect(args.runs, _answers(5432) and _answers(6379))
        if args.save:
            args.save.write_text(json.dumps(rows, indent=1))
    lines = summarise(rows)
    write(lines, max((len(r) for r in rows.values()), default=0))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
