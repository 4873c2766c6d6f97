"""The one place where normalized events change contacts.

`apply` upserts the contact, appends the Event (its idempotency key is unique, so a
redelivered event has no second effect), updates derived fields, and returns what
was applied so the caller can hand it to the journey triggers.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, replace
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from catalog.shops import shop_timezone
from contacts.batch import Batch, stored_key
from contacts.consent import consent_events, update_consent
from contacts.derived import DERIVED_ATTRIBUTES, PASSIVE_EVENTS, UPDATERS, Applying
from contacts.events import NormalizedEvent
from contacts.identity import resolve_contact
from contacts.intelligence import update_for_event
from contacts.models import Contact, Event
from contacts.view import VIEW_FIELDS
from core.services import Services
from emails.i18n import candidates

log = logging.getLogger(__name__)

ATTEMPTS = 3
PROFILE_FIELDS = ("first_name", "last_name", "phone", "locale", "timezone", "owner")
# Sources anyone can write to (a public write key): they fill gaps, never overwrite.
UNTRUSTED_SOURCES = frozenset({"tracking"})


@dataclass(frozen=True)
class Applied:
    event: Event
    contact: Contact
    contact_created: bool
    # Events contact intelligence derived from this one (tier changes, segments...), to ingest next.
    emitted: tuple[NormalizedEvent, ...] = ()


def writable_attribute(name: str) -> bool:
    """Attributes any source may set: not ours (leading underscore), not derived, not a field's name."""
    return not name.startswith("_") and name not in DERIVED_ATTRIBUTES and name not in VIEW_FIELDS


def _is_set(contact: Contact, name: str) -> bool:
    """Whether a source set this field (the column's default, UTC for the time zone, is a gap)."""
    value = getattr(contact, name)
    return bool(value) and value != Contact._meta.fields_map[name].default


def _update_profile(contact: Contact, event: NormalizedEvent) -> None:
    # Tracking comes with a public write key (anyone can send it): it may fill gaps in a profile,
    # never replace what a trusted source set, never name an owner, never tag.
    untrusted = event.source in UNTRUSTED_SOURCES
    for name in PROFILE_FIELDS:
        value = event.profile.get(name)
        if name == "locale" and value and not (len(str(value)) <= 16 and candidates(str(value))):
            continue  # not a language tag ("English", a sentence): the emails' language stays as it is
        if value and not (untrusted and (name == "owner" or _is_set(contact, name))):
            setattr(contact, name, str(value)[:100])
    if event.timezone_guess and not _is_set(contact, "timezone"):
        contact.timezone = event.timezone_guess
    if event.locale_guess and not _is_set(contact, "locale") and candidates(event.locale_guess):
        contact.locale = event.locale_guess[:16]
    attributes = {k: v for k, v in event.attributes.items() if writable_attribute(str(k))}
    if untrusted:
        attributes = {k: v for k, v in attributes.items() if k not in contact.attributes}
    if attributes:
        contact.attributes = {**contact.attributes, **attributes}
    if event.tags and not untrusted:
        contact.tags = sorted(set(contact.tags) | set(event.tags))
    if event.type not in PASSIVE_EVENTS and (
        contact.last_activity_at is None or event.occurred_at > contact.last_activity_at
    ):
        contact.last_activity_at = event.occurred_at


async def _apply_in_transaction(services: Services, event: NormalizedEvent,
                                delivery_id: int | None) -> Applied | None:
    async with in_transaction():
        batch = await Batch.load([event])
        applied = await apply_in_batch(services, batch, event, delivery_id)
        await batch.flush()
        return applied


def _as_of_now(contact: Contact) -> Contact:
    """The contact as this event left it (the batch's object goes on changing with its next events):
    journeys evaluate each event against the contact of its own moment."""
    moment = copy.copy(contact)  # a saved row's copy: saving it would update that row
    moment.attributes, moment.tags = dict(contact.attributes), list(contact.tags)
    return moment


async def apply_in_batch(services: Services, batch: Batch, event: NormalizedEvent,
                         delivery_id: int | None) -> Applied | None:
    """Apply the event in the caller's transaction through the batch that loaded what it reads (the
    caller flushes the batch before committing); None when it was a duplicate or names nobody."""
    event = storable(event)
    if not batch.claim(event):
        return None  # stored before the batch, or earlier in it
    found, created = await resolve_contact(batch, event)
    if found is None:
        log.info("event %s names nobody; dropped", event.idempotency_key)
        return None
    contact = found  # locked by the batch: concurrent events for this contact wait here
    batch.touch(contact)  # written when the batch ends
    row = await batch.new_event(
        contact, type=event.type, properties=event.properties,
        occurred_at=event.occurred_at, source=event.source,
        idempotency_key=event.idempotency_key[:200], object_key=event.object_key[:200], delivery_id=delivery_id,
    )
    _update_profile(contact, event)
    if event.source == "shopify" and not _is_set(contact, "timezone"):
        # No address told a zone: the shop's own is a better guess for its customers than UTC.
        contact.timezone = await shop_timezone() or contact.timezone
    consent_before = update_consent(contact, event)
    updater = UPDATERS.get(event.type)
    if updater is not None:
        await updater(Applying(services.settings.secret_key, batch), contact, event)
    emitted = await update_for_event(services.workspace.intelligence, contact, row, services.clock.now(),
                                     batch.interest_counts)
    emitted += consent_events(contact, event, consent_before)
    return Applied(row, _as_of_now(contact), created, tuple(emitted))


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
    """Apply one event (from inbound delivery `delivery_id`, when it came in one) in a transaction
    of its own; None when it was a duplicate or names nobody. (A batch of deliveries goes through
    `apply_in_batch`, see webhooks.processing.)"""
    for attempt in range(ATTEMPTS):
        try:
            return await _apply_in_transaction(services, event, delivery_id)
        except IntegrityError:
            # A concurrent copy of this event committed first: exactly one effect.
            if await Event.exists(idempotency_key=stored_key(event)):
                return None
            # Otherwise another event created the same contact (or order) first: the
            # transaction rolled back, and the next attempt finds the row.
            if attempt == ATTEMPTS - 1:
                raise
    return None
