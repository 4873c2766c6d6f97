"""Helpers shared by tests: sample payloads, provider signing, draining the worker."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import logging
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from core.services import OutgoingEmail
from webhooks.providers.tracking import user_hash

REPO = Path(__file__).resolve().parents[1]
# The store's secret for identify calls (NURTURE_TRACKING_IDENTITY_SECRET in tests/conftest.py).
IDENTITY_SECRET = "identity-test-secret"
# Payloads in the providers' formats, carried by the repository (real/ holds captured ones, see its PROVENANCE.md).
SAMPLES = REPO / "tests" / "fixtures"


def sample(relative: str) -> bytes:
    return (SAMPLES / relative).read_bytes()


def sample_json(relative: str) -> Any:
    return json.loads(sample(relative))


SHOP = "acme-audio.myshopify.com"


def shop_named_in(body: bytes) -> str:
    """The shop a privacy body names (Shopify sends it from that shop), else our test shop."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # hostile bodies: too deep for json
        return SHOP
    named = data.get("shop_domain") if isinstance(data, dict) else None
    return named if isinstance(named, str) and named.isprintable() and named else SHOP


def shopify_headers(body: bytes, secret: str, topic: str, webhook_id: str | None = None,
                    shop: str | None = None) -> dict[str, str]:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Shop-Domain": shop or shop_named_in(body),
        "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
    }


def mailgun_signed(body: bytes, key: str, token: str | None = None, timestamp: float | None = None) -> bytes:
    """`body` with Mailgun's signature object: HMAC-SHA256 of timestamp + token (a fresh token and now by default)."""
    data = json.loads(body)
    stamp = str(int(time.time() if timestamp is None else timestamp))
    token = token or uuid.uuid4().hex
    signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    data["signature"] = {"timestamp": stamp, "token": token, "signature": signature}
    return json.dumps(data).encode()


def typeform_headers(body: bytes, secret: str) -> dict[str, str]:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {"Content-Type": "application/json", "Typeform-Signature": f"sha256={digest}"}


def survey_headers(body: bytes, secret: str) -> dict[str, str]:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {"Content-Type": "application/json", "X-Nurture-Signature": digest}


def basic_auth(userpass: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(userpass.encode()).decode()}


def slack_headers(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(timestamp or int(time.time()))
    base = f"v0:{ts}:".encode() + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


# Sample file name -> Shopify topic (`orders-create-zh-tw.json` is orders/create).
TOPIC_BY_PREFIX = {
    "orders-create": "orders/create",
    "orders-paid": "orders/paid",
    "orders-cancelled": "orders/cancelled",
    "checkouts-create": "checkouts/create",
    "checkouts-update": "checkouts/update",
    "customers-create": "customers/create",
    "customers-update": "customers/update",
    "customers-email-marketing-consent-update": "customers_email_marketing_consent/update",
    "customers-data-request": "customers/data_request",
    "customers-redact": "customers/redact",
    "shop-redact": "shop/redact",
    "fulfillments-create": "fulfillments/create",
    "refunds-create": "refunds/create",
    "products-create": "products/create",
    "products-delete": "products/delete",
}


def shopify_topic_for(path: Path) -> str:
    matches = [p for p in TOPIC_BY_PREFIX if path.stem == p or path.stem.startswith(p + "-")]
    assert matches, f"no topic for sample {path.name}"
    return TOPIC_BY_PREFIX[max(matches, key=len)]


def signed_in(item: dict[str, Any]) -> dict[str, Any]:
    """A tracking event from a visitor the store knows: its snippet adds the identity proof."""
    email = item.get("email")
    if not isinstance(email, str) or "user_hash" in item:
        return item
    return {**item, "user_hash": user_hash(email, IDENTITY_SECRET)}


def parse_strictly(message: OutgoingEmail) -> EmailMessage:
    """An outgoing message's bytes as a relay receives them, parsed back with the standard library's
    strict policy (any defect raises); checks the wire rules a relay enforces on the way."""
    lines = message.data.split(b"\r\n")
    assert message.data.endswith(b"\r\n") and all(b"\n" not in line and b"\r" not in line for line in lines), \
        "every line ends in CRLF, no bare CR or LF"
    assert max(map(len, lines)) <= 998, "RFC 5322 line limit"
    assert not any(line.endswith((b" ", b"\t")) for line in lines), "relays strip blanks at a line's end"
    head, body = message.data.split(b"\r\n\r\n", 1)
    assert not body.translate(None, bytes(range(32, 127)) + b"\t\r\n"), "bodies hold printable ASCII only"
    assert head.isascii() or message.needs_smtputf8, "headers are ASCII (encoded words) for a plain relay"
    parsed = email.message_from_bytes(message.data, policy=email.policy.strict)
    assert isinstance(parsed, EmailMessage) and not parsed.defects
    for part in parsed.walk():
        assert not part.defects, part.defects
    assert parsed["Message-ID"] == message.message_id
    assert [a.addr_spec for a in parsed["To"].addresses] == list(message.recipients)
    assert parsed["From"].addresses[0].addr_spec == message.mail_from
    return parsed


class QueryLog(logging.Handler):
    """Every statement the ORM sends, with its values (an execute_many counts once)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.queries: list[tuple[str, list[Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) == 2 and isinstance(args[0], str):
            values = list(args[1] or [])
            # A prepared statement run for many rows (execute_many) logs them all: its first one stands in.
            many = bool(values) and isinstance(values[0], list | tuple)
            self.queries.append((args[0], list(values[0]) if many else values))
