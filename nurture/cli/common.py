"""Shared CLI plumbing: settings, the event loop, services (nurture/terminal.py prints and fails)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import uvloop

from core.services import Services
from core.settings import Settings
from nurture.bootstrap import open_services
from nurture.settings import load_settings

T = TypeVar("T")

def settings() -> Settings:
    return load_settings()


def run(coro: Awaitable[T]) -> T:
    # uvloop: the event loop under every command (serve answers webhooks ~20% faster; bench/ingest.py).
    return uvloop.run(coro)  # type: ignore[arg-type]


async def with_services(work: Callable[[Services], Awaitable[T]]) -> T:
    async with open_services(settings()) as services:
        return await work(services)
