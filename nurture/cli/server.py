"""serve, worker, dev, migrate."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import click
from aiohttp import web

from core.clock import FastClock
from core.services import Services
from core.settings import Settings
from jobs.scheduler import scheduler_loop
from nurture.bootstrap import open_services
from nurture.cli.common import run, settings
from nurture.db import start_checkpointer
from nurture.demo import run_demo
from nurture.migrate import apply_migrations
from nurture.terminal import console
from nurture.web import build_app
from nurture.worker import run_supervised


async def _wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _start_http(services: Services) -> web.AppRunner:
    runner = web.AppRunner(build_app(services), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, services.settings.http_host, services.settings.http_port)
    await site.start()
    return runner


async def _serve(config: Settings, with_worker: bool, clock_speed: float = 1.0) -> None:
    async with open_services(config) as services:
        if clock_speed != 1.0:
            services.clock = FastClock(clock_speed)
            console.print(f"Journey clock runs {clock_speed:g}x real time (a day passes in "
                          f"{86400 / clock_speed:,.0f} s); timers are stored in that clock's time.")
        runner = await _start_http(services)
        checkpointer = start_checkpointer(config)
        url = f"http://{config.http_host}:{config.http_port}"
        console.print(f"Nurture listening on [bold]{url}[/] (health: {url}/healthz)")
        worker_task = asyncio.create_task(run_supervised(services)) if with_worker else None
        scheduler = asyncio.create_task(scheduler_loop(services)) if with_worker else None
        if with_worker:
            console.print("Worker running in this process.")
        if services.sink:
            console.print(f"Embedded SMTP sink on port {services.sink.port}, outbox: {config.outbox_dir}")
        try:
            await _wait_for_stop()
        finally:
            if checkpointer:
                checkpointer.cancel()
            if worker_task and scheduler:
                scheduler.cancel()
                await _cancel(worker_task)
            await runner.cleanup()


async def _work(config: Settings) -> None:
    async with open_services(config) as services:
        task = asyncio.create_task(run_supervised(services))
        scheduler = asyncio.create_task(scheduler_loop(services))
        checkpointer = start_checkpointer(config)
        console.print(f"Worker connected to {services.redis_endpoint.describe()}")
        stopper = asyncio.create_task(_wait_for_stop())
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        scheduler.cancel()
        if checkpointer:
            checkpointer.cancel()
        await _cancel(task)


async def _cancel(task: asyncio.Task[None]) -> None:
    """Stop the supervised worker; its cancelled jobs are retried later."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@click.command()
def serve() -> None:
    """Run the HTTP server (webhooks, tracking, Slack, health)."""
    run(_serve(settings(), with_worker=False))


@click.command()
def worker() -> None:
    """Run an arq worker (journeys, deliveries, emails). Run as many as you like."""
    run(_work(settings()))


@click.command()
@click.option("--clock-speed", type=click.FloatRange(min=1.0), default=1.0, show_default=True,
              help="Run journeys faster than real time, e.g. 3600: an hour of journey time per second.")
def dev(clock_speed: float) -> None:
    """Run server, worker and the embedded SMTP sink in one process."""
    run(_serve(settings(), with_worker=True, clock_speed=clock_speed))


@click.command()
def migrate() -> None:
    """Apply database migrations (safe to run again: applied ones are skipped)."""
    applied = run(apply_migrations(settings()))
    if applied:
        for name in applied:
            console.print(f"applied [green]{name}[/]")
    else:
        console.print("Database is up to date: no migrations to apply.")


def register(group: click.Group) -> None:
    for command in (serve, worker, dev, migrate):
        group.add_command(command)


@click.command()
def demo() -> None:
    """Play a store's day through the real endpoints on the embedded stack and show the result."""

    run(run_demo(settings()))


def register_demo(group: click.Group) -> None:
    group.add_command(demo)
