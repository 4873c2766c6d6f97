"""Helpers shared by tests: sample payloads, provider signing, draining the worker."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Payloads in the providers' formats, carried by the repository (real/ holds captured ones, see its PROVENANCE.md).
SAMPLES = REPO / "tests" / "fixtures"


def sample(relative: str) -> bytes:
    return (SAMPLES / relative).read_bytes()


def sample_json(relative: str) -> Any:
    return json.loads(sample(relative))


def shopify_headers(body: bytes, secret: str, topic: str, webhook_id: str | None = None) -> dict[str, str]:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Shop-Domain": "acme-audio.myshopify.com",
        "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
    }


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
}


def shopify_topic_for(path: Path) -> str:
    matches = [p for p in TOPIC_BY_PREFIX if path.stem == p or path.stem.startswith(p + "-")]
    assert matches, f"no topic for sample {path.name}"
    return TOPIC_BY_PREFIX[max(matches, key=len)]
