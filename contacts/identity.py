"""Find or create the contact an event belongs to, merging anonymous visitors on identify."""

from __future__ import annotations

from dataclasses import replace

from contacts.batch import Batch
from contacts.events import NormalizedEvent
from contacts.models import Contact, Event, Order


async def _merge(batch: Batch, anonymous: Contact, known: Contact) -> None:
    """Move an anonymous visitor's history onto the identified contact."""
    await Event.filter(contact_id=anonymous.id).update(contact_id=known.id)
    known.tags = sorted(set(known.tags) | set(anonymous.tags))
    known.attributes = {**anonymous.attributes, **known.attributes}
    if anonymous.last_activity_at and (
        known.last_activity_at is None or anonymous.last_activity_at > known.last_activity_at
    ):
        known.last_activity_at = anonymous.last_activity_at
    anonymous_id = anonymous.anonymous_id
    batch.forget(anonymous, into=known)
    await anonymous.delete()
    known.anonymous_id = known.anonymous_id or anonymous_id


def _by_identity(batch: Batch, event: NormalizedEvent) -> tuple[Contact | None, Contact | None, Contact | None]:
    """The contacts holding the event's email, Shopify customer id and anonymous id (the batch read
    and locked them all)."""
    return (batch.holder("email", event.email), batch.holder("shopify_customer_id", event.shopify_customer_id),
            batch.holder("anonymous_id", event.anonymous_id))


def _is_anonymous(contact: Contact) -> bool:
    """Nobody has identified this visitor yet, so its history may be folded into whoever does."""
    return not contact.email and contact.shopify_customer_id is None


def _claimable(by_anonymous: Contact | None, event: NormalizedEvent) -> Contact | None:
    """The anonymous-id holder, unless the event names someone and that holder is another known person.

    A shared browser keeps one anonymous id: Bob identifying on Alice's laptop must not become Alice.
    """
    names_someone = bool(event.email) or event.shopify_customer_id is not None
    if by_anonymous is None or (names_someone and not _is_anonymous(by_anonymous)):
        return None
    return by_anonymous


async def _by_order(batch: Batch, order_id: int) -> Contact | None:
    await batch.write_orders()
    order = await Order.get_or_none(shopify_id=order_id).only("id", "contact_id")
    if order is None or order.contact_id is None:
        return None
    if order.contact_id in batch.contacts:
        return batch.contacts[order.contact_id]
    return await batch.adopt(await Contact.filter(id=order.contact_id).select_for_update().first())


async def resolve_contact(batch: Batch, event: NormalizedEvent) -> tuple[Contact | None, bool]:
    """Returns (contact, created); (None, False) when the event names nobody. The contact is the
    batch's own object (its row locked); changes to it are written when the batch ends."""
    if not (event.email or event.shopify_customer_id is not None or event.anonymous_id):
        if event.shopify_order_id is not None:  # about an order: its buyer, never a new contact
            return await _by_order(batch, event.shopify_order_id), False
        return None, False
    by_email, by_shopify, by_anonymous = _by_identity(batch, event)
    if not event.verified and (by_email is not None or by_shopify is not None):
        # Only claimed (site tracking, no identity hash): the address belongs to a known person, so
        # the activity stays with the anonymous browser that sent it and changes nothing of theirs.
        if not event.anonymous_id:
            return None, False
        event, by_email, by_shopify = replace(event, email=None, shopify_customer_id=None), None, None
    known = by_email or by_shopify
    if known is not None and by_anonymous is not None and by_anonymous.id != known.id \
            and _is_anonymous(by_anonymous):
        await _merge(batch, by_anonymous, known)
    contact = known or _claimable(by_anonymous, event)
    created = contact is None
    if contact is None:
        # The anonymous id stays with whoever holds it (it is unique); the new contact gets none.
        contact = Contact(email=event.email, anonymous_id=event.anonymous_id if by_anonymous is None else None)
    if event.email and contact.email is None and by_email is None:
        contact.email = event.email
    if event.shopify_customer_id is not None and contact.shopify_customer_id is None and by_shopify is None:
        contact.shopify_customer_id = event.shopify_customer_id
    if event.anonymous_id and contact.anonymous_id is None and by_anonymous is None:
        contact.anonymous_id = event.anonymous_id
    if created:
        await contact.save()  # now: the event row refers to it
        batch.created(contact)
    else:
        batch.remember(contact)  # an identity it gained finds it for the batch's next events
    return contact, created
