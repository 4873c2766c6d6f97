"""The shop's GraphQL Admin API over aiohttp: cost-based throttling, 5xx backoff, clear refusals.

Shopify answers a query that would overdraw the app's cost bucket with HTTP 200 and an error
whose code is THROTTLED, and reports the bucket (`extensions.cost.throttleStatus`) on every
answer; we wait exactly as long as the bucket needs to refill for the query's cost instead of
hammering it. A wrong token is HTTP 401; a token without a scope gets ACCESS_DENIED naming the
scope it needs; both are refusals (ShopRefused) with the fix in the message. Network trouble,
429 and 5xx are retried with backoff, then reported as ShopUnavailable (try again later).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from core.errors import ShopRefused, ShopUnavailable
from core.settings import Settings

log = logging.getLogger(__name__)

ATTEMPTS = 6
BACKOFF = 0.5  # seconds before the second attempt; doubles after each failure
MAX_WAIT = 30.0  # never sleep longer than this for one answer, whatever a header says
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Bucket:
    """`extensions.cost.throttleStatus` of the last answer."""

    maximum: float
    available: float
    restore_rate: float

    def wait_for(self, cost: float) -> float:
        """Seconds until `cost` points are available (0 when they are now)."""
        missing = min(cost, self.maximum) - self.available
        return max(0.0, missing / self.restore_rate) if self.restore_rate > 0 else BACKOFF


def _scope_named(error: Mapping[str, Any]) -> str:
    """The access scope an ACCESS_DENIED error asks for (`read_customers`), if it names one."""
    text = f"{error.get('extensions', {}).get('requiredAccess', '')} {error.get('message', '')}"
    found = re.search(r"`?((?:read|write)_[a-z_]+)`?", text)
    return found.group(1) if found else ""


def _refusal(errors: list[Any]) -> ShopRefused:
    first: dict[str, Any] = errors[0] if errors and isinstance(errors[0], dict) else {"message": str(errors)}
    code = str((first.get("extensions") or {}).get("code", ""))
    if code == "ACCESS_DENIED":
        scope = _scope_named(first)
        needed = f"the {scope} access scope" if scope else "an access scope it lacks"
        return ShopRefused(f"the Admin API token lacks {needed} ({first.get('message', '')}): add it to the custom "
                           "app's Admin API scopes in Shopify, reinstall the app and set the new token")
    messages = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    return ShopRefused(f"Shopify refused the request: {messages}")


def _throttled(errors: list[Any]) -> bool:
    return any(isinstance(e, dict) and e.get("extensions", {}).get("code") == "THROTTLED" for e in errors)


class AdminClient:
    """One per process (built by the composition root); safe to share between tasks."""

    def __init__(self, settings: Settings, sleep: Sleep = asyncio.sleep) -> None:
        if not settings.shopify_shop_domain or not settings.shopify_admin_token:
            raise ShopRefused("set NURTURE_SHOPIFY_SHOP (acme.myshopify.com) and NURTURE_SHOPIFY_ADMIN_TOKEN "
                              "(the custom app's Admin API access token) to use the Shopify Admin API")
        self.url = settings.shopify_graphql_url
        self._headers = {"X-Shopify-Access-Token": settings.shopify_admin_token,
                         "Content-Type": "application/json", "Accept": "application/json"}
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self.bucket: Bucket | None = None
        self.waited = 0.0  # seconds spent waiting on the bucket or backoff (shown by the import)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def query(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        delay = BACKOFF
        for _ in range(ATTEMPTS):
            answer = await self._post(document, variables)
            if isinstance(answer, float):  # transient: wait as told, or back off
                await self._pause(answer if answer > 0 else delay)
                delay = min(delay * 2, MAX_WAIT)
                continue
            errors = answer.get("errors") or []
            if errors and _throttled(errors):
                await self._pause(self._throttle_wait(answer))
                continue
            if errors:
                raise _refusal(errors if isinstance(errors, list) else [errors])
            data = answer.get("data")
            if not isinstance(data, dict):
                raise ShopUnavailable("the Admin API answered without data")
            return data
        raise ShopUnavailable(f"the Admin API at {self.url} did not answer after {ATTEMPTS} attempts; try again later")

    async def _post(self, document: str, variables: Mapping[str, Any] | None) -> dict[str, Any] | float:
        """The decoded answer, or the seconds to wait before trying again (0: use the backoff)."""
        body = {"query": document, "variables": dict(variables or {})}
        try:
            async with self._client().post(self.url, json=body, headers=self._headers) as response:
                raw = await response.read()
                status, retry_after = response.status, response.headers.get("Retry-After", "")
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("shopify admin api unreachable: %s", error)
            return 0.0
        if status in (401, 403):
            raise ShopRefused(f"Shopify refused the Admin API token (HTTP {status}): check NURTURE_SHOPIFY_ADMIN_TOKEN "
                              f"is the custom app's Admin API access token for {self.url.split('/admin/')[0]}")
        if status == 429 or status >= 500:
            log.warning("shopify admin api answered %s; retrying", status)
            return _seconds(retry_after)
        if status == 404:
            raise ShopRefused(f"no Admin API at {self.url}: check NURTURE_SHOPIFY_SHOP and NURTURE_SHOPIFY_API_VERSION")
        try:
            answer = json.loads(raw)
        except ValueError:
            return 0.0
        self._read_bucket(answer)
        return answer if isinstance(answer, dict) else {"errors": [{"message": "answer is not an object"}]}

    def _read_bucket(self, answer: Any) -> None:
        cost = answer.get("extensions", {}).get("cost", {}) if isinstance(answer, dict) else {}
        status = cost.get("throttleStatus") if isinstance(cost, dict) else None
        if isinstance(status, dict):
            self.bucket = Bucket(float(status.get("maximumAvailable", 1000)),
                                 float(status.get("currentlyAvailable", 0)), float(status.get("restoreRate", 50)))

    def _throttle_wait(self, answer: dict[str, Any]) -> float:
        requested = float(answer.get("extensions", {}).get("cost", {}).get("requestedQueryCost") or 0)
        return self.bucket.wait_for(requested) if self.bucket else BACKOFF

    async def _pause(self, seconds: float) -> None:
        seconds = min(max(seconds, 0.01), MAX_WAIT)
        self.waited += seconds
        await self._sleep(seconds)


def _seconds(header: str) -> float:
    try:
        return min(float(header), MAX_WAIT)
    except ValueError:
        return 0.0


def build_admin(settings: Settings) -> AdminClient | None:
    """The client when the shop and token are set, else None (features needing it say so)."""
    if settings.shopify_shop_domain and settings.shopify_admin_token:
        return AdminClient(settings)
    return None
