"""nurture jobs: the last run of every periodic job, and the progress of long chunked runs."""

from __future__ import annotations

import datetime as dt

import click
from rich.table import Table

from core.services import Services
from jobs.models import JobRun
from jobs.runs import LastRun, last_runs
from nurture.cli.common import run, with_services
from nurture.terminal import console


def _when(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _cron_table(runs: list[LastRun]) -> Table:
    table = Table("job", "last started (UTC)", "seconds", "outcome", "detail", title="Periodic jobs")
    for last in runs:
        style = {"completed": "green", "cancelled": "yellow"}.get(last.outcome, "red")
        table.add_row(last.name, _when(last.started_at), f"{last.seconds:.2f}",
                      f"[{style}]{last.outcome}[/]", last.detail[:60])
    return table


def _runs_table(rows: list[JobRun]) -> Table:
    table = Table("job", "period", "status", "contacts done", "changed", "chunks", "cursor", "started", "took",
                  title="Long runs (resumable from their cursor)")
    for row in rows:
        end = row.finished_at or row.updated_at
        table.add_row(row.name, row.period, row.status.value, f"{row.processed:,}", f"{row.changed:,}",
                      str(row.chunks), str(row.cursor), f"{row.started_at:%Y-%m-%d %H:%M:%S}",
                      f"{(end - row.started_at).total_seconds():.1f} s")
    return table


@click.command("jobs")
@click.option("--limit", default=10, show_default=True, help="How many long runs to show, newest first.")
def jobs(limit: int) -> None:
    """Show when each periodic job last ran, how long it took and whether it finished."""

    async def work(services: Services) -> tuple[list[LastRun], list[JobRun]]:
        return await last_runs(services), await JobRun.all().order_by("-id").limit(limit)

    cron_runs, long_runs = run(with_services(work))
    if not cron_runs and not long_runs:
        console.print("No periodic job has run yet: start `nurture worker` (or `nurture dev`).")
        return
    if cron_runs:
        console.print(_cron_table(cron_runs))
    if long_runs:
        console.print(_runs_table(long_runs))


def register(group: click.Group) -> None:
    group.add_command(jobs)
