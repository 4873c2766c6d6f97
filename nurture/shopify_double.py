"""A local double of Shopify's GraphQL Admin API: the operations Nurture sends, answered like Shopify.

It checks the access token (401 when wrong) and the app's access scopes (ACCESS_DENIED naming the
scope), charges every operation against a leaky cost bucket (THROTTLED with
`extensions.cost.throttleStatus` when it would overdraw), answers queued faults (500, 502, 429)
first, runs bulk operations whose JSONL result it serves itself, and records every call. It knows
our operations by name (`query NurtureShop`, ...): a GraphQL engine is more than a double needs.

Tests point NURTURE_SHOPIFY_ADMIN_URL at it; `nurture demo` uses it with a generated store.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "shpat_double_token"
ALL_SCOPES = ("read_customers", "read_orders", "read_all_orders", "read_products", "write_discounts",
              "write_draft_orders")
# operation -> (scope it needs, cost in points)
OPERATIONS: dict[str, tuple[str, int]] = {
    "NurtureShop": ("", 2),
    "NurtureWebhooks": ("", 12),
    "NurtureWebhookCreate": ("", 10),
    "NurtureBulkRun": ("", 10),
    "NurtureBulkStatus": ("", 1),
    "NurtureDiscountCreate": ("write_discounts", 10),
    "NurtureDraftOrders": ("write_draft_orders", 2),
    "NurtureDraftOrderCreate": ("write_draft_orders", 10),
}
SHOP = {"name": "Acme Audio", "currencyCode": "USD", "ianaTimezone": "America/Los_Angeles",
        "myshopifyDomain": "acme-audio.myshopify.com",
        "primaryDomain": {"url": "https://acme-audio.example", "host": "acme-audio.example"}}
BULK_SCOPES = {"customers": "read_customers", "orders": "read_orders", "products": "read_products"}


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


@dataclass
class AdminCall:
    operation: str
    variables: dict[str, Any]


@dataclass
class Bucket:
    maximum: float = 2000.0
    restore_rate: float = 100.0
    available: float = 2000.0
    at: float = field(default_factory=time.monotonic)

    def refill(self) -> None:
        now = time.monotonic()
        self.available = min(self.maximum, self.available + (now - self.at) * self.restore_rate)
        self.at = now

    def status(self) -> dict[str, float]:
        return {"maximumAvailable": self.maximum, "currentlyAvailable": round(self.available, 1),
                "restoreRate": self.restore_rate}


@dataclass
class ShopifyAdminDouble:
    token: str = TOKEN
    scopes: set[str] = field(default_factory=lambda: set(ALL_SCOPES))
    shop: dict[str, Any] = field(default_factory=lambda: json.loads(json.dumps(SHOP)))
    customers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    webhooks: dict[str, dict[str, str]] = field(default_factory=dict)
    discounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    draft_orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> input, name, invoiceUrl
    calls: list[AdminCall] = field(default_factory=list)
    faults: list[int] = field(default_factory=list)  # HTTP statuses answered before anything else
    bucket: Bucket = field(default_factory=Bucket)
    throttled: int = 0  # how many THROTTLED answers were given
    base_url: str = ""  # where this double is served (bulk result URLs point here)
    _bulk: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: int = 1000

    def called(self, operation: str) -> list[AdminCall]:
        return [c for c in self.calls if c.operation == operation]

    def reset(self) -> None:
        self.calls.clear()
        self.faults.clear()
        self.webhooks.clear()
        self.discounts.clear()
        self.draft_orders.clear()
        self.customers.clear()
        self.orders.clear()
        self.products.clear()
        self.scopes = set(ALL_SCOPES)
        self.shop = json.loads(json.dumps(SHOP))
        self.token = TOKEN
        self.bucket = Bucket()
        self.throttled = 0

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    # ------------------------------------------------------------ HTTP

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/admin/api/{version}/graphql.json", self.graphql)
        app.router.add_get("/bulk/{id}.jsonl", self.bulk_result)
        return app

    async def graphql(self, request: web.Request) -> web.Response:
        if self.faults:
            status = self.faults.pop(0)
            return web.json_response({"errors": "Internal error"}, status=status, headers={"Retry-After": "0.05"})
        if request.headers.get("X-Shopify-Access-Token") != self.token:
            return web.json_response(
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, status=401)
        body = await request.json()
        document, variables = str(body.get("query", "")), dict(body.get("variables") or {})
        found = re.search(r"\b(?:query|mutation)\s+(\w+)", document)
        operation = found.group(1) if found else ""
        if operation not in OPERATIONS:
            return web.json_response({"errors": [{"message": f"unknown operation {operation!r}"}]})
        scope, cost = OPERATIONS[operation]
        self.bucket.refill()
        if cost > self.bucket.available:
            self.throttled += 1
            return web.json_response({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                                      "extensions": self._cost(cost, None)})
        self.bucket.available -= cost
        self.calls.append(AdminCall(operation, variables))
        if scope and scope not in self.scopes:
            return web.json_response(self._denied(scope, operation))
        data = await getattr(self, f"_op_{operation}")(variables)
        if isinstance(data, web.Response):
            return data
        return web.json_response({"data": data, "extensions": self._cost(cost, cost)})

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                         "throttleStatus": self.bucket.status()}}

    @staticmethod
    def _denied(scope: str, what: str) -> dict[str, Any]:
        return {"errors": [{"message": f"Access denied for {what} field. Required access: `{scope}` access scope.",
                            "extensions": {"code": "ACCESS_DENIED", "requiredAccess": f"`{scope}` access scope."}}]}

    async def bulk_result(self, request: web.Request) -> web.Response:
        operation = self._bulk.get(request.match_info["id"])
        if operation is None:
            return web.Response(status=404)
        return web.Response(body=operation["jsonl"].encode(), content_type="application/jsonl")

    # ------------------------------------------------------------ operations

    async def _op_NurtureShop(self, variables: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return {"shop": self.shop, "currentAppInstallation": {
            "accessScopes": [{"handle": scope} for scope in sorted(self.scopes)]}}

    async def _op_NurtureWebhooks(self, variables: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        nodes = [{"id": key, **value} for key, value in self.webhooks.items()]
        return {"webhookSubscriptions": {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}}}

    async def _op_NurtureWebhookCreate(self, variables: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        topic, uri = str(variables.get("topic", "")), str(variables.get("uri", ""))
        if any(w["topic"] == topic and w["uri"] == uri for w in self.webhooks.values()):
            return {"webhookSubscriptionCreate": {"webhookSubscription": None, "userErrors": [
                {"field": ["webhookSubscription", "uri"], "message": "Address for this topic has already been taken"}]}}
        key = gid("WebhookSubscription", self._next_id())
        self.webhooks[key] = {"topic": topic, "uri": uri}
        return {"webhookSubscriptionCreate": {"webhookSubscription": {"id": key, "topic": topic, "uri": uri},
                                              "userErrors": []}}

    async def _op_NurtureDiscountCreate(self, variables: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        discount = dict(variables.get("discount") or {})
        code = str(discount.get("code", ""))
        if not code or not discount.get("customerGets") or not discount.get("startsAt"):
            errors = [{"field": ["basicCodeDiscount"], "code": "BLANK", "message": "code, customerGets and startsAt "
                       "are required"}]
            return {"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": errors}}
        if code.upper() in {c.upper() for c in self.discounts}:
            errors = [{"field": ["basicCodeDiscount", "code"], "code": "TAKEN", "message": "Code must be unique."}]
            return {"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": errors}}
        self.discounts[code] = discount
        return {"discountCodeBasicCreate": {"codeDiscountNode": {"id": gid("DiscountCodeNode", self._next_id())},
                                            "userErrors": []}}

    async def _op_NurtureDraftOrders(self, variables: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        tag = str(variables.get("query", "")).removeprefix("tag:")
        nodes = [{"id": key, "name": d["name"], "invoiceUrl": d["invoiceUrl"]} for key, d in self.draft_orders.items()
                 if tag in d["input"].get("tags", [])]
        return {"draftOrders": {"nodes": nodes[:1]}}

    async def _op_NurtureDraftOrderCreate(self, variables: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        given = dict(variables.get("input") or {})
        lines = given.get("lineItems") or []
        if not lines or any(not line.get("variantId") and not line.get("title") for line in lines):
            errors = [{"field": ["lineItems"], "message": "Line items must have a variant or a title"}]
            return {"draftOrderCreate": {"draftOrder": None, "userErrors": errors}}
        number = self._next_id()
        key = gid("DraftOrder", number)
        invoice = f"https://{self.shop['myshopifyDomain']}/{number}/invoices/{number:x}f00d"
        self.draft_orders[key] = {"input": given, "name": f"#D{len(self.draft_orders) + 1}", "invoiceUrl": invoice}
        draft = {"id": key, "name": self.draft_orders[key]["name"], "invoiceUrl": invoice}
        return {"draftOrderCreate": {"draftOrder": draft, "userErrors": []}}

    async def _op_NurtureBulkRun(self, variables: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        query = str(variables.get("query", ""))
        resource = next((r for r in ("customers", "orders", "products") if re.search(rf"\b{r}\b", query)), "")
        if not resource:
            return {"bulkOperationRunQuery": {"bulkOperation": None, "userErrors": [
                {"field": ["query"], "message": "Invalid bulk query", "code": "INVALID"}]}}
        if BULK_SCOPES[resource] not in self.scopes:
            return web.json_response(self._denied(BULK_SCOPES[resource], resource))  # type: ignore[return-value]
        key = gid("BulkOperation", self._next_id())
        lines = self._jsonl(resource, query)
        self._bulk[key.rsplit("/", 1)[1]] = {"jsonl": "".join(json.dumps(line) + "\n" for line in lines),
                                             "count": len(lines), "polls": 0}
        return {"bulkOperationRunQuery": {"bulkOperation": {"id": key, "status": "CREATED"}, "userErrors": []}}

    async def _op_NurtureBulkStatus(self, variables: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        key = str(variables.get("id", "")).rsplit("/", 1)[-1]
        operation = self._bulk.get(key)
        if operation is None:
            return {"node": None}
        operation["polls"] += 1
        done = operation["polls"] > 1  # RUNNING on the first poll, like a real (if quick) operation
        return {"node": {"id": variables["id"], "status": "COMPLETED" if done else "RUNNING", "errorCode": None,
                         "objectCount": str(operation["count"]), "partialDataUrl": None,
                         "url": f"{self.base_url.rstrip('/')}/bulk/{key}.jsonl" if done else None}}

    # ------------------------------------------------------------ bulk results

    def _jsonl(self, resource: str, query: str) -> list[dict[str, Any]]:
        if resource == "customers":
            return [dict(c) for c in self.customers]
        if resource == "orders":
            since, until = _window(query)
            chosen = [o for o in self.orders if since <= o["createdAt"] < until]
            return _flatten(chosen, {"lineItems": None})
        return _flatten(self.products, {"variants": None, "collections": None})

    # ------------------------------------------------------------ a store

    def populate(self, customers: int, orders: int, products: int, now: dt.datetime, seed: int = 7,
                 image_base: str = "https://cdn.shopify.example/files") -> None:
        """A deterministic store: `orders` spread over the last 400 days among the customers."""
        rng = random.Random(seed)
        for number in range(1, products + 1):
            self.products.append(_product(number, rng, image_base, now))
        for number in range(1, customers + 1):
            self.customers.append(_customer(number, rng, now))
        for number in range(1, orders + 1):
            customer = self.customers[rng.randrange(len(self.customers))]
            self.orders.append(_order(number, customer, rng.sample(self.products, k=min(2, len(self.products))),
                                      now - dt.timedelta(days=rng.uniform(0, 400)), self.shop["currencyCode"]))


def _window(query: str) -> tuple[str, str]:
    since = re.search(r"created_at:>='?([0-9T:\-.Z+]+)", query)
    until = re.search(r"created_at:<'?([0-9T:\-.Z+]+)", query)
    return (since.group(1) if since else "", until.group(1) if until else "9999")


def _flatten(parents: list[dict[str, Any]], connections: dict[str, None]) -> list[dict[str, Any]]:
    """Shopify's JSONL: each nested connection's nodes on lines of their own after their parent,
    with `__parentId`."""
    lines = []
    for parent in parents:
        lines.append({k: v for k, v in parent.items() if k not in connections})
        for name in connections:
            for child in parent.get(name, []):
                lines.append({**child, "__parentId": parent["id"]})
    return lines


ADJECTIVES = ["Studio", "Travel", "Pro", "Mini", "Classic", "Wireless", "Open", "Compact"]
THINGS = ["Headphones", "Speaker", "Amplifier", "Cable", "Stand", "Case", "Earbuds", "Turntable"]
COLLECTIONS = ["headphones", "speakers", "accessories", "vinyl"]
COLOURS = ["Matte Black", "Silver", "Walnut"]
FIRST = ["Ava", "Ravi", "Mia", "Kenji", "Lucas", "Zeynep", "Wei", "Sofia", "Noah", "Elif", "Hana", "Omar"]
ADDRESSES = [("US", "OR"), ("US", "NY"), ("DE", ""), ("JP", ""), ("TR", ""), ("GB", ""), ("CA", "ON"), ("", "")]


def _product(number: int, rng: random.Random, image_base: str, now: dt.datetime) -> dict[str, Any]:
    title = f"{rng.choice(ADJECTIVES)} {rng.choice(THINGS)} {number}"
    handle = title.lower().replace(" ", "-")
    price = rng.choice([19, 29, 49, 89, 149, 249])
    collection = COLLECTIONS[number % len(COLLECTIONS)]
    variants = [{"id": gid("ProductVariant", 40_000 + number * 10 + i),
                 "legacyResourceId": str(40_000 + number * 10 + i),
                 "title": colour, "sku": f"{handle}-{i}", "price": f"{price}.00",
                 "compareAtPrice": f"{price + 10}.00" if i == 0 else None, "availableForSale": i != 2,
                 "position": i + 1, "image": {"url": f"{image_base}/{handle}-{i}.jpg"}}
                for i, colour in enumerate(COLOURS[: 1 + number % 3])]
    return {"id": gid("Product", 7_000 + number), "legacyResourceId": str(7_000 + number), "title": title,
            "handle": handle, "status": "ACTIVE", "vendor": "Acme Audio", "productType": collection,
            "tags": [collection, rng.choice(["new", "bestseller", "gift"])],
            "updatedAt": (now - dt.timedelta(days=number % 30)).isoformat().replace("+00:00", "Z"),
            "featuredImage": {"url": f"{image_base}/{handle}.jpg"}, "variants": variants,
            "collections": [{"id": gid("Collection", 900 + number % len(COLLECTIONS)), "handle": collection}]}


def _customer(number: int, rng: random.Random, now: dt.datetime) -> dict[str, Any]:
    country, province = rng.choice(ADDRESSES)
    state = rng.choice(["SUBSCRIBED", "SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED"])
    created = now - dt.timedelta(days=rng.uniform(30, 700))
    return {"id": gid("Customer", 5_000_000 + number), "legacyResourceId": str(5_000_000 + number),
            "email": f"customer{number}@shop.example", "firstName": rng.choice(FIRST), "lastName": f"Buyer{number}",
            "phone": None, "locale": rng.choice(["en", "ja", "de", "tr", "en"]),
            "tags": ["imported"] if number % 5 else [],
            "state": "ENABLED", "createdAt": created.isoformat().replace("+00:00", "Z"),
            "updatedAt": created.isoformat().replace("+00:00", "Z"),
            "emailMarketingConsent": {"marketingState": state, "consentUpdatedAt": None},
            "defaultAddress": {"countryCodeV2": country, "provinceCode": province} if country else None}


def _order(number: int, customer: dict[str, Any], products: list[dict[str, Any]], placed: dt.datetime,
           currency: str) -> dict[str, Any]:
    stamp = placed.isoformat().replace("+00:00", "Z")
    items = []
    for index, product in enumerate(products):
        variant = product["variants"][0]
        items.append({"id": gid("LineItem", number * 10 + index), "title": product["title"],
                      "variantTitle": variant["title"], "quantity": 1 + index, "sku": variant["sku"],
                      "variant": {"legacyResourceId": variant["legacyResourceId"]},
                      "product": {"legacyResourceId": product["legacyResourceId"]},
                      "originalUnitPriceSet": {"shopMoney": {"amount": variant["price"], "currencyCode": currency}}})
    total = sum(float(i["originalUnitPriceSet"]["shopMoney"]["amount"]) * i["quantity"] for i in items)
    return {"id": gid("Order", 9_000_000 + number), "legacyResourceId": str(9_000_000 + number),
            "name": f"#{1000 + number}", "email": customer["email"], "createdAt": stamp, "processedAt": stamp,
            "updatedAt": stamp, "cancelledAt": None, "displayFinancialStatus": "PAID",
            "displayFulfillmentStatus": "FULFILLED" if number % 3 else "UNFULFILLED",
            "customerLocale": customer["locale"],
            "discountCodes": [], "totalPriceSet": {"shopMoney": {"amount": f"{total:.2f}", "currencyCode": currency}},
            "customer": {"id": customer["id"], "legacyResourceId": customer["legacyResourceId"],
                         "email": customer["email"], "firstName": customer["firstName"],
                         "lastName": customer["lastName"]},
            "shippingAddress": customer["defaultAddress"], "billingAddress": None,
            "refunds": [], "lineItems": items}
