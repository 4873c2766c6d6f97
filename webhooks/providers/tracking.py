"""Site tracking events from the snippet: page, identify, track (one, a list, or {"batch": [...]}).

Authenticated by the store's public write key, which only lets a browser add
events: it reads nothing and is safe to ship in a page.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from contacts.events import NormalizedEvent
from core.errors import InvalidSignature, UnprocessablePayload
from webhooks.providers.common import (
    DELIVERY_HEADER,
    RECEIVED_HEADER,
    body_digest,
    load_json,
    normalize_email,
    parse_time,
)

NAME = "tracking"
MAX_EVENTS = 100
_EVENT_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_RESERVED = ("email.", "order.", "checkout.", "privacy.", "consent.", "customer.", "survey.", "form.",
             "segment.", "loyalty.", "engagement.")
TRAITS = {"first_name", "last_name", "phone", "locale", "timezone"}


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    given = headers.get("x-nurture-write-key", "")
    if not secret or not given or not hmac.compare_digest(given.encode(), secret.encode()):
        raise InvalidSignature("write key not accepted")


def delivery_id(headers: Mapping[str, str], body: bytes) -> str:
    return body_digest(body)


def topic(headers: Mapping[str, str], body: bytes) -> str:
    return "track"


def _items(body: bytes) -> list[Any]:
    data = load_json(body)
    if isinstance(data, dict) and isinstance(data.get("batch"), list):
        data = data["batch"]
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_EVENTS:
        raise UnprocessablePayload(f"at most {MAX_EVENTS} events per request")
    return items


def _str(item: Mapping[str, Any], key: str, limit: int = 500) -> str:
    value = item.get(key)
    return value[:limit] if isinstance(value, str) else ""


def _page(item: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    url = _str(item, "url", 2000)
    return "page.viewed", {"url": url, "path": urlparse(url).path, "title": _str(item, "title"),
                           "referrer": _str(item, "referrer", 2000)}


def _track(item: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    name = _str(item, "event", 64).lower()
    if not _EVENT_NAME.match(name) or name.startswith(_RESERVED):
        raise UnprocessablePayload(f"event name {name!r} is not allowed: use letters, digits, . _ -")
    props = item.get("properties")
    return name, props if isinstance(props, dict) else {}


def _identify(item: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    return "identify", {}


KINDS = {"page": _page, "track": _track, "identify": _identify}


def _event(index: int, item: Any, headers: Mapping[str, str], body: bytes) -> NormalizedEvent:
    if not isinstance(item, dict) or not isinstance(item.get("type"), str) or item["type"] not in KINDS:
        raise UnprocessablePayload(f"event {index}: `type` must be one of page, identify, track")
    kind, properties = KINDS[item["type"]](item)
    anonymous = _str(item, "anonymous_id", 64) or None
    email = normalize_email(item.get("email"))
    if not (anonymous or email):
        raise UnprocessablePayload(f"event {index}: needs `anonymous_id` or `email`")
    raw_traits = item.get("traits")
    traits: dict[str, Any] = raw_traits if isinstance(raw_traits, dict) else {}
    delivery = headers.get(DELIVERY_HEADER) or body_digest(body)
    return NormalizedEvent(
        type=kind, source="tracking", idempotency_key=f"track:{delivery}:{index}",
        occurred_at=parse_time(item.get("timestamp"), parse_time(headers.get(RECEIVED_HEADER))),
        email=email, anonymous_id=anonymous,
        profile={k: str(v)[:100] for k, v in traits.items() if k in TRAITS},
        attributes={k: v for k, v in traits.items() if k not in TRAITS and isinstance(v, str | int | float)},
        properties=properties,
    )


def parse(headers: Mapping[str, str], body: bytes) -> list[NormalizedEvent]:
    return [_event(i, item, headers, body) for i, item in enumerate(_items(body))]
