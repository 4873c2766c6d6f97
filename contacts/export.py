"""Everything we hold about a contact, as plain data (for the CLI and privacy exports)."""

from __future__ import annotations

from typing import Any

from contacts.models import Contact, Event

PROFILE_FIELDS = (
    "id", "email", "phone", "first_name", "last_name", "timezone", "locale",
    "lifecycle_stage", "owner", "attributes", "tags", "lead_score", "engagement_score",
    "loyalty_points", "loyalty_tier", "consent", "consent_source", "consent_at",
    "first_order_at", "last_order_at", "orders_count", "total_spent", "last_activity_at",
    "consecutive_unopened", "best_send_hour", "created_at", "updated_at",
)


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    if type(value).__name__ == "Decimal":
        return str(value)
    return value


async def contact_profile(contact: Contact, events: int = 20) -> dict[str, Any]:
    profile = {name: _plain(getattr(contact, name)) for name in PROFILE_FIELDS}
    latest = await Event.filter(contact=contact).order_by("-occurred_at", "-id").limit(events)
    profile["events"] = [
        {
            "type": e.type,
            "occurred_at": _plain(e.occurred_at),
            "source": e.source,
            "properties": e.properties,
        }
        for e in latest
    ]
    return profile
