"""What the engine gets to know about a contact: its plain view (contacts/view.py), plus send history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from contacts.consent import why_not_marketable
from contacts.models import Contact
from contacts.suppression import is_suppressed
from contacts.view import contact_view
from emails.models import Message, MessageStatus
from journeys.engine import CAP_WINDOW, Facts


async def _why_not_marketable(secret_key: str, contact: Contact, policy: str) -> str:
    if not contact.email:
        return "the contact has no email address"
    if why := why_not_marketable(contact.consent, policy):
        return why
    suppression = await is_suppressed(secret_key, contact.email)
    if suppression is not None:
        return f"suppressed ({suppression.reason.value.replace('_', ' ')})"
    return ""


async def gather_facts(secret_key: str, contact: Contact, now: dt.datetime, policy: str) -> Facts:
    """`policy`: the workspace's consent policy (opt_in, opt_out)."""
    why_not = await _why_not_marketable(secret_key, contact, policy)
    recent: list[Any] = await Message.filter(
        contact_id=contact.id, marketing=True, is_test=False, queued_at__gte=now - CAP_WINDOW,
        status__in=[MessageStatus.QUEUED, MessageStatus.SENT],
    ).values_list("queued_at", flat=True)
    return Facts(
        data=contact_view(contact), timezone=contact.timezone, marketable=not why_not,
        why_not_marketable=why_not, best_send_hour=contact.best_send_hour,
        recent_marketing_sends=tuple(t for t in recent if isinstance(t, dt.datetime)),
    )
