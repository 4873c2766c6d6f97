"""Engine benchmark: steps/s through our worker vs a no-op arq job on the same Redis,
scheduling lag under a steady load and a burst, and worker memory vs waiting enrollments.

Backend: embedded by default; PostgreSQL/Redis when NURTURE_DATABASE_URL / NURTURE_REDIS_URL are set
(the memory figure needs PostgreSQL to hold a million rows quickly).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arq import Worker

from bench.common import row
from contacts.models import Contact
from core.services import Services
from jobs.scheduler import dispatch_due
from journeys.models import Enrollment, EnrollmentState, Journey, StepRun
from journeys.store import import_spec, latest_version, loaded, publish
from journeys.validation import load_spec
from nurture.bootstrap import open_services
from nurture.migrate import apply_migrations
from nurture.settings import load_settings
from nurture.worker import build_worker, stop_worker

JOURNEY = """
key: bench
name: Bench
trigger: {manual: true}
entry: {policy: every_time}
steps:
  - update: {score: 1}
"""


async def noop(ctx: dict[str, Any]) -> None:
    return None


async def noop_rate(services: Services, jobs: int) -> float:
    for i in range(jobs):
        await services.redis.enqueue_job("noop", _job_id=f"noop:{i}:{time.time()}")
    worker = Worker(functions=[noop], redis_settings=services.redis_endpoint.settings, burst=True,
                    max_jobs=50, poll_delay=0.05, queue_read_limit=200, handle_signals=False)
    started = time.perf_counter()
    await worker.async_run()
    elapsed = time.perf_counter() - started
    await worker.close()
    return jobs / elapsed


async def seed(services: Services, contacts: int, due: list[dt.datetime]) -> None:
    """`contacts` contacts and one enrollment per due time, inserted in bulk."""
    await Contact.bulk_create([Contact(email=f"b{i}@bench.example") for i in range(contacts)], batch_size=5000)
    journey = await Journey.get(key="bench")
    version = await latest_version(journey)
    first = await Contact.all().order_by("id").first()
    assert first is not None
    start = loaded(version).program.start or ""
    rows = [Enrollment(contact_id=first.id + i % contacts, journey=journey, version=version, entry_key=f"b:{i}",
                       cursor=start, state=EnrollmentState.ACTIVE, next_run_at=when, entered_at=when)
            for i, when in enumerate(due)]
    await Enrollment.bulk_create(rows, batch_size=5000)


async def drain(services: Services, expected: int, timeout: float = 1800) -> float:
    worker = build_worker(services)
    task = asyncio.create_task(worker.async_run())
    started = time.perf_counter()
    while await StepRun.filter(kind="update").count() < expected:
        await dispatch_due(services)
        await asyncio.sleep(0.05)
        if time.perf_counter() - started > timeout:
            break
    elapsed = time.perf_counter() - started
    await stop_worker(worker, task)
    return elapsed


async def lags(services: Services) -> list[float]:
    """Due time (entered_at is set to it) to step committed, in seconds, sorted."""
    rows = await StepRun.filter(kind="update").values_list("started_at", "enrollment__entered_at")
    return sorted((started - due).total_seconds() for started, due in rows) or [0.0]


def waiting_base(count: int) -> str:
    return f"{count}-{time.monotonic_ns()}"


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


async def waiting_rows(services: Services, count: int) -> None:
    """`count` enrollments waiting a year ahead, inserted by the database itself."""
    from tortoise.connection import get_connection

    journey = await Journey.get(key="bench")
    version = await latest_version(journey)
    contact = await Contact.all().order_by("id").first()
    if contact is None:
        contact = await Contact.create(email="waiting@bench.example")
    await get_connection("default").execute_script(
        "INSERT INTO enrollments (contact_id, journey_id, version_id, entry_key, object_key, state, cursor, seq, "
        "next_run_at, variant, context, is_test, entered_at, exit_reason) "
        f"SELECT {contact.id}, {journey.id}, {version.id}, 'w{waiting_base(count)}:' || g, '', 'waiting', '0', 0, "
        "now() + interval '365 days', '', '{}', false, now(), '' FROM generate_series(1, " + str(count) + ") g"
    )


async def memory_after_scheduling(services: Services, waiting: int) -> float:
    await waiting_rows(services, waiting - await Enrollment.filter(state="waiting").count())
    worker = build_worker(services)
    task = asyncio.create_task(worker.async_run())
    for _ in range(20):  # a few seconds of scheduler passes over the table
        await dispatch_due(services)
        await asyncio.sleep(0.1)
    await stop_worker(worker, task)
    return rss_mb()


async def memory_row(services: Services) -> str:
    await reset(services)
    small = await memory_after_scheduling(services, 10_000)
    large = await memory_after_scheduling(services, 1_000_000)
    return row("worker memory, 1M waiting enrollments", large, "10k waiting", small, "MB")


async def reset(services: Services) -> None:
    await services.redis.flushdb()  # new rows may reuse ids, and with them job ids
    await StepRun.all().delete()
    await Enrollment.all().delete()
    await Contact.all().delete()


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


@dataclass
class LoadPoint:
    offered: float
    achieved: float
    p50_ms: float
    p99_ms: float


async def steady(services: Services, rate: float, seconds: float) -> LoadPoint:
    """Enrollments coming due at `rate` per second for `seconds`: lag from due time to the step."""
    await reset(services)
    count = max(1, int(rate * seconds))
    start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    await seed(services, min(count, 10000), [start + dt.timedelta(seconds=i / rate) for i in range(count)])
    elapsed = await drain(services, count)
    values = await lags(services)
    return LoadPoint(rate, count / max(elapsed - 2, 0.001), pct(values, .5) * 1000, pct(values, .99) * 1000)


async def measure(services: Services, burst: int, steady_seconds: float) -> tuple[list[str], list[LoadPoint]]:
    await import_spec(load_spec(JOURNEY))
    await publish("bench")
    noop_jobs = await noop_rate(services, 3000)
    now = dt.datetime.now(dt.UTC)
    await seed(services, min(burst, 10000), [now] * burst)
    before = rss_mb()
    elapsed = await drain(services, burst)
    capacity, after = burst / elapsed, rss_mb()
    burst_lag = await lags(services)
    points = [await steady(services, capacity * share, steady_seconds) for share in (0.25, 0.5, 0.75)]
    half = points[1]
    return [
        row("journey steps through our worker (burst)", capacity, "no-op arq job, same Redis", noop_jobs, "/s"),
        f"| burst of {burst:,} due at once | drained in {elapsed:.1f} s ({capacity:,.0f}/s) | | | lag p50 "
        f"{pct(burst_lag, .5):.1f} s, p99 {pct(burst_lag, .99):.1f} s; worker memory {before:.0f} MB before, "
        f"{after:.0f} MB after |",
        f"| scheduling lag at half capacity ({half.offered:,.0f} steps/s) | p50 {half.p50_ms:.0f} ms | | | "
        f"p99 {half.p99_ms:.0f} ms |",
    ], points


def plot(points: list[LoadPoint], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (lag, rate) = plt.subplots(1, 2, figsize=(10, 4))
    offered = [p.offered for p in points]
    lag.plot(offered, [p.p50_ms for p in points], "o-", label="p50")
    lag.plot(offered, [p.p99_ms for p in points], "s-", label="p99")
    lag.set(xlabel="offered load (steps/s)", ylabel="scheduling lag (ms)", title="Lag vs load")
    lag.legend()
    rate.plot(offered, [p.achieved for p in points], "o-", label="achieved")
    rate.plot(offered, offered, "--", label="offered")
    rate.set(xlabel="offered load (steps/s)", ylabel="steps/s", title="Throughput vs load")
    rate.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


async def main(burst: int, steady_seconds: float, plot_to: Path | None = None) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        overrides = {"NURTURE_VAR_DIR": tmp, "NURTURE_SECRET_KEY": "b" * 40}
        settings = load_settings(dotenv_path=None, overrides=overrides)
        await apply_migrations(settings)
        async with open_services(settings) as services:
            await services.redis.flushdb()
            lines, points = await measure(services, burst, steady_seconds)
            if plot_to is not None:
                plot(points, plot_to)
            lines.append(await memory_row(services) if services.settings.is_postgres else
                         "| worker memory vs waiting enrollments | needs PostgreSQL (NURTURE_DATABASE_URL) | | | |")
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", type=int, default=int(os.environ.get("BENCH_BURST", "100000")))
    parser.add_argument("--steady-seconds", type=float, default=10)
    parser.add_argument("--plot", type=Path, default=None, help="write the lag/throughput plot (PNG) here")
    args = parser.parse_args()
    for line in asyncio.run(main(args.burst, args.steady_seconds, args.plot)):
        print(line)
