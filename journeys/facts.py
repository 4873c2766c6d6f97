"""What the engine gets to know about a contact: its plain view (contacts/view.py), plus send history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from contacts.consent import why_not_marketable
from contacts.derived import TOPICS_OFF
from contacts.models import Contact
from contacts.suppression import is_suppressed
from contacts.view import contact_view
from core.workspace import SendingConfig
from emails.models import Message, MessageStatus
from journeys.engine import PRIORITY_WAIT, Facts
from journeys.models import Enrollment, EnrollmentState, Journey, JourneyStatus, TraceEntry


async def _why_not_marketable(secret_key: str, contact: Contact, policy: str) -> str:
    if not contact.email:
        return "the contact has no email address"
    if why := why_not_marketable(contact.consent, policy):
        return why
    suppression = await is_suppressed(secret_key, contact.email)
    if suppression is not None:
        return f"suppressed ({suppression.reason.value.replace('_', ' ')})"
    return ""


async def _counted_sends(contact: Contact, now: dt.datetime, window: dt.timedelta,
                         priority: int | None) -> tuple[dt.datetime, ...]:
    """Recent marketing sends that count toward the cap for an email of a journey with `priority`:
    manual sends and those of journeys with the same or a higher priority (None: all of them)."""
    recent: list[Any] = await Message.filter(
        contact_id=contact.id, marketing=True, is_test=False, queued_at__gte=now - window,
        status__in=[MessageStatus.QUEUED, MessageStatus.SENT],
    ).values_list("queued_at", "journey_ref")
    refs = {int(ref) for _, ref in recent if ref is not None}
    ranks = dict(await Journey.filter(id__in=sorted(refs)).values_list("id", "priority")) if refs and \
        priority is not None else {}
    return tuple(at for at, ref in recent if isinstance(at, dt.datetime) and (
        priority is None or ref is None or int(ranks.get(ref, priority)) >= priority))


# A step claimed by the scheduler carries a lease (its next_run_at moves a minute ahead) while its
# job runs: "due now" looks that far ahead.
DUE_HORIZON = dt.timedelta(minutes=2)


# How often one email step waits for a higher-priority step before it stops waiting: a step that
# fails on every try stays "due" forever, and must not hold the lower one back with it.
MAX_PRIORITY_WAITS = 5


async def _higher_priority_due(contact: Contact, now: dt.datetime, priority: int, waiting: int | None) -> bool:
    """Whether a live journey of higher priority has a step of this contact's due now: its email
    goes first, and this one then meets the cap (journeys run their due steps in separate jobs).
    `waiting`: the enrollment deciding, whose earlier waits are counted against the bound."""
    due = await Enrollment.filter(
        contact_id=contact.id, state=EnrollmentState.ACTIVE, is_test=False, next_run_at__lte=now + DUE_HORIZON,
        journey__priority__gt=priority, journey__status=JourneyStatus.LIVE).exists()
    if not due or waiting is None:
        return due
    waits = await TraceEntry.filter(enrollment_id_ref=waiting, message__endswith=PRIORITY_WAIT).count()
    return waits < MAX_PRIORITY_WAITS


def topics_off(contact: Contact) -> frozenset[str]:
    switched = contact.attributes.get(TOPICS_OFF)
    return frozenset(str(t) for t in switched) if isinstance(switched, list) else frozenset()


async def gather_facts(secret_key: str, contact: Contact, now: dt.datetime, consent_policy: str,
                       sending: SendingConfig | None = None, priority: int | None = None,
                       enrollment_id: int | None = None) -> Facts:
    """`consent_policy`: the workspace's (opt_in, opt_out); `sending`: its sending controls;
    `priority`: the priority of the journey whose email is deciding, `enrollment_id` its run."""
    sending = sending or SendingConfig()
    why_not = await _why_not_marketable(secret_key, contact, consent_policy)
    return Facts(
        data=contact_view(contact), timezone=contact.timezone, marketable=not why_not,
        why_not_marketable=why_not, best_send_hour=contact.best_send_hour,
        recent_marketing_sends=await _counted_sends(contact, now, sending.cap_window, priority), sending=sending,
        topics_off=topics_off(contact),
        higher_priority_due=priority is not None and not why_not and await _higher_priority_due(
            contact, now, priority, enrollment_id),
    )
