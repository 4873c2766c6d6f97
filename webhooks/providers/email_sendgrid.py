"""SendGrid Event Webhook: a JSON array of events, several per delivery.

delivered, bounce (`type` "bounce" is hard, "blocked" soft), dropped (hard bounce when the reason
says "Bounced Address" or "Invalid"; other drops such as unsubscribed or spam-reporting addresses
are ignored), spamreport, open and click become events; processed, deferred, unsubscribes... are
ignored. Timestamps are unix seconds; `sg_event_id` keys idempotency.

message_id: our `message_id` custom argument when we set one, else `smtp-id` (the Message-ID
header of the message), else `sg_message_id`.

Authentication: HTTP basic auth on the webhook URL (`email_generic.verify_basic_auth`); SendGrid's
optional ECDSA "signed event webhook" is not used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from contacts.events import NormalizedEvent
from core.errors import UnprocessablePayload
from webhooks.providers import IgnoredTopic
from webhooks.providers.common import body_digest, parse_time
from webhooks.providers.email_generic import (
    bounded_topic,
    collect,
    email_event,
    load_records,
    verify_basic_auth,
)
from webhooks.providers.surveys import identifier, text

NAME = "email-sendgrid"
_HARD_DROPS = ("bounced address", "invalid")

verify = verify_basic_auth


def _message_id(record: Mapping[str, Any]) -> str:
    for key in ("message_id", "smtp-id", "sg_message_id"):
        value = identifier(record.get(key))
        if value:
            return value
    return ""


def _event(record: dict[str, Any], fallback_id: str, event_type: str, **extra: Any) -> NormalizedEvent:
    return email_event(
        provider=NAME,
        event_type=event_type,
        event_id=identifier(record.get("sg_event_id")) or fallback_id,
        occurred_at=parse_time(record.get("timestamp")),
        recipient=record.get("email"),
        message_id=_message_id(record),
        **extra,
    )


def _bounce(record: dict[str, Any], fallback_id: str) -> list[NormalizedEvent]:
    bounce_type = "soft" if text(record.get("type")) == "blocked" else "hard"
    description = text(record.get("reason"))
    return [_event(record, fallback_id, "email.bounced", bounce_type=bounce_type, description=description)]


def _dropped(record: dict[str, Any], fallback_id: str) -> list[NormalizedEvent]:
    reason = text(record.get("reason"))
    if not any(marker in reason.lower() for marker in _HARD_DROPS):
        raise IgnoredTopic(f"sendgrid drop {reason[:40]!r} is not a bounce")
    return [_event(record, fallback_id, "email.bounced", bounce_type="hard", description=reason)]


def _simple(event_type: str) -> Callable[[dict[str, Any], str], list[NormalizedEvent]]:
    def handle(record: dict[str, Any], fallback_id: str) -> list[NormalizedEvent]:
        return [_event(record, fallback_id, event_type)]

    return handle


def _click(record: dict[str, Any], fallback_id: str) -> list[NormalizedEvent]:
    return [_event(record, fallback_id, "email.clicked", url=text(record.get("url")))]


_EVENTS: dict[str, Callable[[dict[str, Any], str], list[NormalizedEvent]]] = {
    "delivered": _simple("email.delivered"),
    "bounce": _bounce,
    "dropped": _dropped,
    "spamreport": _simple("email.complained"),
    "open": _simple("email.opened"),
    "click": _click,
}


def _record(record: dict[str, Any], fallback_id: str) -> list[NormalizedEvent]:
    event = text(record.get("event"))
    handler = _EVENTS.get(event)
    if handler is None:
        raise IgnoredTopic(f"sendgrid event {event[:40]!r} is not handled")
    return handler(record, fallback_id)


def delivery_id(headers: Mapping[str, str], body: bytes) -> str:
    return body_digest(body)


def topic(headers: Mapping[str, str], body: bytes) -> str:
    try:
        records = load_records(body)
    except UnprocessablePayload:
        return "unknown"
    return bounded_topic(",".join(sorted({text(record.get("event")) for record in records} - {""})))


def parse(headers: Mapping[str, str], body: bytes) -> list[NormalizedEvent]:
    data = load_records(body)
    return collect(data, _record, body)
