"""NormalizedEvent: what every provider's parser produces and `contacts.ingest` applies."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from contacts.models import Consent


@dataclass(frozen=True)
class NormalizedEvent:
    type: str
    source: str
    idempotency_key: str
    occurred_at: dt.datetime
    email: str | None = None
    shopify_customer_id: int | None = None
    anonymous_id: str | None = None
    # Contact fields to set (first_name, last_name, phone, locale, timezone, owner).
    profile: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    consent: Consent | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    object_key: str = ""
