"""Double opt-in for an address that unsubscribed: the confirmation email, and its signed link.

contacts/consent.py keeps an opt-out sticky (a re-subscription makes the contact `pending` and
emits `consent.confirmation_requested`); here that event sends the confirmation email, and the
link in it (webhooks/email_links.py) confirms with `consent.confirmed`.
"""

from __future__ import annotations

import uuid
from typing import Any

from contacts.consent import CONFIRMED
from contacts.events import NormalizedEvent
from contacts.models import Consent, Contact
from contacts.suppression import email_hash
from core.services import Services
from emails.tokens import TokenError, sign, verify
from journeys.delivery import queue_email

TEMPLATE = "confirm-subscription"


def confirm_url(services: Services, contact: Contact) -> str:
    token = sign(services.settings.secret_key, "confirm", {"c": contact.id, "h": _address_key(services, contact)})
    return f"{services.settings.public_url.rstrip('/')}/confirm/{token}"


def _address_key(services: Services, contact: Contact) -> str:
    # The link confirms this address only: a contact whose email changed since needs a new one.
    return email_hash(services.settings.secret_key, contact.email or "")[:16]


async def request_confirmation(services: Services, contact: Contact, request_key: str) -> None:
    """`request_key`: the requesting event's key (one email per request)."""
    if contact.email:
        await queue_email(services, send_key=f"confirm:{request_key}"[:200], contact=contact,
                          template=TEMPLATE, context={"confirm_url": confirm_url(services, contact)},
                          marketing=False, queued_at=services.clock.now())


async def contact_to_confirm(services: Services, token: str) -> Contact | None:
    """The contact a confirmation link is for (None when the link is invalid or out of date)."""
    try:
        data: dict[str, Any] = verify(services.settings.secret_key, "confirm", token)
    except TokenError:
        return None
    contact = await Contact.get_or_none(id=data.get("c")) if isinstance(data.get("c"), int) else None
    if contact is None or not contact.email or data.get("h") != _address_key(services, contact):
        return None
    return contact


def confirmation(services: Services, contact: Contact) -> NormalizedEvent:
    """The event a confirmed link applies: the only one that re-subscribes an opted-out address."""
    return NormalizedEvent(
        type=CONFIRMED, source="email", idempotency_key=f"{CONFIRMED}:{contact.id}:{uuid.uuid4().hex}",
        occurred_at=services.clock.now(), email=contact.email, consent=Consent.SUBSCRIBED,
        properties={"source": "double_opt_in"},
    )
