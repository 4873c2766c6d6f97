"""Webhook providers: one module each, with `verify(headers, body)` and `parse(headers, body)`."""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Protocol

from contacts.events import NormalizedEvent
from nurture.errors import UnprocessablePayload


class IgnoredTopic(Exception):
    """A well-formed delivery we have no use for (stored as `ignored`)."""


class Provider(Protocol):
    def parse(self, headers: Mapping[str, str], body: bytes) -> list[NormalizedEvent]: ...


def _modules() -> dict[str, ModuleType]:
    return {}


def provider_for(name: str) -> Provider:
    modules = _modules()
    if name not in modules:
        raise UnprocessablePayload(f"no parser for provider {name!r}")
    return modules[name]  # type: ignore[return-value]
