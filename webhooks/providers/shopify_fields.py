"""Reading Shopify payloads: typed field readers and the event shape every topic module shares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contacts.events import NormalizedEvent
from core.errors import UnprocessablePayload
from webhooks.providers import common

NAME = "shopify"
# Our columns are signed 64-bit (BigIntField); anything outside cannot be stored, so refuse it here.
INT64 = 2**63


@dataclass(frozen=True)
class Delivery:
    """What every topic handler may need besides the payload."""

    data: dict[str, Any]
    # occurred_at for payloads without a timestamp of their own (the privacy topics).
    fallback_time: dt.datetime
    # Stands in for a missing natural key: identical bodies are the same happening.
    digest: str


def fallback_time(headers: Mapping[str, str]) -> dt.datetime:
    try:
        return common.parse_time(headers.get("x-shopify-triggered-at"))
    except UnprocessablePayload:
        return common.parse_time(None)


def as_text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise UnprocessablePayload(f"{field} must be text")
    # PostgreSQL cannot store NUL or lone surrogates (valid in JSON); drop them here, not at insert.
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def text(container: Mapping[str, Any], key: str) -> str:
    return as_text(container.get(key), key)


def integer(container: Mapping[str, Any], key: str) -> int | None:
    value = container.get(key)
    if value is None or value == "":
        return None
    try:
        number = common.as_int(value)
    except ValueError:  # int() refuses over 4300 digits and some Unicode digits ("²")
        number = None
    if number is None or not -INT64 < number < INT64:
        raise UnprocessablePayload(f"{key} must be a 64-bit integer")
    return number


def required_id(container: Mapping[str, Any], key: str) -> int:
    number = integer(container, key)
    if number is None or number <= 0:
        raise UnprocessablePayload(f"{key} is missing")
    return number


def obj(container: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Optional nested object: absent or null reads as empty, any other type is a bad payload."""
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UnprocessablePayload(f"{key} must be an object")
    return value


def items(container: Mapping[str, Any], key: str) -> list[Any]:
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise UnprocessablePayload(f"{key} must be a list")
    return value


def tags(value: Any) -> tuple[str, ...]:
    """Shopify sends "tag, VIP"; a list is accepted too. Trimmed, non-empty, first occurrence kept."""
    parts = value.split(",") if isinstance(value, str) else value
    if parts is None:
        return ()
    if not isinstance(parts, list):
        raise UnprocessablePayload("tags must be text")
    cleaned = (as_text(part, "tags").strip() for part in parts)
    return tuple(dict.fromkeys(tag for tag in cleaned if tag))


def money(container: Mapping[str, Any], key: str) -> str:
    try:
        return common.money(container.get(key))
    except ArithmeticError:
        # Decimal.quantize overflows on huge amounts ("1e99"); common.money lets that escape.
        raise UnprocessablePayload(f"{key} is not an amount") from None


def when(container: Mapping[str, Any], *keys: str) -> dt.datetime | None:
    """The first of `keys` that is set, as aware UTC; None when none is."""
    for key in keys:
        if container.get(key) not in (None, ""):
            return common.parse_time(container[key])
    return None


def iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def event(kind: str, key: str, occurred_at: dt.datetime, **fields: Any) -> NormalizedEvent:
    return NormalizedEvent(
        type=kind, source=NAME, idempotency_key=f"shopify:{kind}:{key}", occurred_at=occurred_at, **fields
    )


def shop_money(container: Mapping[str, Any], key: str, currency_key: str = "currency") -> tuple[str, str]:
    """(amount, currency) in the shop's own currency: `<key>_set.shop_money` where Shopify sends it
    (an order paid in another currency has its presentment amount in `<key>`), else `<key>`."""
    money_set = obj(obj(container, f"{key}_set"), "shop_money")
    if money_set.get("amount") not in (None, ""):
        return money(money_set, "amount"), text(money_set, "currency_code")
    return money(container, key), text(container, currency_key)

