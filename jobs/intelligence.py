"""Daily cron: contact intelligence for the passage of time (score decay, engagement tags, segments)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from contacts.intelligence import refresh
from contacts.models import Contact
from core.services import Services
from pipeline.faults import is_transient
from pipeline.ingest import ingest

BATCH = 500
log = logging.getLogger(__name__)


async def refresh_contacts(services: Services, now: dt.datetime | None = None) -> int:
    """Refresh every contact in id order; emitted events go through the pipeline. Returns events emitted."""
    now = now or services.clock.now()
    emitted, last_id = 0, 0
    while True:
        ids: list[Any] = await Contact.filter(id__gt=last_id).order_by("id").limit(BATCH).values_list("id", flat=True)
        if not ids:
            return emitted
        for contact_id in ids:
            emitted += await _refresh_one(services, int(contact_id), now)
        last_id = int(ids[-1])


async def _refresh_one(services: Services, contact_id: int, now: dt.datetime) -> int:
    """One contact's refresh; a contact whose data breaks it is logged and skipped, so the others
    still get theirs. A lost database is not the contact's fault: that aborts the run (retried)."""
    try:
        events = await refresh(services.workspace.intelligence, contact_id, now)
        return len(await ingest(services, events)) if events else 0
    except Exception as error:
        if is_transient(error):
            raise
        log.exception("intelligence refresh skipped contact %s: its data could not be refreshed", contact_id)
        services.metrics.refresh_failures.inc()
        return 0


async def refresh_intelligence(ctx: dict[str, Any]) -> int:
    return await refresh_contacts(ctx["services"])
