"""The Admin API client against the double: throttling, 5xx, a wrong token, a missing scope; and
`nurture shopify connect` / `status`: the shop recorded, every topic subscribed once."""

from __future__ import annotations

import dataclasses

import pytest

from catalog.models import Shop
from core.errors import ShopRefused, ShopUnavailable
from core.services import Services
from shopify import admin as admin_module
from shopify.admin import AdminClient
from shopify.connect import TOPICS, connect, read_shop
from tests.doubles.shopify_admin import ShopifyAdminDouble

SHOP_QUERY = "query NurtureShop { shop { name } }"


def client_for(services: Services, **changes: str) -> AdminClient:
    return AdminClient(dataclasses.replace(services.settings, **changes))


async def test_a_throttled_query_waits_for_the_bucket_and_then_succeeds(services: Services,
                                                                      shop: ShopifyAdminDouble) -> None:
    # A bucket of 20 points refilling 400 a second: the 12-point webhook query overdraws it at once.
    shop.bucket.maximum, shop.bucket.available, shop.bucket.restore_rate = 20.0, 20.0, 400.0
    client = client_for(services)
    try:
        for _ in range(4):
            data = await client.query("query NurtureWebhooks { webhookSubscriptions { nodes { id } } }")
            assert data["webhookSubscriptions"]["nodes"] == []
    finally:
        await client.close()
    assert shop.throttled >= 1, "the double never throttled: the test proves nothing"
    assert len(shop.called("NurtureWebhooks")) == 4  # each answered once, none lost to the throttle
    assert client.bucket is not None and client.bucket.restore_rate == 400.0  # read from throttleStatus
    assert 0 < client.waited < 1  # waited what the bucket needed, not a fixed back-off


def test_the_wait_is_what_the_bucket_lacks_for_the_cost() -> None:
    bucket = admin_module.Bucket(maximum=1000, available=40, restore_rate=50)
    assert bucket.wait_for(100) == pytest.approx(1.2)
    assert bucket.wait_for(30) == 0
    assert bucket.wait_for(5000) == pytest.approx((1000 - 40) / 50)  # never more than a full bucket


async def test_server_errors_are_retried_with_backoff(services: Services, shop: ShopifyAdminDouble) -> None:
    shop.faults.extend([500, 502, 429])
    client = client_for(services)
    try:
        assert (await client.query(SHOP_QUERY))["shop"]["name"] == "Acme Audio"
    finally:
        await client.close()
    assert shop.faults == [] and len(shop.called("NurtureShop")) == 1


async def test_a_shop_that_keeps_failing_is_unavailable_not_refused(services: Services, shop: ShopifyAdminDouble,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_module, "BACKOFF", 0.01)
    shop.faults.extend([503] * admin_module.ATTEMPTS)
    client = client_for(services)
    try:
        with pytest.raises(ShopUnavailable, match="did not answer after"):
            await client.query(SHOP_QUERY)
    finally:
        await client.close()


async def test_a_wrong_token_is_refused_with_what_to_fix(services: Services, shop: ShopifyAdminDouble) -> None:
    client = client_for(services, shopify_admin_token="shpat_wrong")
    try:
        with pytest.raises(ShopRefused, match=r"HTTP 401.*NURTURE_SHOPIFY_ADMIN_TOKEN"):
            await client.query(SHOP_QUERY)
    finally:
        await client.close()


async def test_a_missing_scope_is_named(services: Services, shop: ShopifyAdminDouble) -> None:
    shop.scopes.discard("write_discounts")
    client = client_for(services)
    document = "mutation NurtureDiscountCreate($discount: DiscountCodeBasicInput!) { x }"
    try:
        with pytest.raises(ShopRefused, match="lacks the write_discounts access scope"):
            await client.query(document, {"discount": {}})
    finally:
        await client.close()


async def test_connect_records_the_shop_and_subscribes_every_topic_once(services: Services,
                                                                       shop: ShopifyAdminDouble) -> None:
    first = await connect(services)
    assert sorted(first.created) == sorted(TOPICS) and first.shop_changed
    recorded = await Shop.get(domain="acme-audio.myshopify.com")
    assert (recorded.name, recorded.currency, recorded.timezone, recorded.primary_url) == (
        "Acme Audio", "USD", "America/Los_Angeles", "https://acme-audio.example")
    endpoint = f"{services.settings.public_url}/webhooks/shopify"
    assert {w["topic"] for w in shop.webhooks.values()} == set(TOPICS)
    assert {w["uri"] for w in shop.webhooks.values()} == {endpoint}
    again = await connect(services)
    assert (again.created, again.shop_changed) == ([], False)  # running it again changes nothing
    assert len(shop.webhooks) == len(TOPICS) and await Shop.all().count() == 1


async def test_status_tells_what_is_missing(services: Services, shop: ShopifyAdminDouble) -> None:
    await connect(services)
    removed = next(key for key, hook in shop.webhooks.items() if hook["topic"] == "PRODUCTS_UPDATE")
    del shop.webhooks[removed]
    shop.scopes.discard("write_discounts")
    status = await read_shop(services)
    assert status.missing_topics == ["PRODUCTS_UPDATE"]
    assert list(status.optional_missing) == ["write_discounts"] and status.missing_scopes == {}
    assert (await connect(services)).created == ["PRODUCTS_UPDATE"]


async def test_connect_refuses_a_token_without_a_required_scope(services: Services, shop: ShopifyAdminDouble) -> None:
    shop.scopes.discard("read_customers")
    with pytest.raises(ShopRefused, match="read_customers"):
        await connect(services)
    assert shop.webhooks == {} and await Shop.all().count() == 0
