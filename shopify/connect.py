"""`nurture shopify connect` and `status`: check the token and scopes, record the shop, subscribe webhooks.

Connecting again changes nothing: the shop row is rewritten only when Shopify says something new,
and a topic already subscribed at our address is not subscribed twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from catalog.shops import save_shop
from core.errors import ShopRefused
from core.services import Services
from shopify import queries

# Every topic webhooks/providers/shopify.py handles, as GraphQL's WebhookSubscriptionTopic names it.
# The three privacy topics (customers/data_request, customers/redact, shop/redact) are not here:
# Shopify has them set in the app's configuration, not subscribed through the API.
TOPICS = (
    "ORDERS_CREATE", "ORDERS_PAID", "ORDERS_CANCELLED", "ORDERS_FULFILLED", "REFUNDS_CREATE",
    "CHECKOUTS_CREATE", "CHECKOUTS_UPDATE", "CUSTOMERS_CREATE", "CUSTOMERS_UPDATE",
    "CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE", "PRODUCTS_CREATE", "PRODUCTS_UPDATE", "PRODUCTS_DELETE",
)
REQUIRED_SCOPES = {
    "read_customers": "customers and their consent",
    "read_orders": "orders, checkouts, refunds and fulfilments",
    "read_products": "the product catalog",
}
OPTIONAL_SCOPES = {
    "write_discounts": "discount codes created in the shop by `coupon` steps",
    "read_all_orders": "orders older than 60 days in `nurture shopify import`",
    "write_draft_orders": "draft orders, with an invoice to pay, for quotes customers accept",
}


@dataclass
class Connection:
    shop: dict[str, Any]
    scopes: list[str]
    endpoint: str
    subscribed: dict[str, str] = field(default_factory=dict)  # topic -> uri (ours or another address)
    created: list[str] = field(default_factory=list)
    shop_changed: bool = False

    @property
    def missing_topics(self) -> list[str]:
        return [t for t in TOPICS if self.subscribed.get(t) != self.endpoint]

    @property
    def missing_scopes(self) -> dict[str, str]:
        return {s: why for s, why in REQUIRED_SCOPES.items() if s not in self.scopes}

    @property
    def optional_missing(self) -> dict[str, str]:
        return {s: why for s, why in OPTIONAL_SCOPES.items() if s not in self.scopes}


def admin(services: Services) -> Any:
    if services.shop is None:
        raise ShopRefused("set NURTURE_SHOPIFY_SHOP (acme.myshopify.com) and NURTURE_SHOPIFY_ADMIN_TOKEN (the custom "
                          "app's Admin API access token, shpat_...); the README says how to create one")
    return services.shop


def webhook_endpoint(services: Services) -> str:
    return f"{services.settings.public_url.rstrip('/')}/webhooks/shopify"


async def read_shop(services: Services) -> Connection:
    data = await admin(services).query(queries.SHOP)
    shop = data.get("shop") or {}
    scopes = [s["handle"] for s in (data.get("currentAppInstallation") or {}).get("accessScopes", [])]
    details = {"name": shop.get("name", ""), "currency": shop.get("currencyCode", ""),
               "timezone": shop.get("ianaTimezone", ""), "domain": shop.get("myshopifyDomain", ""),
               "primary_url": (shop.get("primaryDomain") or {}).get("url", "")}
    connection = Connection(details, scopes, webhook_endpoint(services))
    connection.subscribed = await _subscriptions(services)
    return connection


async def _subscriptions(services: Services) -> dict[str, str]:
    found: dict[str, str] = {}
    after: str | None = None
    while True:
        page = (await admin(services).query(queries.WEBHOOKS, {"after": after}))["webhookSubscriptions"]
        for node in page.get("nodes", []):
            # A topic subscribed to us wins over the same topic sent elsewhere (another app, an old URL).
            if found.get(node["topic"]) != webhook_endpoint(services):
                found[node["topic"]] = node.get("uri", "")
        if not page.get("pageInfo", {}).get("hasNextPage"):
            return found
        after = page["pageInfo"]["endCursor"]


async def connect(services: Services) -> Connection:
    """Check scopes, record the shop, subscribe every missing topic. Refuses when a required scope is missing."""
    connection = await read_shop(services)
    if connection.missing_scopes:
        names = ", ".join(f"{s} ({why})" for s, why in connection.missing_scopes.items())
        raise ShopRefused(f"the Admin API token lacks {names}: add the scopes to the custom app in Shopify "
                          "(Settings > Apps and sales channels > Develop apps > Configuration), reinstall it, "
                          "and set the new token")
    domain = services.settings.shopify_shop_domain
    _, connection.shop_changed = await save_shop(domain, connection.shop, connection.scopes, services.clock.now())
    for topic in connection.missing_topics:
        answer = await admin(services).query(queries.WEBHOOK_CREATE, {"topic": topic, "uri": connection.endpoint})
        result = answer["webhookSubscriptionCreate"]
        if result.get("userErrors"):
            raise ShopRefused(f"Shopify refused the {topic} subscription: "
                              + "; ".join(e["message"] for e in result["userErrors"]))
        connection.subscribed[topic] = connection.endpoint
        connection.created.append(topic)
    return connection
