"""Shared CLI plumbing: settings, services, and errors that print as one line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import uvloop
from rich.console import Console

from nurture.bootstrap import Services, open_services
from nurture.settings import Settings, load_settings

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)


class CliError(Exception):
    """A user mistake: printed as one line, exit code 2, no traceback."""


def settings() -> Settings:
    return load_settings()


def run(coro: Awaitable[T]) -> T:
    # uvloop: the event loop under every command (serve answers webhooks ~20% faster; bench/ingest.py).
    return uvloop.run(coro)  # type: ignore[arg-type]


async def with_services(work: Callable[[Services], Awaitable[T]]) -> T:
    async with open_services(settings()) as services:
        return await work(services)
