"""Email events in our own documented JSON, plus what every email provider module shares.

Body: one object or a list of them::

    {"event": "bounced", "email": "ann@example.com", "message_id": "<abc@nurture>",
     "bounce_type": "hard", "description": "550 mailbox unavailable",
     "url": null, "timestamp": "2026-03-06T16:33:54Z", "id": "evt_123"}

- `event`: delivered | bounced | complained | opened | clicked (anything else is ignored).
- `bounce_type`: "hard" or "soft", required for `bounced`; `url` is read for `clicked`.
- `timestamp`: ISO 8601 or unix seconds (default: now); `id`: the event's id, which keys
  idempotency (without it: the body digest and the record's index).

Authentication (shared by every email provider here): HTTP basic auth on the webhook URL
(`https://user:password@host/...`). The secret is "user:password"; `verify_basic_auth` compares
the decoded `Authorization: Basic ...` credentials with it in constant time.

Every event gets source "email" and properties {message_id, provider, recipient, ...}.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from contacts.events import NormalizedEvent
from core.errors import BadRequest, InvalidSignature, UnprocessablePayload
from webhooks.providers import IgnoredTopic
from webhooks.providers.common import body_digest, normalize_email, parse_time, signature_header
from webhooks.providers.surveys import identifier, load_payload, text

NAME = "email-generic"

# A record handler gets the record and a fallback event id ("<body digest>:<index>").
Handler = Callable[[dict[str, Any], str], list[NormalizedEvent]]


# -- shared by the email providers --------------------------------------------------------------


def verify_basic_auth(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    """`Authorization: Basic base64(user:password)` must match the secret "user:password"."""
    if not secret or ":" not in secret:
        raise InvalidSignature("email webhook credentials (user:password) are not configured")
    scheme, _, credentials = signature_header(headers, "authorization").strip().partition(" ")
    if scheme.lower() != "basic" or not credentials.strip():
        raise BadRequest("authorization must use the Basic scheme")
    try:
        presented = base64.b64decode(credentials.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignature("authorization credentials are not base64") from None
    if not hmac.compare_digest(presented, secret.encode()):
        raise InvalidSignature("authorization credentials do not match")


def load_records(body: bytes) -> list[dict[str, Any]]:
    """A JSON object or a list of objects, as a list."""
    data = load_payload(body)
    records = data if isinstance(data, list) else [data]
    if not all(isinstance(record, dict) for record in records):
        raise UnprocessablePayload("body must be a JSON object or a list of objects")
    return records


def collect(records: Iterable[dict[str, Any]], handler: Handler, body: bytes) -> list[NormalizedEvent]:
    """Run `handler` over every record; IgnoredTopic only when every record was ignored."""
    digest = body_digest(body)
    events: list[NormalizedEvent] = []
    ignored: list[str] = []
    for index, record in enumerate(records):
        try:
            events.extend(handler(record, f"{digest}:{index}"))
        except IgnoredTopic as why:
            ignored.append(str(why))
    if ignored and not events:
        raise IgnoredTopic("; ".join(ignored[:3]))
    return events


def bounded_id(value: str, body: bytes) -> str:
    """A delivery id that fits the inbox column, else the body digest."""
    return value if 0 < len(value) <= 200 else body_digest(body)


def bounded_topic(value: str) -> str:
    return value[:100] or "unknown"


def email_event(
    *,
    provider: str,
    event_type: str,
    event_id: str,
    occurred_at: dt.datetime,
    recipient: Any,
    message_id: str,
    **extra: Any,
) -> NormalizedEvent:
    """One email.* event; the idempotency key is provider + the provider's event id + type."""
    email = normalize_email(recipient)
    return NormalizedEvent(
        type=event_type,
        source="email",
        idempotency_key=f"{provider}:{event_id}:{event_type}",
        occurred_at=occurred_at,
        email=email,
        properties={
            "message_id": message_id,
            "provider": provider,
            "recipient": email or text(recipient).strip(),
            **extra,
        },
    )


# -- our JSON format ----------------------------------------------------------------------------

_TYPES = {
    "delivered": "email.delivered",
    "bounced": "email.bounced",
    "complained": "email.complained",
    "opened": "email.opened",
    "clicked": "email.clicked",
}


def _bounce_extras(record: Mapping[str, Any]) -> dict[str, Any]:
    bounce_type = record.get("bounce_type")
    if bounce_type not in ("hard", "soft"):
        raise UnprocessablePayload("bounce_type must be 'hard' or 'soft'")
    return {"bounce_type": bounce_type, "description": text(record.get("description"))}


def _click_extras(record: Mapping[str, Any]) -> dict[str, Any]:
    return {"url": text(record.get("url"))}


_EXTRAS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "email.bounced": _bounce_extras,
    "email.clicked": _click_extras,
}


def _no_extras(record: Mapping[str, Any]) -> dict[str, Any]:
    return {}


def _record(record: dict[str, Any], fallback_id: str) -> list[NormalizedEvent]:
    event = text(record.get("event"))
    event_type = _TYPES.get(event)
    if event_type is None:
        raise IgnoredTopic(f"email event {event[:40]!r} is not handled")
    return [
        email_event(
            provider=NAME,
            event_type=event_type,
            event_id=identifier(record.get("id")) or fallback_id,
            occurred_at=parse_time(record.get("timestamp")),
            recipient=record.get("email"),
            message_id=identifier(record.get("message_id")),
            **_EXTRAS.get(event_type, _no_extras)(record),
        )
    ]


verify = verify_basic_auth


def delivery_id(headers: Mapping[str, str], body: bytes) -> str:
    try:
        data = load_payload(body)
    except UnprocessablePayload:
        return body_digest(body)
    return bounded_id(identifier(data.get("id")) if isinstance(data, dict) else "", body)


def topic(headers: Mapping[str, str], body: bytes) -> str:
    try:
        data = load_payload(body)
    except UnprocessablePayload:
        return "unknown"
    return bounded_topic(text(data.get("event")) if isinstance(data, dict) else "batch")


def parse(headers: Mapping[str, str], body: bytes) -> list[NormalizedEvent]:
    return collect(load_records(body), _record, body)
