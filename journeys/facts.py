"""What the engine gets to know about a contact: its plain view (contacts/view.py), plus send history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from contacts.consent import why_not_marketable
from contacts.derived import TOPICS_OFF
from contacts.models import Contact, Suppression
from contacts.suppression import email_hash, suppressions_of
from contacts.view import contact_view
from core.workspace import SendingConfig
from emails.models import Message, MessageStatus
from journeys.engine import PRIORITY_WAIT, Facts
from journeys.models import Enrollment, EnrollmentState, Journey, JourneyStatus, TraceEntry


@dataclass(frozen=True)
class SendHistory:
    """What deciding an email reads about its contact besides the contact itself: suppressions,
    recent marketing sends and the higher-priority steps due. A round of steps loads it once for
    all its email steps' contacts (three or four queries in all, where each step read its own)."""

    suppressed: dict[str, Suppression]  # by the address's keyed hash
    sends: dict[int, list[tuple[dt.datetime, int | None]]]  # contact -> (queued_at, journey) in the window
    ranks: dict[int, int]  # journey -> priority, for the journeys of those sends
    due_ranks: dict[int, list[int]]  # contact -> priorities of live journeys with a step due now

    @classmethod
    async def load(cls, secret_key: str, contacts: Iterable[Contact], now: dt.datetime,
                   window: dt.timedelta) -> SendHistory:
        contacts = list(contacts)
        ids = sorted({contact.id for contact in contacts})
        sends = await _recent_sends(ids, now - window)
        refs = sorted({ref for rows in sends.values() for _, ref in rows if ref is not None})
        return cls(
            suppressed=await suppressions_of(secret_key, (contact.email or "" for contact in contacts)),
            sends=sends,
            ranks={int(k): int(v) for k, v in await Journey.filter(id__in=refs).values_list("id", "priority")}
            if refs else {},
            due_ranks=await _due_ranks(ids, now + DUE_HORIZON))

    def why_not_marketable(self, secret_key: str, contact: Contact, policy: str) -> str:
        if not contact.email:
            return "the contact has no email address"
        if why := why_not_marketable(contact.consent, policy):
            return why
        suppression = self.suppressed.get(email_hash(secret_key, contact.email))
        if suppression is not None:
            return f"suppressed ({suppression.reason.value.replace('_', ' ')})"
        return ""

    def counted_sends(self, contact: Contact, priority: int | None) -> tuple[dt.datetime, ...]:
        """Recent marketing sends that count toward the cap for an email of a journey with `priority`:
        manual sends and those of journeys with the same or a higher priority (None: all of them)."""
        return tuple(at for at, ref in self.sends.get(contact.id, []) if isinstance(at, dt.datetime) and (
            priority is None or ref is None or self.ranks.get(ref, priority) >= priority))

    def higher_priority_due(self, contact: Contact, priority: int) -> bool:
        return any(rank > priority for rank in self.due_ranks.get(contact.id, []))


async def _recent_sends(ids: list[int], since: dt.datetime) -> dict[int, list[tuple[dt.datetime, int | None]]]:
    sends: dict[int, list[tuple[dt.datetime, int | None]]] = {}
    rows = await Message.filter(contact_id__in=ids, marketing=True, is_test=False, queued_at__gte=since, status__in=[
        MessageStatus.QUEUED, MessageStatus.SENT]).values_list("contact_id", "queued_at", "journey_ref")
    for contact_id, at, ref in rows:
        sends.setdefault(int(contact_id), []).append((at, None if ref is None else int(ref)))
    return sends


async def _due_ranks(ids: list[int], horizon: dt.datetime) -> dict[int, list[int]]:
    """Per contact, the priorities of live journeys with a step of theirs due by `horizon`."""
    due: dict[int, list[int]] = {}
    rows = await Enrollment.filter(contact_id__in=ids, state=EnrollmentState.ACTIVE, is_test=False,
                                   next_run_at__lte=horizon, journey__status=JourneyStatus.LIVE,
                                   ).values_list("contact_id", "journey__priority")
    for contact_id, priority in rows:
        due.setdefault(int(contact_id), []).append(int(priority))
    return due


# A step claimed by the scheduler carries a lease (its next_run_at moves a minute ahead) while its
# job runs: "due now" looks that far ahead.
DUE_HORIZON = dt.timedelta(minutes=2)


# How often one email step waits for a higher-priority step before it stops waiting: a step that
# fails on every try stays "due" forever, and must not hold the lower one back with it.
MAX_PRIORITY_WAITS = 5


async def _higher_priority_due(history: SendHistory, contact: Contact, priority: int, waiting: int | None) -> bool:
    """Whether a live journey of higher priority has a step of this contact's due now: its email
    goes first, and this one then meets the cap (journeys run their due steps in separate jobs).
    `waiting`: the enrollment deciding, whose earlier waits are counted against the bound."""
    due = history.higher_priority_due(contact, priority)
    if not due or waiting is None:
        return due
    waits = await TraceEntry.filter(enrollment_id_ref=waiting, message__endswith=PRIORITY_WAIT).count()
    return waits < MAX_PRIORITY_WAITS


def topics_off(contact: Contact) -> frozenset[str]:
    switched = contact.attributes.get(TOPICS_OFF)
    return frozenset(str(t) for t in switched) if isinstance(switched, list) else frozenset()


async def gather_facts(secret_key: str, contact: Contact, now: dt.datetime, consent_policy: str,
                       sending: SendingConfig | None = None, priority: int | None = None,
                       enrollment_id: int | None = None, history: SendHistory | None = None) -> Facts:
    """`consent_policy`: the workspace's (opt_in, opt_out); `sending`: its sending controls;
    `priority`: the priority of the journey whose email is deciding, `enrollment_id` its run;
    `history`: loaded for a round of steps with this contact's (else read here for it alone)."""
    sending = sending or SendingConfig()
    history = history or await SendHistory.load(secret_key, [contact], now, sending.cap_window)
    why_not = history.why_not_marketable(secret_key, contact, consent_policy)
    return Facts(
        data=contact_view(contact), timezone=contact.timezone, marketable=not why_not,
        why_not_marketable=why_not, best_send_hour=contact.best_send_hour,
        recent_marketing_sends=history.counted_sends(contact, priority), sending=sending,
        topics_off=topics_off(contact),
        higher_priority_due=priority is not None and not why_not and await _higher_priority_due(
            history, contact, priority, enrollment_id),
    )
