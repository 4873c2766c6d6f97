"""arq jobs that send email: one job per Message, plus a sweep for messages whose job was lost."""

from __future__ import annotations

import datetime as dt
from typing import Any

from arq import Retry
from slack_sdk.errors import SlackApiError

from core import people
from core.services import Services
from emails.models import Message, MessageStatus
from journeys.delivery import deliver, enqueue_send

# Longer than the first backoffs, so a message waiting for its retry is not swept twice.
SWEEP_AFTER = dt.timedelta(minutes=10)


async def sign_as_owner(services: Services, message_id: int) -> None:
    """`sender: owner` steps and approved quotes go out as from the contact's rep: the name and
    address come from Slack, and so does the `owner` signature the templates end with."""
    message = await Message.get_or_none(id=message_id)
    owner = str((message.context if message else {}).get("owner_id") or "")
    if message is None or not owner or "owner" in message.context or message.status != MessageStatus.QUEUED:
        return
    if not services.settings.slack_bot_token:
        return  # no Slack: the brand's sender it is
    try:
        rep = await people.person(services.slack, owner)
    except SlackApiError:
        return  # unknown user: the brand's sender, rather than no email
    # An approval already names the rep as sender; the signature was still missing.
    message.from_name = message.from_name or rep.name
    message.reply_to = message.reply_to or rep.email
    configured = services.workspace.slack.people.get(owner)
    signature = rep.signature()
    if configured:  # the workspace file fills what the Slack profile leaves empty
        signature = {**signature, "title": signature["title"] or configured.title,
                     "phone": signature["phone"] or configured.phone}
    message.context = {**message.context, "owner": signature}
    await message.save(update_fields=["from_name", "reply_to", "context"])


async def send_email(ctx: dict[str, Any], *, message_id: int) -> str:
    services: Services = ctx["services"]
    await sign_as_owner(services, message_id)
    outcome = await deliver(services, message_id)
    if outcome.retry_in is not None:
        # When arq's max_tries runs out first (a long relay outage), the message stays queued and
        # sweep_queued_emails enqueues it again: retries go on until delivery's own deadline.
        raise Retry(defer=outcome.retry_in)
    return outcome.status.value


async def sweep_queued_emails(ctx: dict[str, Any]) -> int:
    """Re-enqueue messages still queued long after creation (Redis was down, a job was lost).

    enqueue_send's job id makes this a no-op for messages whose job still exists.
    """
    services: Services = ctx["services"]
    cutoff = dt.datetime.now(dt.UTC) - SWEEP_AFTER
    rows = await Message.filter(status=MessageStatus.QUEUED, queued_at__lt=cutoff).limit(1000).only("id")
    await enqueue_send(services, *(row.id for row in rows))
    return len(rows)
