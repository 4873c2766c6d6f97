"""Small pure helpers shared by provider parsers."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from core.addresses import fold_address
from core.errors import BadRequest, InvalidSignature, UnprocessablePayload

# Stamped on every stored delivery by the receiving handler.
DELIVERY_HEADER = "x-nurture-delivery-id"
RECEIVED_HEADER = "x-nurture-received-at"

# Deliberately simple: one @, a dot in the domain, no spaces or control characters.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]{2,}$")


def normalize_email(value: Any) -> str | None:
    """Lower-cased, trimmed address, or None when it is missing or not an address."""
    if not isinstance(value, str):
        return None
    # NFC ("é" typed as one code point or as "e" + combining accent is the same address), and a
    # Turkish capital İ is an i (core/addresses.py).
    candidate = fold_address(value)
    if "<" in candidate and candidate.endswith(">"):  # "Name <addr>" or "<addr>"
        candidate = candidate[candidate.rindex("<") + 1:-1].strip()
    if candidate.startswith("mailto:"):
        candidate = candidate[len("mailto:"):].split("?", 1)[0]
    candidate = candidate.rstrip(".")  # a fully qualified domain's trailing dot names the same host
    if len(candidate) > 320 or not _EMAIL.match(candidate):
        return None
    return candidate


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN / Infinity: Python accepts them, PostgreSQL's json does not


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:30]} is out of range")  # 1e400 would be stored as Infinity
    return value


def load_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite)
    # ValueError also covers integers too long to convert (over 4300 digits).
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise UnprocessablePayload(f"body is not valid JSON: {error}") from None


def load_object(body: bytes) -> dict[str, Any]:
    data = load_json(body)
    if not isinstance(data, dict):
        raise UnprocessablePayload("body must be a JSON object")
    return data


def parse_time(value: Any, default: dt.datetime | None = None) -> dt.datetime:
    """ISO 8601 or unix seconds to an aware UTC datetime; `default` (or now) when absent."""
    fallback = default or dt.datetime.now(dt.UTC)
    if value is None or value == "":
        return fallback
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return dt.datetime.fromtimestamp(float(value), dt.UTC)
        if isinstance(value, str):
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            return parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise UnprocessablePayload(f"not a date/time: {str(value)[:60]!r}")


def money(value: Any) -> str:
    """Money as a canonical string ("49.90"); never through float."""
    if value is None or value == "":
        return "0.00"
    try:
        amount = Decimal(str(value))
        if not amount.is_finite() or abs(amount) >= Decimal("1e12"):
            raise InvalidOperation
        return str(amount.quantize(Decimal("0.01")))
    except InvalidOperation:
        raise UnprocessablePayload(f"not an amount: {str(value)[:40]!r}") from None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isascii() and value.strip().lstrip("-").isdigit():
        try:
            return int(value.strip())
        except ValueError:  # longer than Python converts
            return None
    return None


def header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower(), "")
    if not value:
        raise BadRequest(f"missing header {name}")
    return value


def signature_header(headers: Mapping[str, str], name: str) -> str:
    """A signature or Authorization header: a request without one is unauthenticated (401), not malformed."""
    value = headers.get(name.lower(), "")
    if not value:
        raise InvalidSignature(f"missing signature header {name}")
    return value


def check_hmac_base64(body: bytes, secret: str, signature: str) -> None:
    """Constant-time check of base64(HMAC-SHA256(secret, body))."""
    if not secret:
        raise InvalidSignature("webhook secret is not configured")
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    try:
        given = signature.strip().encode("ascii")
    except UnicodeEncodeError:
        raise InvalidSignature("signature is not base64") from None
    if not hmac.compare_digest(expected.encode(), given):
        raise InvalidSignature("signature does not match")


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
