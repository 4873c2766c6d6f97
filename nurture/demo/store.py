"""A store's systems, played by the demo: every request signed exactly as the real provider signs it."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import aiohttp

from core.settings import Settings
from nurture.slack_double import SlackApiDouble

SHOP = "https://acme-audio.example"
FORM_SECRET = "demo-quote-form-secret"


def _b64_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class DemoStore:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, settings: Settings,
                 slack: SlackApiDouble | None = None) -> None:
        self.session, self.base_url, self.settings = session, base_url, settings
        self.slack = slack  # the rep's Slack: the modals a click opens are read from it
        self.statuses: list[tuple[str, int, str]] = []  # (what was posted, status, start of the answer)

    async def _post(self, path: str, body: bytes, headers: dict[str, str], what: str = "") -> int:
        async with self.session.post(f"{self.base_url}{path}", data=body, headers=headers) as response:
            answer = (await response.read())[:200].decode("utf-8", "replace")
            self.statuses.append((f"POST {path} {what}".strip(), response.status, answer))
            return response.status

    def failures(self) -> list[str]:
        """Every request an endpoint did not accept (non-2xx): each one is a broken demo."""
        return [f"{what} -> {status} {answer}".strip() for what, status, answer in self.statuses
                if not 200 <= status < 300]

    async def shopify(self, topic: str, payload: dict[str, Any]) -> int:
        body = json.dumps(payload).encode()
        return await self._post("/webhooks/shopify", body, {
            "Content-Type": "application/json", "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": _b64_hmac(self.settings.shopify_webhook_secret, body),
            "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-Shop-Domain": "acme-audio.myshopify.com",
        }, what=f"({topic})")

    async def newsletter(self, email: str, first_name: str, browser_language: str = "") -> int:
        """A signup from the shop's page, in a browser that reads `browser_language` (Accept-Language)."""
        body = urlencode({"email": email, "first_name": first_name, "consent": "yes", "website": ""}).encode()
        language = {"Accept-Language": browser_language} if browser_language else {}
        return await self._post("/webhooks/forms/newsletter", body, {
            "Content-Type": "application/x-www-form-urlencoded", "Origin": SHOP, **language})

    async def quote_request(self, fields: dict[str, Any]) -> int:
        body = json.dumps(fields).encode()
        return await self._post("/webhooks/forms/quote-request", body, {
            "Content-Type": "application/json", "X-Nurture-Form-Secret": FORM_SECRET})

    async def track(self, events: list[dict[str, Any]]) -> int:
        return await self._post("/track", json.dumps({"batch": events}).encode(), {
            "Content-Type": "application/json", "X-Nurture-Write-Key": self.settings.tracking_write_key})

    async def nps(self, email: str, score: int, comment: str, response_id: str) -> int:
        body = json.dumps({"email": email, "score": score, "comment": comment, "survey": "post-purchase-nps",
                           "response_id": response_id}).encode()
        return await self._post("/webhooks/surveys/generic", body, {
            "Content-Type": "application/json",
            "X-Nurture-Signature": _b64_hmac(self.settings.survey_secret, body)})

    async def slack_click(self, action_id: str, value: str, user: str, channel: str, ts: str) -> int:
        return await self._slack({
            "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": "T0ACME"},
            "api_app_id": "A0NURTURE", "token": "x", "team": {"id": "T0ACME", "domain": "acme"},
            "container": {"type": "message", "message_ts": ts, "channel_id": channel},
            "trigger_id": "1.2.3", "channel": {"id": channel, "name": "sales"},
            "message": {"type": "message", "ts": ts, "text": "", "blocks": []}, "state": {"values": {}},
            "response_url": f"{self.base_url}/slack-response-unused",
            "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button",
                         "action_ts": f"{time.time():.6f}"}],
        })

    async def slack_modal(self, action_id: str, value: str, user: str, channel: str, ts: str) -> dict[str, Any]:
        """Press a button that opens a modal; the modal as Slack would show it."""
        assert self.slack is not None
        opened = len(self.slack.called("views.open"))
        await self.slack_click(action_id, value, user, channel, ts)
        for _ in range(200):
            if len(self.slack.called("views.open")) > opened:
                return dict(self.slack.called("views.open")[-1].params["view"])
            await asyncio.sleep(0.02)
        raise RuntimeError(f"pressing {action_id} opened no modal")

    async def slack_modal_update(self, action_id: str, value: str, user: str, view: dict[str, Any],
                                 values: dict[str, Any]) -> dict[str, Any]:
        """Press a button inside an open modal (with what is typed so far); the modal it becomes."""
        assert self.slack is not None
        updated = len(self.slack.called("views.update"))
        await self._slack({
            "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": "T0ACME"},
            "api_app_id": "A0NURTURE", "token": "x", "team": {"id": "T0ACME", "domain": "acme"},
            "container": {"type": "view", "view_id": view["id"]}, "trigger_id": "1.2.5",
            "view": {"hash": "1.b", **view, "state": {"values": values}},
            "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": value,
                         "action_ts": f"{time.time():.6f}"}],
        })
        for _ in range(200):
            if len(self.slack.called("views.update")) > updated:
                return {"id": view["id"], **self.slack.called("views.update")[-1].params["view"]}
            await asyncio.sleep(0.02)
        raise RuntimeError(f"pressing {action_id} did not update the modal")

    async def slack_submit(self, callback_id: str, values: dict[str, Any], user: str, metadata: str) -> int:
        """A modal's Save pressed: its fields as Slack sends them (state.values)."""
        return await self._slack({
            "type": "view_submission", "team": {"id": "T0ACME", "domain": "acme"}, "api_app_id": "A0NURTURE",
            "user": {"id": user, "username": user.lower(), "team_id": "T0ACME"}, "token": "x", "trigger_id": "1.2.4",
            "view": {"id": "VDEMO", "type": "modal", "callback_id": callback_id, "private_metadata": metadata,
                     "hash": "1.a", "blocks": [], "state": {"values": values}},
        })

    async def _slack(self, payload: dict[str, Any]) -> int:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        timestamp = str(int(time.time()))
        signature = "v0=" + hmac.new(self.settings.slack_signing_secret.encode(),
                                     f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
        return await self._post("/slack/events", body, {
            "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature}, what=f"({payload['type']})")

    async def accept(self, tracked_url: str) -> int:
        """A customer pressing "Accept this quote": the tracked link, then the page's button."""
        async with self.session.get(tracked_url, allow_redirects=False) as response:
            page = response.headers.get("Location", "")
        return await self._post(page.removeprefix(self.base_url), b"", {}, what="(accept a quote)")

    async def follow(self, url: str) -> int:
        """A customer clicking a tracked link in an email (the redirect itself is not followed)."""
        async with self.session.get(url, allow_redirects=False) as response:
            return response.status


def customer_id(n: int) -> int:
    """Shopify customer ids of the demo's shoppers: the same person has the same id in every payload."""
    return 7_800_000_000_000 + n


def customer(n: int, email: str, first: str, last: str, at: dt.datetime) -> dict[str, Any]:
    """A customers/create payload: someone opened an account in the shop."""
    return {
        "id": customer_id(n), "email": email, "first_name": first, "last_name": last, "phone": None,
        "created_at": at.isoformat(), "updated_at": at.isoformat(), "orders_count": 0, "state": "enabled",
        "total_spent": "0.00", "verified_email": True, "currency": "EUR", "tags": "", "addresses": [],
        "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id(n)}",
        # The demo's shoppers ticked the shop's newsletter box (marketing email goes to subscribers only).
        "email_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in",
                                    "consent_updated_at": at.isoformat()},
    }


def order(n: int, email: str, first: str, last: str, at: dt.datetime, items: list[tuple[str, str]],
          currency: str = "EUR", checkout_token: str | None = None, locale: str = "en") -> dict[str, Any]:
    total = sum(float(price) for _, price in items)
    return {
        "id": 5_600_000_000_000 + n, "name": f"#{1100 + n}", "email": email, "currency": currency,
        "customer_locale": locale,
        "total_price": f"{total:.2f}", "created_at": at.isoformat(), "processed_at": at.isoformat(),
        "updated_at": at.isoformat(), "financial_status": "paid", "checkout_token": checkout_token,
        "buyer_accepts_marketing": True,
        "customer": {"id": customer_id(n), "email": email, "first_name": first, "last_name": last},
        "line_items": [_line(title, price) for title, price in items],
    }


# The shop's catalog: title -> (product id, handle, variant id, variant title).
CATALOG = {
    "Wireless Earbuds": (9_001, "wireless-earbuds", 19_001, "Pearl White"),
    "Charging Case": (9_002, "charging-case", 19_002, "Default Title"),
    "Studio Headphones Pro": (9_003, "studio-headphones-pro", 19_003, "Matte Black"),
}


def product(title: str, price: str, image_base: str, at: dt.datetime) -> dict[str, Any]:
    """A products/create payload; its picture is served by the demo's own server (image_base)."""
    product_id, handle, variant_id, variant = CATALOG[title]
    image_id = product_id * 10
    return {
        "id": product_id, "title": title, "handle": handle, "vendor": "Acme Audio", "status": "active",
        "product_type": "Audio", "tags": "audio, bestseller", "created_at": at.isoformat(),
        "updated_at": at.isoformat(),
        "variants": [{"id": variant_id, "product_id": product_id, "title": variant, "price": price, "sku": handle,
                      "position": 1, "inventory_management": None, "image_id": image_id}],
        "images": [{"id": image_id, "src": f"{image_base}/{handle}.png", "variant_ids": [variant_id]}],
        "image": {"id": image_id, "src": f"{image_base}/{handle}.png"},
    }


def _line(title: str, price: str) -> dict[str, Any]:
    product_id, _, variant_id, variant = CATALOG.get(title, (0, "", 0, ""))
    return {"product_id": product_id or None, "variant_id": variant_id or None, "title": title,
            "variant_title": variant, "quantity": 1, "price": price, "sku": title.lower().replace(" ", "-")}


def checkout(token: str, email: str, at: dt.datetime, items: list[tuple[str, str]]) -> dict[str, Any]:
    total = sum(float(price) for _, price in items)
    return {
        "id": abs(hash(token)) % 10**12, "token": token, "email": email, "currency": "EUR",
        "total_price": f"{total:.2f}", "created_at": at.isoformat(), "updated_at": at.isoformat(),
        "completed_at": None, "abandoned_checkout_url": f"{SHOP}/checkouts/{token}/recover",
        "buyer_accepts_marketing": True,
        "line_items": [_line(title, price) for title, price in items],
    }
