"""Site tracking events from the snippet: page, identify, track (one, a list, or {"batch": [...]}).

Authenticated by the store's public write key, which only lets a browser add events: it reads
nothing and is safe to ship in a page. It proves the snippet is the store's, not who the visitor
is: an email in an event is a claim, proven only by `user_hash`, the HMAC-SHA256 of the address
that the store's backend computes with NURTURE_TRACKING_IDENTITY_SECRET (as Intercom and
Customer.io do). The HTTP edge checks it and stamps the proven addresses (as digests) into the
stored headers, so parsing stays a pure function of the row. Timestamps are clamped to the time
of receipt (plus a small skew).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import zoneinfo
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from contacts.events import NormalizedEvent
from core.addresses import fold_address
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
             "segment.", "loyalty.", "engagement.", "coupon.", "product.")
TRAITS = {"first_name", "last_name", "phone", "locale", "timezone"}
VERIFIED_HEADER = "x-nurture-verified-identities"
# A browser clock may run a little ahead; anything later is clamped to the time of receipt plus this.
MAX_SKEW = dt.timedelta(minutes=5)
_LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$")


def identity_digest(email: str) -> str:
    return hashlib.sha256(fold_address(email).encode()).hexdigest()[:32]


def user_hash(email: str, secret: str) -> str:
    """What the store's backend puts in `user_hash` for an identify of `email`."""
    return hmac.new(secret.encode(), fold_address(email).encode(), hashlib.sha256).hexdigest()


def verified_identities(body: bytes, secret: str) -> str:
    """The digests of the addresses whose `user_hash` proves them (for VERIFIED_HEADER); none
    without a secret, or when the body is not readable (parse will say why)."""
    if not secret:
        return ""
    try:
        items = _items(body)
    except (UnprocessablePayload, ValueError, RecursionError):
        return ""
    proven = [identity_digest(email) for item in items if isinstance(item, dict)
              and (email := normalize_email(item.get("email"))) and _proves(item, email, secret)]
    return ",".join(sorted(set(proven)))


def _proves(item: Mapping[str, Any], email: str, secret: str) -> bool:
    """The store signs the address as it knows it: as sent, or in our normal form."""
    given = item.get("user_hash")
    if not isinstance(given, str) or not given.isascii():
        return False
    spellings = {email, fold_address(str(item.get("email")))}
    return any(hmac.compare_digest(given.lower().encode(), user_hash(s, secret).encode()) for s in spellings)


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
    name = _str(item, "event").lower()  # whole: a name too long is refused below, never cut short
    if not _EVENT_NAME.match(name) or name.startswith(_RESERVED):
        raise UnprocessablePayload(f"event name {name!r} is not allowed: use letters, digits, . _ -")
    props = item.get("properties")
    return name, props if isinstance(props, dict) else {}


def _identify(item: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    return "identify", {}


def _profile(traits: Mapping[str, Any]) -> dict[str, str]:
    """Profile traits, without values that would break the contact later (an unknown time zone)."""
    profile = {k: str(v)[:100] for k, v in traits.items() if k in TRAITS and isinstance(v, str | int)}
    if "timezone" in profile and not _known_zone(profile["timezone"]):
        del profile["timezone"]
    if "locale" in profile and not _LOCALE.match(profile["locale"]):
        del profile["locale"]
    return profile


def _known_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _occurred_at(item: Mapping[str, Any], headers: Mapping[str, str]) -> dt.datetime:
    received = parse_time(headers.get(RECEIVED_HEADER))
    return min(parse_time(item.get("timestamp"), received), received + MAX_SKEW)


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
    verified = email is None or identity_digest(email) in headers.get(VERIFIED_HEADER, "").split(",")
    if kind == "identify":
        properties = {"verified": verified}
    return NormalizedEvent(
        type=kind, source="tracking", idempotency_key=f"track:{delivery}:{index}",
        occurred_at=_occurred_at(item, headers), email=email, anonymous_id=anonymous, verified=verified,
        profile=_profile(traits),
        attributes={k: v for k, v in traits.items() if k not in TRAITS and isinstance(v, str | int | float)},
        properties=properties,
    )


def parse(headers: Mapping[str, str], body: bytes) -> list[NormalizedEvent]:
    return [_event(i, item, headers, body) for i, item in enumerate(_items(body))]
