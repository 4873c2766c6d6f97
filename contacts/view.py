"""A contact as expressions see it: plain values only (segments, scoring, journeys, the simulator)."""

from __future__ import annotations

from typing import Any

from contacts.models import Consent, Contact

VIEW_FIELDS = (
    "id", "email", "first_name", "last_name", "phone", "timezone", "locale", "owner", "attributes", "tags",
    "lead_score", "engagement_score", "loyalty_points", "loyalty_tier", "orders_count",
    "consecutive_unopened", "best_send_hour",
)


def contact_view(contact: Contact) -> dict[str, Any]:
    view: dict[str, Any] = {name: getattr(contact, name) for name in VIEW_FIELDS}
    view["lifecycle_stage"] = contact.lifecycle_stage.value
    view["consent"] = contact.consent.value
    view["unsubscribed"] = contact.consent == Consent.UNSUBSCRIBED
    view["total_spent"] = float(contact.total_spent)
    for name in ("first_order_at", "last_order_at", "last_activity_at", "created_at"):
        value = getattr(contact, name)
        view[name] = value.isoformat() if value else None
    return view
