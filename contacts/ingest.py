"""The one place where normalized events change contacts."""

from __future__ import annotations

from collections.abc import Iterable

from contacts.events import NormalizedEvent
from nurture.bootstrap import Services
from nurture.errors import UnprocessablePayload


async def apply_all(services: Services, events: Iterable[NormalizedEvent]) -> None:
    for event in events:
        raise UnprocessablePayload(f"cannot apply {event.type} yet")
