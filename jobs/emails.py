"""arq jobs that send email: one job per Message, plus a sweep for messages whose job was lost."""

from __future__ import annotations

import datetime as dt
from typing import Any

from arq import Retry

from emails.delivery import deliver, enqueue_send
from emails.models import Message, MessageStatus
from nurture.bootstrap import Services

# Longer than the first backoffs, so a message waiting for its retry is not swept twice.
SWEEP_AFTER = dt.timedelta(minutes=10)


async def send_email(ctx: dict[str, Any], *, message_id: int) -> str:
    services: Services = ctx["services"]
    outcome = await deliver(services, message_id)
    if outcome.retry_in is not None:
        raise Retry(defer=outcome.retry_in)
    return outcome.status.value


async def sweep_queued_emails(ctx: dict[str, Any]) -> int:
    """Re-enqueue messages still queued long after creation (Redis was down, a job was lost).

    enqueue_send's job id makes this a no-op for messages whose job still exists.
    """
    services: Services = ctx["services"]
    cutoff = dt.datetime.now(dt.UTC) - SWEEP_AFTER
    rows = await Message.filter(status=MessageStatus.QUEUED, queued_at__lt=cutoff).limit(1000).only("id")
    for row in rows:
        await enqueue_send(services, row.id)
    return len(rows)
