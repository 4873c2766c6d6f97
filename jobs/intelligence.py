"""Daily cron: contact intelligence for the passage of time (score decay, engagement tags, segments)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from contacts.intelligence import refresh
from contacts.models import Contact
from core.services import Services
from pipeline.ingest import ingest

BATCH = 500


async def refresh_contacts(services: Services, now: dt.datetime | None = None) -> int:
    """Refresh every contact in id order; emitted events go through the pipeline. Returns events emitted."""
    now = now or services.clock.now()
    config = services.workspace.intelligence
    emitted, last_id = 0, 0
    while True:
        ids: list[Any] = await Contact.filter(id__gt=last_id).order_by("id").limit(BATCH).values_list("id", flat=True)
        if not ids:
            return emitted
        for contact_id in ids:
            events = await refresh(config, int(contact_id), now)
            if events:
                emitted += len(await ingest(services, events))
        last_id = int(ids[-1])


async def refresh_intelligence(ctx: dict[str, Any]) -> int:
    return await refresh_contacts(ctx["services"])
