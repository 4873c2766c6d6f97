"""Mailgun webhooks: `{"signature": {timestamp, token, signature}, "event-data": {...}}`.

delivered, failed (`severity` permanent is a hard bounce, temporary a soft one), complained,
opened and clicked (`url`) become events; other events are ignored. Keys are hyphenated
(`event-data`, `delivery-status`, `user-variables`); `timestamp` is float unix seconds.

message_id: our `message_id` user variable when we set one, else the `message-id` header Mailgun
reports in `message.headers` (without angle brackets).

Authentication is Mailgun's own: `signature.signature` is the hex HMAC-SHA256 of
`timestamp + token`, keyed with the webhook signing key (NURTURE_MAILGUN_SIGNING_KEY, not
the basic-auth NURTURE_EMAIL_WEBHOOK_SECRET of the other providers). The signature covers the
token and timestamp, not the body, so, as Mailgun advises, a token is good for one delivery: the
token is the delivery's id (a retry of the same body is a duplicate; another body under a used
token is refused by webhooks/receive.py), and `signed_at` lets it refuse stale timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Any

from contacts.events import NormalizedEvent
from core.errors import BadRequest, InvalidSignature, UnprocessablePayload
from webhooks.providers import IgnoredTopic
from webhooks.providers.common import body_digest, parse_time
from webhooks.providers.email_generic import bounded_id, bounded_topic, collect, email_event
from webhooks.providers.surveys import identifier, load_mapping, text

NAME = "email-mailgun"
_BOUNCE_TYPES = {"permanent": "hard", "temporary": "soft"}


def _signature(body: bytes) -> tuple[str, str, str]:
    try:
        signature = load_mapping(body).get("signature")
    except UnprocessablePayload:
        raise BadRequest("body is not a JSON object") from None
    if not isinstance(signature, dict):
        raise BadRequest("missing signature object")
    parts = tuple(identifier(signature.get(key)) for key in ("timestamp", "token", "signature"))
    if not all(parts):
        raise BadRequest("signature needs timestamp, token and signature")
    return parts[0], parts[1], parts[2]


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    if not secret:
        raise InvalidSignature("mailgun signing key is not configured: set NURTURE_MAILGUN_SIGNING_KEY")
    timestamp, token, signature = _signature(body)
    signed = (timestamp + token).encode("utf-8", "surrogatepass")
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.lower().encode("utf-8", "surrogatepass")):
        raise InvalidSignature("signature does not match")


def _event_data(data: Mapping[str, Any]) -> dict[str, Any]:
    event_data = data.get("event-data")
    if not isinstance(event_data, dict):
        raise UnprocessablePayload("event-data must be a JSON object")
    return event_data


def _nested(record: Mapping[str, Any], *path: str) -> Any:
    value: Any = record
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _message_id(record: Mapping[str, Any]) -> str:
    ours = identifier(_nested(record, "user-variables", "message_id"))
    return ours or identifier(_nested(record, "message", "headers", "message-id"))


def _event(record: dict[str, Any], fallback_id: str, event_type: str, **extra: Any) -> NormalizedEvent:
    return email_event(
        provider=NAME,
        event_type=event_type,
        event_id=identifier(record.get("id")) or fallback_id,
        occurred_at=parse_time(record.get("timestamp")),
        recipient=record.get("recipient"),
        message_id=_message_id(record),
        **extra,
    )


def _description(record: Mapping[str, Any]) -> str:
    candidates = (
        _nested(record, "delivery-status", "message"),
        _nested(record, "delivery-status", "description"),
        record.get("reason"),
    )
    return next((value for value in candidates if isinstance(value, str) and value), "")


def _failed(record: dict[str, Any], fallback_id: str) -> list[NormalizedEvent]:
    severity = text(record.get("severity"))
    bounce_type = _BOUNCE_TYPES.get(severity)
    if bounce_type is None:
        raise UnprocessablePayload(f"failed event with severity {severity[:40]!r}")
    extra = {"bounce_type": bounce_type, "description": _description(record)}
    return [_event(record, fallback_id, "email.bounced", **extra)]


def _simple(event_type: str) -> Callable[[dict[str, Any], str], list[NormalizedEvent]]:
    def handle(record: dict[str, Any], fallback_id: str) -> list[NormalizedEvent]:
        return [_event(record, fallback_id, event_type)]

    return handle


def _clicked(record: dict[str, Any], fallback_id: str) -> list[NormalizedEvent]:
    return [_event(record, fallback_id, "email.clicked", url=text(record.get("url")))]


_EVENTS: dict[str, Callable[[dict[str, Any], str], list[NormalizedEvent]]] = {
    "delivered": _simple("email.delivered"),
    "failed": _failed,
    "complained": _simple("email.complained"),
    "opened": _simple("email.opened"),
    "clicked": _clicked,
}


def _record(record: dict[str, Any], fallback_id: str) -> list[NormalizedEvent]:
    event = text(record.get("event"))
    handler = _EVENTS.get(event)
    if handler is None:
        raise IgnoredTopic(f"mailgun event {event[:40]!r} is not handled")
    return handler(record, fallback_id)


# The signature does not cover the body: a stored delivery's token may not carry another body.
SIGNATURE_COVERS_BODY = False


def delivery_id(headers: Mapping[str, str], body: bytes) -> str:
    """The signature token: one token, one delivery (verify has checked that it is there)."""
    try:
        token = identifier(_nested(load_mapping(body), "signature", "token"))
    except UnprocessablePayload:
        return body_digest(body)
    return "token:" + bounded_id(token, body)


def signed_at(headers: Mapping[str, str], body: bytes) -> float:
    """Unix seconds of the signature (verified), for the freshness window."""
    timestamp = _signature(body)[0]
    try:
        return float(timestamp)
    except ValueError:
        raise InvalidSignature(f"signature timestamp {timestamp[:40]!r} is not a number") from None


def topic(headers: Mapping[str, str], body: bytes) -> str:
    try:
        return bounded_topic(text(_nested(load_mapping(body), "event-data", "event")))
    except UnprocessablePayload:
        return "unknown"


def parse(headers: Mapping[str, str], body: bytes) -> list[NormalizedEvent]:
    return collect([_event_data(load_mapping(body))], _record, body)
