"""The one place where normalized events change contacts.

`apply` upserts the contact, appends the Event (its idempotency key is unique, so a
redelivered event has no second effect), updates derived fields, and returns what
was applied so the caller can hand it to the journey triggers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from contacts.derived import PASSIVE_EVENTS, UPDATERS
from contacts.events import NormalizedEvent
from contacts.identity import resolve_contact
from contacts.intelligence import update_for_event
from contacts.models import Consent, Contact, Event
from core.services import Services

log = logging.getLogger(__name__)

ATTEMPTS = 3
PROFILE_FIELDS = ("first_name", "last_name", "phone", "locale", "timezone", "owner")
# Order snapshots carry a stale consent flag; they never re-subscribe someone who opted out.
IMPLICIT_CONSENT_EVENTS = {"order.created", "order.paid", "order.cancelled", "checkout.updated"}


@dataclass(frozen=True)
class Applied:
    event: Event
    contact: Contact
    contact_created: bool
    # Events contact intelligence derived from this one (tier changes, segments...), to ingest next.
    emitted: tuple[NormalizedEvent, ...] = ()


def _update_profile(contact: Contact, event: NormalizedEvent) -> None:
    # Tracking traits come with a public write key (anyone can send them): they may fill
    # gaps in a profile, never replace what a trusted source already set.
    keep = ("first_name", "last_name", "phone") if event.source == "tracking" else ()
    for name in PROFILE_FIELDS:
        value = event.profile.get(name)
        if value and not (name in keep and getattr(contact, name)):
            setattr(contact, name, str(value)[:100])
    if event.attributes:
        contact.attributes = {**contact.attributes, **event.attributes}
    if event.tags:
        contact.tags = sorted(set(contact.tags) | set(event.tags))
    if event.type not in PASSIVE_EVENTS and (
        contact.last_activity_at is None or event.occurred_at > contact.last_activity_at
    ):
        contact.last_activity_at = event.occurred_at


def _update_consent(contact: Contact, event: NormalizedEvent) -> None:
    if event.consent is None or event.consent == contact.consent:
        return
    if (
        event.type in IMPLICIT_CONSENT_EVENTS
        and contact.consent == Consent.UNSUBSCRIBED
        and event.consent == Consent.SUBSCRIBED
    ):
        return
    if contact.consent_at and event.occurred_at < contact.consent_at:
        return  # an older consent change arriving late does not undo a newer one
    contact.consent = event.consent
    contact.consent_source = f"{event.source}:{event.type}"[:64]
    contact.consent_at = event.occurred_at


async def _apply_in_transaction(services: Services, event: NormalizedEvent, delivery_id: int | None) -> Applied | None:
    async with in_transaction():
        if await Event.exists(idempotency_key=event.idempotency_key):
            return None
        found, created = await resolve_contact(event)
        if found is None:
            log.info("event %s names nobody; dropped", event.idempotency_key)
            return None
        contact = found  # locked by resolve_contact: concurrent events for this contact wait here
        row = await Event.create(
            contact=contact, type=event.type, properties=event.properties,
            occurred_at=event.occurred_at, source=event.source,
            idempotency_key=event.idempotency_key[:200], object_key=event.object_key[:200], delivery_id=delivery_id,
        )
        _update_profile(contact, event)
        _update_consent(contact, event)
        updater = UPDATERS.get(event.type)
        if updater is not None:
            await updater(services.settings.secret_key, contact, event)
        emitted = await update_for_event(services.workspace.intelligence, contact, row, services.clock.now())
        await contact.save()
    return Applied(row, contact, created, tuple(emitted))


def _without_nul(value: Any) -> Any:
    """PostgreSQL text and json cannot hold U+0000 (SQLite can): drop it from everything we store."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_without_nul(v) for v in value)
    return value


def storable(event: NormalizedEvent) -> NormalizedEvent:
    return replace(
        event, idempotency_key=_without_nul(event.idempotency_key), email=_without_nul(event.email),
        anonymous_id=_without_nul(event.anonymous_id), profile=_without_nul(event.profile),
        attributes=_without_nul(event.attributes), tags=_without_nul(event.tags),
        properties=_without_nul(event.properties), object_key=_without_nul(event.object_key),
    )


async def apply(services: Services, event: NormalizedEvent, delivery_id: int | None = None) -> Applied | None:
    """Apply one event (from inbound delivery `delivery_id`, when it came in one); None when it was a
    duplicate or names nobody."""
    event = storable(event)
    for attempt in range(ATTEMPTS):
        try:
            return await _apply_in_transaction(services, event, delivery_id)
        except IntegrityError:
            # A concurrent copy of this event committed first: exactly one effect.
            if await Event.exists(idempotency_key=event.idempotency_key):
                return None
            # Otherwise another event created the same contact (or order) first: the
            # transaction rolled back, and the next attempt finds the row.
            if attempt == ATTEMPTS - 1:
                raise
    return None
