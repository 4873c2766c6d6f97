"""Refunds, fulfilments and the shop's money: what an order counts for follows what happened to it."""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from contacts.models import Contact, Event, Order
from core.services import Services
from inbox.models import DeliveryStatus, InboundDelivery
from tests.support import sample_json, shopify_headers

Worker = Callable[[], Awaitable[int]]
EMAIL = "hana.sato@example.com"
ORDER_ID = 5560193704243


async def post(client: TestClient, services: Services, data: dict[str, Any], topic: str) -> None:
    body = json.dumps(data).encode()
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, topic)
    assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200


def order(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(sample_json("shopify/orders-create.json")), **changes}


def refund(amount: str, refund_id: int = 929361463, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(sample_json("shopify/refunds-create.json"))
    data["id"] = refund_id
    data["transactions"][0]["amount"] = amount
    return {**data, **changes}


@pytest.fixture
def yen_points(services: Services) -> Iterator[None]:
    """A yen shop: 1 point per 100 yen."""
    original = services.workspace
    loyalty = original.intelligence.loyalty.model_copy(update={"points_per_currency": {"JPY": 0.01}})
    intelligence = original.intelligence.model_copy(update={"loyalty": loyalty})
    services.workspace = original.model_copy(update={"intelligence": intelligence})
    yield
    services.workspace = original


async def hana() -> Contact:
    return await Contact.get(email=EMAIL)


async def test_a_refund_lowers_total_spent_and_points(client: TestClient, services: Services, run_worker: Worker,
                                                      yen_points: None) -> None:
    await post(client, services, order(), "orders/create")
    await run_worker()
    assert ((await hana()).total_spent, (await hana()).loyalty_points) == (Decimal("14080.00"), 140)
    await post(client, services, refund("4800"), "refunds/create")
    await post(client, services, refund("4800"), "refunds/create")  # re-sent: one refund
    await run_worker()
    contact = await hana()
    assert (contact.total_spent, contact.loyalty_points) == (Decimal("9280.00"), 92)
    (event,) = await Event.filter(contact=contact, type="order.refunded")
    assert event.properties["amount"] == "4800.00" and event.properties["currency"] == "JPY"
    assert (await Order.get(shopify_id=ORDER_ID)).refunded_total == Decimal("4800.00")


async def test_a_refunded_then_cancelled_order_is_taken_back_once(
    client: TestClient, services: Services, run_worker: Worker, yen_points: None,
) -> None:
    await post(client, services, order(), "orders/create")
    await post(client, services, refund("4800"), "refunds/create")
    await post(client, services, order(cancelled_at="2026-03-07T09:00:00+09:00"), "orders/cancelled")
    await post(client, services, refund("9280", refund_id=929361464), "refunds/create")  # the cancel's refund
    await run_worker()
    contact = await hana()
    assert (contact.total_spent, contact.loyalty_points) == (Decimal("0.00"), 0)


async def test_a_refund_of_an_order_we_never_saw_changes_nobody(
    client: TestClient, services: Services, run_worker: Worker,
) -> None:
    await post(client, services, refund("4800", order_id=1234567), "refunds/create")
    await run_worker()
    assert await Contact.all().count() == 0 and await Event.all().count() == 0
    assert (await InboundDelivery.get()).status == DeliveryStatus.PROCESSED


async def test_a_refund_can_take_a_tier_away(client: TestClient, services: Services, run_worker: Worker) -> None:
    await post(client, services, order(), "orders/create")  # 14,080 points at 1 a yen: gold
    await run_worker()
    assert (await hana()).loyalty_tier == "gold"
    await post(client, services, refund("12500"), "refunds/create")
    await run_worker()
    contact = await hana()
    assert (contact.loyalty_points, contact.loyalty_tier) == (1580, "silver")
    tiers = [e.properties for e in await Event.filter(contact=contact, type="loyalty.tier_changed")]
    assert {"from_tier": "gold", "to_tier": "silver", "points": 1580} in tiers


async def test_fulfilment_is_an_event_and_stamps_the_order(
    client: TestClient, services: Services, run_worker: Worker,
) -> None:
    await post(client, services, order(), "orders/create")
    await post(client, services, order(updated_at="2026-03-05T12:00:00+09:00", fulfillment_status="fulfilled"),
               "orders/fulfilled")
    await run_worker()
    contact = await hana()
    assert await Event.filter(contact=contact, type="order.fulfilled").count() == 1
    assert (await Order.get(shopify_id=ORDER_ID)).fulfilled_at is not None
    assert contact.orders_count == 1  # the same order, not a second one


async def test_money_is_counted_in_the_shops_currency(
    client: TestClient, services: Services, run_worker: Worker,
) -> None:
    # Paid in US dollars on a yen shop: the shop's money is what adds up.
    await post(client, services, order(currency="USD", total_price="95.00", total_price_set={
        "shop_money": {"amount": "14080", "currency_code": "JPY"},
        "presentment_money": {"amount": "95.00", "currency_code": "USD"}}), "orders/create")
    await run_worker()
    contact = await hana()
    assert contact.total_spent == Decimal("14080.00")
    assert (await Order.get(shopify_id=ORDER_ID)).currency == "JPY"


async def test_a_customer_gets_the_time_zone_of_their_address(
    client: TestClient, services: Services, run_worker: Worker,
) -> None:
    berlin = {"city": "Berlin", "country_code": "DE", "province_code": "BE"}
    data = order(email="lena@example.com", contact_email="lena@example.com", billing_address=berlin)
    data["customer"] = {**data["customer"], "id": 99, "email": "lena@example.com", "default_address": berlin}
    await post(client, services, data, "orders/create")
    await run_worker()
    assert (await Contact.get(email="lena@example.com")).timezone == "Europe/Berlin"


async def test_an_address_never_replaces_a_time_zone_a_source_set(
    client: TestClient, services: Services, run_worker: Worker,
) -> None:
    await Contact.create(email=EMAIL, timezone="America/Los_Angeles")  # from the store's own backend, say
    await post(client, services, order(), "orders/create")  # billed to Tokyo
    await run_worker()
    assert (await hana()).timezone == "America/Los_Angeles"


async def test_an_address_in_a_country_of_several_zones_is_no_guess(
    client: TestClient, services: Services, run_worker: Worker,
) -> None:
    data = order(billing_address={"country_code": "US"})
    data["customer"] = {**data["customer"], "default_address": {"country_code": "US"}}
    await post(client, services, data, "orders/create")
    await run_worker()
    assert (await hana()).timezone == "UTC"
