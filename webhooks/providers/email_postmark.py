"""Postmark webhooks: one record per delivery, its kind in `RecordType`.

Keys differ by record type: Bounce and SpamComplaint carry `Email`, `ID` and `BouncedAt`
(the complaint time too); Delivery, Open and Click carry `Recipient` and `DeliveredAt` /
`ReceivedAt`, and no `ID`. Bounce `Type`s that mean the address is gone (HardBounce,
BadEmailAddress, ManuallyDeactivated...) are hard, informational ones (AutoResponder,
Subscribe...) are ignored and the rest (SoftBounce, Transient, DnsError...) are soft.

message_id: our own Message-ID when the payload has it (a `Message-ID` entry in `Headers`, or
`message_id` in `Metadata`, which we set when sending), else Postmark's `MessageID`.

Authentication: HTTP basic auth on the webhook URL (`email_generic.verify_basic_auth`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from contacts.events import NormalizedEvent
from core.errors import UnprocessablePayload
from webhooks.providers import IgnoredTopic
from webhooks.providers.common import body_digest, parse_time
from webhooks.providers.email_generic import (
    bounded_id,
    bounded_topic,
    collect,
    email_event,
    verify_basic_auth,
)
from webhooks.providers.surveys import identifier, load_mapping, text

NAME = "email-postmark"

_HARD = frozenset({"HardBounce", "BadEmailAddress", "ManuallyDeactivated", "Unconfirmed"})
_NOT_BOUNCES = frozenset(
    {
        "AutoResponder",
        "Subscribe",
        "Unsubscribe",
        "AddressChange",
        "OpenRelayTest",
        "ChallengeVerification",
        "VirusNotification",
        "SpamNotification",
        "InboundError",
    }
)
# Bounces and complaints (the complaint time too) are in BouncedAt.
_TIME_KEYS = {"email.delivered": "DeliveredAt", "email.opened": "ReceivedAt", "email.clicked": "ReceivedAt"}
_OUR_ID_KEYS = frozenset({"message_id", "message-id", "messageid"})

verify = verify_basic_auth


def _from_headers(record: Mapping[str, Any]) -> str:
    headers = record.get("Headers")
    entries = headers if isinstance(headers, list) else []
    values = (
        identifier(entry.get("Value"))
        for entry in entries
        if isinstance(entry, dict) and text(entry.get("Name")).lower() == "message-id"
    )
    return next((value for value in values if value), "")


def _from_metadata(record: Mapping[str, Any]) -> str:
    metadata = record.get("Metadata")
    items = metadata.items() if isinstance(metadata, dict) else ()
    values = (identifier(value) for key, value in items if key.lower() in _OUR_ID_KEYS)
    return next((value for value in values if value), "")


def _message_id(record: Mapping[str, Any]) -> str:
    return _from_headers(record) or _from_metadata(record) or identifier(record.get("MessageID"))


def _event(record: dict[str, Any], fallback_id: str, event_type: str, **extra: Any) -> NormalizedEvent:
    return email_event(
        provider=NAME,
        event_type=event_type,
        event_id=identifier(record.get("ID")) or fallback_id,
        occurred_at=parse_time(record.get(_TIME_KEYS.get(event_type, "BouncedAt"))),
        recipient=record.get("Recipient") or record.get("Email"),
        message_id=_message_id(record),
        **extra,
    )


def _bounce(record: dict[str, Any], fallback_id: str) -> list[NormalizedEvent]:
    kind = text(record.get("Type"))
    if kind == "SpamComplaint":
        return _complaint(record, fallback_id)
    if kind in _NOT_BOUNCES:
        raise IgnoredTopic(f"postmark bounce type {kind} is not a bounce")
    description = text(record.get("Details")) or text(record.get("Description"))
    bounce_type = "hard" if kind in _HARD else "soft"
    return [_event(record, fallback_id, "email.bounced", bounce_type=bounce_type, description=description)]


def _complaint(record: dict[str, Any], fallback_id: str) -> list[NormalizedEvent]:
    return [_event(record, fallback_id, "email.complained")]


def _delivery(record: dict[str, Any], fallback_id: str) -> list[NormalizedEvent]:
    return [_event(record, fallback_id, "email.delivered")]


def _open(record: dict[str, Any], fallback_id: str) -> list[NormalizedEvent]:
    return [_event(record, fallback_id, "email.opened")]


def _click(record: dict[str, Any], fallback_id: str) -> list[NormalizedEvent]:
    return [_event(record, fallback_id, "email.clicked", url=text(record.get("OriginalLink")))]


_RECORDS: dict[str, Callable[[dict[str, Any], str], list[NormalizedEvent]]] = {
    "Bounce": _bounce,
    "SpamComplaint": _complaint,
    "Delivery": _delivery,
    "Open": _open,
    "Click": _click,
}


def _record(record: dict[str, Any], fallback_id: str) -> list[NormalizedEvent]:
    record_type = text(record.get("RecordType"))
    handler = _RECORDS.get(record_type)
    if handler is None:
        raise IgnoredTopic(f"postmark record type {record_type[:40]!r} is not handled")
    return handler(record, fallback_id)


def delivery_id(headers: Mapping[str, str], body: bytes) -> str:
    try:
        record = load_mapping(body)
    except UnprocessablePayload:
        return body_digest(body)
    record_id = identifier(record.get("ID"))
    return bounded_id(f"{text(record.get('RecordType'))}:{record_id}" if record_id else "", body)


def topic(headers: Mapping[str, str], body: bytes) -> str:
    try:
        return bounded_topic(text(load_mapping(body).get("RecordType")))
    except UnprocessablePayload:
        return "unknown"


def parse(headers: Mapping[str, str], body: bytes) -> list[NormalizedEvent]:
    return collect([load_mapping(body)], _record, body)
