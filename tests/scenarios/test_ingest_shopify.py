"""Signed Shopify deliveries through the real aiohttp app and a real arq worker."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal

from aiohttp.test_utils import TestClient

from contacts.models import Checkout, Consent, Contact, Event, LifecycleStage, Order, Suppression
from core.services import Services
from inbox.models import DeliveryStatus, InboundDelivery
from jobs.checkouts import detect_abandoned_checkouts
from tests.support import sample, shopify_headers

Worker = Callable[[], Awaitable[int]]


async def post_shopify(
    client: TestClient, services: Services, body: bytes, topic: str, webhook_id: str | None = None
) -> int:
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, topic, webhook_id)
    response = await client.post("/webhooks/shopify", data=body, headers=headers)
    return response.status


async def test_order_creates_customer_with_derived_fields(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    assert await post_shopify(client, services, sample("shopify/orders-create.json"), "orders/create") == 200
    await run_worker()
    contact = await Contact.get(email="hana.sato@example.com")
    assert contact.shopify_customer_id == 7812233314611
    assert contact.orders_count == 1
    assert contact.total_spent == Decimal("14080.00")
    assert contact.lifecycle_stage == LifecycleStage.CUSTOMER
    assert contact.first_order_at == dt.datetime(2026, 3, 4, 1, 15, 22, tzinfo=dt.UTC)
    order = await Order.get(shopify_id=5560193704243)
    assert order.name == "#1042" and order.currency == "JPY"
    assert order.line_items[0]["title"] == "Daily Contact Lenses (30 pack)"
    assert await Event.filter(contact=contact, type="order.created").count() == 1
    delivery = await InboundDelivery.get(provider="shopify")
    assert delivery.status == DeliveryStatus.PROCESSED


async def test_same_delivery_three_times_has_one_effect(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    body = sample("shopify/orders-create.json")
    for _ in range(3):
        assert await post_shopify(client, services, body, "orders/create", webhook_id="wh-1") == 200
    # The same order again under a new webhook id (Shopify retried after a timeout).
    assert await post_shopify(client, services, body, "orders/create", webhook_id="wh-2") == 200
    await run_worker()
    assert await InboundDelivery.filter(provider="shopify").count() == 2
    contact = await Contact.get(email="hana.sato@example.com")
    assert contact.orders_count == 1
    assert await Event.filter(type="order.created").count() == 1


async def test_bad_signature_is_401_and_stores_nothing(client: TestClient, services: Services) -> None:
    body = sample("shopify/orders-create.json")
    headers = shopify_headers(body, "not-the-secret", "orders/create")
    response = await client.post("/webhooks/shopify", data=body, headers=headers)
    assert response.status == 401
    assert "signature" in (await response.json())["error"]
    tampered = shopify_headers(body, services.settings.shopify_webhook_secret, "orders/create")
    response = await client.post("/webhooks/shopify", data=body.replace(b"14080", b"1"), headers=tampered)
    assert response.status == 401
    missing = {k: v for k, v in tampered.items() if k != "X-Shopify-Hmac-Sha256"}
    response = await client.post("/webhooks/shopify", data=body, headers=missing)
    assert response.status == 401  # unsigned is unauthenticated, not malformed
    assert "signature" in (await response.json())["error"]
    assert await InboundDelivery.all().count() == 0


async def test_missing_topic_header_is_400(client: TestClient, services: Services) -> None:
    body = sample("shopify/orders-create.json")
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, "orders/create")
    del headers["X-Shopify-Topic"]
    response = await client.post("/webhooks/shopify", data=body, headers=headers)
    assert response.status == 400
    assert "x-shopify-topic" in (await response.json())["error"].lower()


async def test_oversized_body_is_413(client: TestClient, services: Services) -> None:
    body = b'{"pad": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, "orders/create")
    response = await client.post("/webhooks/shopify", data=body, headers=headers)
    assert response.status == 413
    assert await InboundDelivery.all().count() == 0


async def test_unknown_topic_is_stored_ignored(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    body = b'{"inventory_item_id": 1, "location_id": 2, "available": 5}'
    assert await post_shopify(client, services, body, "inventory_levels/update") == 200
    await run_worker()
    delivery = await InboundDelivery.get(provider="shopify")
    assert delivery.status == DeliveryStatus.IGNORED


async def test_unprocessable_payload_is_failed_then_replayable(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    from webhooks.inbox import replay_delivery

    order = json.loads(sample("shopify/orders-create.json"))
    order["line_items"] = "not a list"
    body = json.dumps(order).encode()
    assert await post_shopify(client, services, body, "orders/create") == 200
    await run_worker()
    delivery = await InboundDelivery.get(provider="shopify")
    assert delivery.status == DeliveryStatus.FAILED
    assert "line_items" in delivery.error
    assert await Contact.all().count() == 0
    # An operator fixes the stored body (or the parser) and replays it.
    order["line_items"] = []
    delivery.body = json.dumps(order).encode()
    await delivery.save()
    replayed = await replay_delivery(services, delivery)
    assert replayed.status == DeliveryStatus.PROCESSED
    assert (await Contact.get(email="hana.sato@example.com")).orders_count == 1


async def test_abandoned_checkout_emitted_once(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    assert await post_shopify(client, services, sample("shopify/checkouts-create.json"), "checkouts/create") == 200
    await run_worker()
    checkout = await Checkout.get()
    assert checkout.completed_at is None
    later = checkout.updated_at + dt.timedelta(hours=2)
    assert await detect_abandoned_checkouts(services, now=later) == 1
    assert await detect_abandoned_checkouts(services, now=later + dt.timedelta(hours=1)) == 0
    events = await Event.filter(type="checkout.abandoned")
    assert len(events) == 1
    assert events[0].properties["recovery_url"] == checkout.recovery_url
    assert events[0].properties["line_items"]
    assert events[0].object_key == f"checkout:{checkout.token}"


async def test_consent_update_topic(client: TestClient, services: Services, run_worker: Worker) -> None:
    body = sample("shopify/customers-email-marketing-consent-update.json")
    assert await post_shopify(client, services, body, "customers_email_marketing_consent/update") == 200
    await run_worker()
    contact = await Contact.get()
    assert contact.email == "amira.demir@example.com"
    assert contact.consent == Consent.SUBSCRIBED
    assert contact.consent_source.startswith("shopify")


async def test_redact_erases_everything_but_a_hash(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    redact = json.loads(sample("shopify/customers-redact.json"))
    email = redact["customer"]["email"].lower()
    order = json.loads(sample("shopify/orders-create.json"))
    order["email"] = order["contact_email"] = order["customer"]["email"] = email
    order["customer"]["id"] = redact["customer"]["id"]
    assert await post_shopify(client, services, json.dumps(order).encode(), "orders/create") == 200
    await run_worker()
    assert await Contact.exists(email=email)
    assert await post_shopify(client, services, sample("shopify/customers-redact.json"), "customers/redact") == 200
    await run_worker()
    assert not await Contact.exists(email=email)
    assert await Event.all().count() == 0
    assert await Order.all().count() == 0
    suppression = await Suppression.get()
    assert suppression.email is None and suppression.email_hash
    for delivery in await InboundDelivery.all():
        assert email.encode() not in bytes(delivery.body).lower()


async def test_data_request_writes_an_export(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    request = json.loads(sample("shopify/customers-data-request.json"))
    email = request["customer"]["email"].lower()
    # The export this request writes, named by its request id; an earlier test's copy is not ours.
    name = f"shopify_privacy.data_requested_{request['data_request']['id']}.json"
    export = services.settings.var_dir / "exports" / name
    export.unlink(missing_ok=True)
    order = json.loads(sample("shopify/orders-create.json"))
    order["email"] = order["contact_email"] = order["customer"]["email"] = email
    order["customer"]["id"] = request["customer"]["id"]
    await post_shopify(client, services, json.dumps(order).encode(), "orders/create")
    await run_worker()
    await post_shopify(client, services, sample("shopify/customers-data-request.json"), "customers/data_request")
    await run_worker()
    data = json.loads(export.read_text())
    assert data["contacts"][0]["email"] == email
    assert data["contacts"][0]["orders"][0]["id"] == order["id"]
    assert any(e["type"] == "order.created" for e in data["contacts"][0]["events"])


def _guest_order(email: str | None, order_id: int, checkout_token: str | None = None) -> bytes:
    order = json.loads(sample("shopify/orders-create.json"))
    order.update(id=order_id, email=email or "", contact_email=email, customer=None, checkout_token=checkout_token)
    return json.dumps(order).encode()


async def test_shop_redact_erases_guest_buyers_and_their_raw_deliveries(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    guest = "guest.buyer@example.com"
    assert await post_shopify(client, services, _guest_order(guest, 5560193700001), "orders/create") == 200
    checkout = json.loads(sample("shopify/checkouts-create.json"))
    checkout.update(email="cart.only@example.com", customer=None)
    assert await post_shopify(client, services, json.dumps(checkout).encode(), "checkouts/create") == 200
    await run_worker()
    bystander = await Contact.create(email="newsletter.only@example.com")  # never sent by the shop
    assert await Contact.filter(email__in=[guest, "cart.only@example.com"]).count() == 2
    assert await post_shopify(client, services, sample("shopify/shop-redact.json"), "shop/redact") == 200
    await run_worker()
    assert await Contact.filter(email__in=[guest, "cart.only@example.com"]).count() == 0
    assert await Event.all().count() == 0
    assert await Order.all().count() == 0 and await Checkout.all().count() == 0
    for delivery in await InboundDelivery.filter(provider="shopify"):
        assert bytes(delivery.body) == b"{}" and delivery.headers == {}
    assert await Contact.exists(id=bystander.id)


async def test_order_created_already_cancelled_does_not_count_in_total_spent(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    # The real Shopify sample: voided and cancelled when orders/create is sent.
    body = sample("real/shopify/orders-create.json")
    assert await post_shopify(client, services, body, "orders/create") == 200
    await run_worker()
    contact = await Contact.get(email="jon@example.com")
    order = await Order.get(shopify_id=820982911946154500)
    assert order.cancelled_at == dt.datetime(2022, 1, 1, 0, 0, tzinfo=dt.UTC)
    assert contact.total_spent == Decimal("0.00")
    # Counted like an order cancelled after creation: placed (orders_count) but no money.
    assert contact.orders_count == 1


async def test_cancel_delivered_before_create_is_not_counted_by_the_late_create(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    order = json.loads(sample("shopify/orders-create.json"))
    created = json.dumps(order).encode()
    cancelled = json.dumps({**order, "cancelled_at": "2026-03-05T09:00:00+09:00", "cancel_reason": "customer"})
    assert await post_shopify(client, services, cancelled.encode(), "orders/cancelled") == 200
    await run_worker()
    assert await post_shopify(client, services, created, "orders/create") == 200
    await run_worker()
    contact = await Contact.get(email="hana.sato@example.com")
    stored = await Order.get(shopify_id=order["id"])
    assert stored.cancelled_at == dt.datetime(2026, 3, 5, 0, 0, tzinfo=dt.UTC)
    assert stored.placed_at == dt.datetime(2026, 3, 4, 1, 15, 21, tzinfo=dt.UTC)  # processed_at
    assert (contact.orders_count, contact.total_spent) == (1, Decimal("0.00"))
    orders = await Event.filter(contact=contact, type__startswith="order.")
    assert sorted(e.type for e in orders) == ["order.cancelled", "order.created"]


async def test_cancel_after_create_matches_cancel_before_create(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    order = json.loads(sample("shopify/orders-create.json"))
    cancelled = json.dumps({**order, "cancelled_at": "2026-03-05T09:00:00+09:00"}).encode()
    assert await post_shopify(client, services, json.dumps(order).encode(), "orders/create") == 200
    await run_worker()
    assert await post_shopify(client, services, cancelled, "orders/cancelled") == 200
    await run_worker()
    contact = await Contact.get(email="hana.sato@example.com")
    assert (contact.orders_count, contact.total_spent) == (1, Decimal("0.00"))


async def test_order_before_the_last_checkout_update_completes_the_checkout(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    checkout = json.loads(sample("shopify/checkouts-create.json"))
    order = json.loads(sample("shopify/orders-create.json"))
    order.update(email=checkout["email"], customer=checkout["customer"], checkout_token=checkout["token"])
    assert await post_shopify(client, services, json.dumps(order).encode(), "orders/create") == 200
    await run_worker()
    # The checkout's last update (still without completed_at) arrives after the order.
    assert await post_shopify(client, services, json.dumps(checkout).encode(), "checkouts/update") == 200
    await run_worker()
    stored = await Checkout.get(token=checkout["token"])
    assert stored.completed_at == (await Order.get(shopify_id=order["id"])).placed_at
    later = stored.updated_at + dt.timedelta(days=1)
    assert await detect_abandoned_checkouts(services, now=later) == 0
    assert await Event.filter(type="checkout.abandoned").count() == 0
