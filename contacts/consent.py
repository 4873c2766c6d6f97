"""Consent: who may get marketing email under the workspace's policy, and how a change applies.

`opt_in` (the default): marketing email only to contacts whose consent is `subscribed`. `opt_out`
(a store's explicit choice, where that is lawful): also to `unknown`. Never to `unsubscribed` or
`pending`. An opt-out from any source is sticky: only a confirmed double opt-in (`consent.confirmed`,
from the signed link of the confirmation email) subscribes the address again.
"""

from __future__ import annotations

from contacts.events import NormalizedEvent
from contacts.models import Consent, Contact

OPT_IN, OPT_OUT = "opt_in", "opt_out"
CONFIRMED = "consent.confirmed"
CONFIRMATION_REQUESTED = "consent.confirmation_requested"
SUBSCRIBED_EVENT = "consent.subscribed"
# Order snapshots carry a stale consent flag; they never re-subscribe someone who opted out.
IMPLICIT_CONSENT_EVENTS = frozenset({"order.created", "order.paid", "order.cancelled", "checkout.updated"})


def why_not_marketable(consent: Consent, policy: str) -> str:
    """'' when marketing email may go to a contact with this consent, else why not."""
    if consent == Consent.UNSUBSCRIBED:
        return "the contact unsubscribed"
    if consent == Consent.PENDING:
        return "the contact has not confirmed their subscription yet"
    if consent == Consent.UNKNOWN and policy != OPT_OUT:
        return "the contact has not opted in (consent policy opt_in)"
    return ""


def update_consent(contact: Contact, event: NormalizedEvent) -> Consent | None:
    """Apply the event's consent, if any; returns the consent the contact had before a change
    (None when nothing changed)."""
    wanted = event.consent
    if wanted is None or wanted == contact.consent:
        return None
    if contact.consent_at and event.occurred_at < contact.consent_at:
        return None  # an older consent change arriving late does not undo a newer one
    resubscribing = contact.consent == Consent.UNSUBSCRIBED and wanted in (Consent.SUBSCRIBED, Consent.PENDING)
    if resubscribing and event.type in IMPLICIT_CONSENT_EVENTS:
        return None
    if resubscribing and event.type != CONFIRMED:
        wanted = Consent.PENDING  # sticky: the address must confirm (a double opt-in email goes out)
    before = contact.consent
    contact.consent = wanted
    contact.consent_source = f"{event.source}:{event.type}"[:64]
    contact.consent_at = event.occurred_at
    return before


def consent_events(contact: Contact, event: NormalizedEvent, before: Consent | None) -> list[NormalizedEvent]:
    """What a consent change tells journeys: a new subscriber, or a confirmation to request."""
    if before is None:
        return []
    source = event.properties.get("source") or event.source
    if contact.consent == Consent.SUBSCRIBED:
        kind = SUBSCRIBED_EVENT
    elif contact.consent == Consent.PENDING and before == Consent.UNSUBSCRIBED:
        kind = CONFIRMATION_REQUESTED
    else:
        return []
    return [NormalizedEvent(
        type=kind, source=event.source, idempotency_key=f"{kind}:{event.idempotency_key}"[:200],
        occurred_at=event.occurred_at, email=contact.email, shopify_customer_id=contact.shopify_customer_id,
        properties={"source": str(source), "cause": event.type},
    )]
