"""Amazon SES notifications delivered through SNS.

SNS posts its envelope as JSON with `Content-Type: text/plain`; the SES notification is a JSON
*string* in `Message`. A body that is the SES notification itself (SNS "raw message delivery")
is accepted too. SubscriptionConfirmation / UnsubscribeConfirmation envelopes are ignored here:
confirming a subscription means fetching its SubscribeURL, which a pure parser does not do.

`notificationType` (or `eventType` for configuration-set events): Bounce (bounceType Permanent is
hard, Transient / Undetermined soft) and Complaint give one event per listed recipient; Delivery,
Open and Click (`click.link`) one per recipient of the mail. Anything else is ignored.

message_id: our Message-ID header when SES lists it in `mail.headers` / `commonHeaders`, else the
SES `mail.messageId`. Idempotency: the feedback id (bounces, complaints), else the SNS MessageId,
else the body digest; plus the recipient's index.

Authentication: HTTP basic auth in the subscription URL, which SNS supports for HTTPS endpoints
(`email_generic.verify_basic_auth`). SNS message signatures are not checked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from contacts.events import NormalizedEvent
from core.errors import UnprocessablePayload
from webhooks.providers import IgnoredTopic
from webhooks.providers.common import body_digest, parse_time
from webhooks.providers.email_generic import bounded_id, bounded_topic, email_event, verify_basic_auth
from webhooks.providers.surveys import identifier, load_mapping, text

NAME = "email-ses"
_SNS_IGNORED = frozenset({"SubscriptionConfirmation", "UnsubscribeConfirmation"})
_BOUNCE_TYPES = {"Permanent": "hard", "Transient": "soft", "Undetermined": "soft"}

verify = verify_basic_auth


@dataclass(frozen=True)
class Notification:
    kind: str
    body: dict[str, Any]  # the SES notification
    event_id: str  # feedback id, SNS MessageId or body digest


def _section(notification: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = notification.get(key)
    return value if isinstance(value, dict) else {}


def _kind(notification: Mapping[str, Any]) -> str:
    return text(notification.get("notificationType")) or text(notification.get("eventType"))


def _inner(envelope: Mapping[str, Any]) -> dict[str, Any]:
    message = envelope.get("Message")
    if not isinstance(message, str):
        raise UnprocessablePayload("SNS Message must be a JSON string")
    return load_mapping(message.encode("utf-8", "surrogatepass"))


def _unwrap(data: dict[str, Any], body: bytes) -> Notification:
    sns_type = text(data.get("Type"))
    if sns_type in _SNS_IGNORED:
        raise IgnoredTopic(f"SNS {sns_type}")
    if sns_type and sns_type != "Notification":
        raise IgnoredTopic(f"SNS message type {sns_type[:40]!r} is not handled")
    inner = _inner(data) if sns_type else data
    kind = _kind(inner)
    if not kind:
        raise UnprocessablePayload("not an SES notification (no notificationType or eventType)")
    feedback_id = identifier(_section(inner, kind.lower()).get("feedbackId"))
    event_id = feedback_id or identifier(data.get("MessageId")) or body_digest(body)
    return Notification(kind=kind, body=inner, event_id=event_id)


def _message_id(notification: Mapping[str, Any]) -> str:
    mail = _section(notification, "mail")
    headers = mail.get("headers")
    entries = headers if isinstance(headers, list) else []
    ours = (
        identifier(entry.get("value"))
        for entry in entries
        if isinstance(entry, dict) and text(entry.get("name")).lower() == "message-id"
    )
    common = identifier(_section(mail, "commonHeaders").get("messageId"))
    return next((value for value in ours if value), "") or common or identifier(mail.get("messageId"))


def _occurred_at(notification: Mapping[str, Any], section: str) -> dt.datetime:
    stamp = _section(notification, section).get("timestamp") or _section(notification, "mail").get("timestamp")
    return parse_time(stamp)


def _addresses(items: Any, key: str | None = None) -> list[Any]:
    """Recipient entries: plain strings, or objects holding the address under `key`."""
    entries = items if isinstance(items, list) else []
    return [entry.get(key) if key and isinstance(entry, dict) else entry for entry in entries]


def _events(
    notification: Notification, event_type: str, recipients: list[Any], extras: list[dict[str, Any]]
) -> list[NormalizedEvent]:
    if not recipients:
        raise UnprocessablePayload(f"SES {notification.kind} without recipients")
    occurred_at = _occurred_at(notification.body, notification.kind.lower())
    message_id = _message_id(notification.body)
    return [
        email_event(
            provider=NAME,
            event_type=event_type,
            event_id=f"{notification.event_id}:{index}",
            occurred_at=occurred_at,
            recipient=recipient,
            message_id=message_id,
            **extra,
        )
        for index, (recipient, extra) in enumerate(zip(recipients, extras, strict=True))
    ]


def _destinations(notification: Notification) -> list[Any]:
    return _addresses(_section(notification.body, "mail").get("destination"))


def _bounce(notification: Notification) -> list[NormalizedEvent]:
    bounce = _section(notification.body, "bounce")
    bounce_type = _BOUNCE_TYPES.get(text(bounce.get("bounceType")), "soft")
    entries = [entry for entry in _addresses(bounce.get("bouncedRecipients")) if isinstance(entry, dict)]
    subtype = text(bounce.get("bounceSubType"))
    extras = [
        {"bounce_type": bounce_type, "description": text(entry.get("diagnosticCode")) or subtype}
        for entry in entries
    ]
    return _events(notification, "email.bounced", [entry.get("emailAddress") for entry in entries], extras)


def _complaint(notification: Notification) -> list[NormalizedEvent]:
    complaint = _section(notification.body, "complaint")
    recipients = _addresses(complaint.get("complainedRecipients"), "emailAddress")
    return _events(notification, "email.complained", recipients, [{} for _ in recipients])


def _delivery(notification: Notification) -> list[NormalizedEvent]:
    recipients = _addresses(_section(notification.body, "delivery").get("recipients"))
    return _events(notification, "email.delivered", recipients, [{} for _ in recipients])


def _open(notification: Notification) -> list[NormalizedEvent]:
    recipients = _destinations(notification)
    return _events(notification, "email.opened", recipients, [{} for _ in recipients])


def _click(notification: Notification) -> list[NormalizedEvent]:
    url = text(_section(notification.body, "click").get("link"))
    recipients = _destinations(notification)
    return _events(notification, "email.clicked", recipients, [{"url": url} for _ in recipients])


_KINDS: dict[str, Callable[[Notification], list[NormalizedEvent]]] = {
    "Bounce": _bounce,
    "Complaint": _complaint,
    "Delivery": _delivery,
    "Open": _open,
    "Click": _click,
}


def delivery_id(headers: Mapping[str, str], body: bytes) -> str:
    try:
        data = load_mapping(body)
    except UnprocessablePayload:
        return body_digest(body)
    return bounded_id(identifier(data.get("MessageId")), body)


def topic(headers: Mapping[str, str], body: bytes) -> str:
    try:
        data = load_mapping(body)
        sns_type = text(data.get("Type"))
        kind = _kind(_inner(data)) if sns_type == "Notification" else _kind(data)
    except UnprocessablePayload:
        return "unknown"
    return bounded_topic(":".join(part for part in (sns_type, kind) if part))


def parse(headers: Mapping[str, str], body: bytes) -> list[NormalizedEvent]:
    notification = _unwrap(load_mapping(body), body)
    handler = _KINDS.get(notification.kind)
    if handler is None:
        raise IgnoredTopic(f"SES {notification.kind[:40]!r} notifications are not handled")
    return handler(notification)
