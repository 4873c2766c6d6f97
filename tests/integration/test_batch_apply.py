"""A group-committed batch of deliveries is applied in one transaction: in order, each once, and a
delivery that fails rolls the batch back so each is applied alone and only the bad one fails."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
from decimal import Decimal
from typing import Any

import pytest
from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from contacts.batch import Batch
from contacts.events import NormalizedEvent
from contacts.models import Checkout, Contact, Event, Order, ProductInterest
from core.services import Services
from inbox.models import InboundDelivery
from journeys.library import install
from journeys.models import Enrollment
from journeys.store import publish
from pipeline.ingest import apply_all
from tests.support import QueryLog, sample_json, shopify_headers
from webhooks.jobs import process_deliveries

POISONED_ORDER = 5560193700003


def order(n: int, email: str) -> dict[str, Any]:
    data = copy.deepcopy(sample_json("shopify/orders-create.json"))
    data.update(id=5560193700000 + n, email=email, name=f"#{2000 + n}", customer=None, checkout_token=None)
    return data


async def store(services: Services, topic: str, data: dict[str, Any] | bytes, key: str) -> int:
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    headers = {k.lower(): v for k, v in shopify_headers(body, services.settings.shopify_webhook_secret, topic,
                                                         key).items()}
    row = await InboundDelivery.create(provider="shopify", external_id=key, topic=topic, headers=headers, body=body,
                                       received_at=dt.datetime.now(dt.UTC))
    return row.id


async def run_batch(services: Services, ids: list[int]) -> int:
    return int(await process_deliveries({"services": services}, delivery_ids=ids))


async def test_a_batch_applies_every_delivery_in_order_and_records_each(services: Services) -> None:
    await publish((await install("new-customer-onboarding")).key)
    ids = [await store(services, "customers/create", sample_json("shopify/customers-create.json"), "c-1")]
    email = sample_json("shopify/customers-create.json")["email"].lower()
    ids += [await store(services, "orders/create", order(n, email), f"o-{n}") for n in range(1, 4)]
    ids.append(await store(services, "inventory_levels/update", b"{}", "ignored-1"))
    ids.append(await store(services, "orders/create", b'{"id": "not a number"}', "bad-1"))
    ids.append(await store(services, "orders/create", order(4, "someone.else@example.com"), "o-4"))
    assert await run_batch(services, ids) == 7
    statuses = dict(await InboundDelivery.all().values_list("external_id", "status"))
    assert statuses == {"c-1": "processed", "o-1": "processed", "o-2": "processed", "o-3": "processed",
                        "ignored-1": "ignored", "bad-1": "failed", "o-4": "processed"}
    assert set(await InboundDelivery.all().values_list("attempts", flat=True)) == {1}
    contact = await Contact.get(email=email)
    assert contact.orders_count == 3 and contact.first_name  # the account came first, then its orders
    events = await Event.filter(contact=contact, type__in=["customer.created", "order.created"]).order_by(
        "id").values_list("type", flat=True)
    assert events == ["customer.created", "order.created", "order.created", "order.created"]
    # Journeys heard of the batch after its commit: one onboarding run per buyer.
    assert await Enrollment.all().count() == 2
    # A retried job applies nothing twice, and the failed delivery waits for a replay.
    assert await run_batch(services, ids) == 0
    assert await Event.filter(type="order.created").count() == 4
    assert (await InboundDelivery.get(external_id="bad-1")).attempts == 1


@pytest.fixture
async def poison(services: Services) -> Any:
    """A database trigger refusing one order's event: a real failure inside the batch's transaction."""
    connection = get_connection("default")
    key = f"shopify:order.created:{POISONED_ORDER}"
    if services.settings.is_postgres:
        await connection.execute_script(
            "CREATE OR REPLACE FUNCTION nurture_poison() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.idempotency_key = '{key}' THEN RAISE EXCEPTION 'poisoned event'; END IF; RETURN NEW; END; "
            "$$ LANGUAGE plpgsql; CREATE TRIGGER nurture_poison BEFORE INSERT ON events "
            "FOR EACH ROW EXECUTE FUNCTION nurture_poison();")
        yield
        await connection.execute_script("DROP TRIGGER nurture_poison ON events; DROP FUNCTION nurture_poison();")
    else:
        await connection.execute_script(
            f"CREATE TRIGGER nurture_poison BEFORE INSERT ON events WHEN NEW.idempotency_key = '{key}' "
            "BEGIN SELECT RAISE(ABORT, 'poisoned event'); END;")
        yield
        await connection.execute_script("DROP TRIGGER nurture_poison;")


async def test_a_failing_delivery_rolls_the_batch_back_and_only_it_fails(
        services: Services, poison: Any, caplog: pytest.LogCaptureFixture) -> None:
    ids = [await store(services, "orders/create", order(n, f"buyer{n}@example.com"), f"o-{n}") for n in range(1, 6)]
    with caplog.at_level(logging.INFO, logger="webhooks.processing"):
        assert await run_batch(services, ids) == 5
    assert "rolled back" in caplog.text  # tried together first
    statuses = dict(await InboundDelivery.all().values_list("external_id", "status"))
    assert statuses == {"o-1": "processed", "o-2": "processed", "o-3": "failed", "o-4": "processed",
                        "o-5": "processed"}
    failed = await InboundDelivery.get(external_id="o-3")
    assert "poisoned event" in failed.error and failed.attempts == 1
    # Everyone else applied exactly once, the rolled-back attempt left nothing behind.
    assert await Order.all().count() == 4 and await Event.filter(type="order.created").count() == 4
    assert [c.total_spent for c in await Contact.all().order_by("email")] == [Decimal("14080.00")] * 4


async def test_the_same_happening_twice_in_a_batch_or_again_later_applies_once(services: Services) -> None:
    twice = order(7, "twice@example.com")
    ids = [await store(services, "orders/create", twice, "w-1"), await store(services, "orders/create", twice, "w-2"),
           await store(services, "orders/create", order(8, "other@example.com"), "w-3")]
    assert await run_batch(services, ids) == 3
    again = [await store(services, "orders/create", twice, "w-4"),
             await store(services, "orders/create", order(9, "third@example.com"), "w-5")]
    assert await run_batch(services, again) == 2
    assert set(await InboundDelivery.all().values_list("status", flat=True)) == {"processed"}
    assert await Event.filter(type="order.created").count() == 3
    buyer = await Contact.get(email="twice@example.com")
    assert (buyer.orders_count, buyer.total_spent) == (1, Decimal("14080.00"))


async def test_a_batch_reads_once_and_writes_each_table_once(services: Services, query_log: QueryLog) -> None:
    """Contacts, orders seen and product interests are read by one query for the whole batch; each
    changed contact and product interest is written once, and the new events inserted, by one
    prepared statement for them all."""
    for buyer in range(3):  # known before the batch, with an interest in the first line's product
        first = order(10 + buyer, f"buyer{buyer}@example.com")
        await run_batch(services, [await store(services, "orders/create", first, f"before-{buyer}")])
    ids = [await store(services, "orders/create", order(n, f"buyer{n % 3}@example.com"), f"o-{n}") for n in range(6)]
    query_log.queries.clear()
    assert await run_batch(services, ids) == 6
    # The batch's transaction: up to the statement that marks its deliveries processed.
    sent = [sql for sql, _ in query_log.queries]
    applied = sent[:next(i for i, sql in enumerate(sent) if sql.startswith('UPDATE "inbound_deliveries"'))]
    tables = ("contacts", "orders", "product_interests", "events")
    reads = {table: sum(1 for sql in applied if sql.startswith("SELECT") and f'FROM "{table}"' in sql
                        and "sqlite_sequence" not in sql) for table in tables}
    assert reads == {"contacts": 1, "orders": 1, "product_interests": 1, "events": 1}, sent
    # The events' ids are reserved by one statement for the batch, then the rows go in together.
    assert sum(1 for sql in applied if "nextval(" in sql or "sqlite_sequence" in sql) == 1
    assert sum(1 for sql in applied if sql.startswith('UPDATE "contacts"')) == 1
    assert sum(1 for sql in applied if sql.startswith('UPDATE "product_interests"')) == 1
    assert sum(1 for sql in applied if sql.startswith('INSERT INTO "events"')) == 1
    for buyer in range(3):
        contact = await Contact.get(email=f"buyer{buyer}@example.com")
        assert (contact.orders_count, contact.total_spent) == (3, Decimal("14080.00") * 3)
        counts = dict(await ProductInterest.filter(contact=contact).values_list("product_key", "purchases"))
        assert counts == {"8011122233344": 6, "8011122299880": 3}


async def test_browsing_then_signing_in_within_one_batch_merges_cleanly(services: Services) -> None:
    """An anonymous visitor views a product, then signs in as a known customer, in one batch: the
    visitor is merged into the customer, the viewed product goes with it, and nothing rolls back."""
    known = await Contact.create(email="kim@example.com")
    at = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
    events = [
        NormalizedEvent(type="page.viewed", source="tracking", idempotency_key="pv-1", occurred_at=at,
                        anonymous_id="anon-\x00kim", properties={"url": "https://shop.example/products/hat"}),
        NormalizedEvent(type="identify", source="tracking", idempotency_key="id-1", occurred_at=at,
                        anonymous_id="anon-kim", email="kim@example.com"),
        NormalizedEvent(type="track", source="tracking", idempotency_key="t-1", occurred_at=at,
                        anonymous_id="anon-kim", properties={"order_id": 10**30}),  # anyone's text: no order
    ]
    async with in_transaction():
        batch = await Batch.load(events)
        applied = await apply_all(services, events, batch=batch)
        await batch.flush()
    assert [a.event.type for a in applied if a.contact.id not in batch.forgotten] == ["identify", "track"]
    assert await Contact.all().count() == 1  # the visitor was merged away
    assert dict(await ProductInterest.filter(contact=known).values_list("product_key", "views")) == {"hat": 1}
    assert await Event.filter(contact=known).count() == 3 and (await Contact.get(id=known.id)).anonymous_id \
        == "anon-kim"


async def test_an_orders_whole_life_in_one_batch_reads_the_order_it_recorded(services: Services) -> None:
    """New orders are inserted together, before anything in the batch reads orders: a payment,
    fulfilment, refund and cancellation of an order created earlier in the same batch find it."""
    created = order(30, "life@example.com")
    created["id"] = 5560193704243  # the refund fixture's order
    created["checkout_token"] = "life-checkout"
    refund = sample_json("shopify/refunds-create.json")
    cancelled = dict(created, cancelled_at="2026-03-05T10:00:00+09:00", cancel_reason="customer")
    checkout = dict(sample_json("shopify/checkouts-create.json"), token="life-checkout", completed_at=None,
                    email="life@example.com")
    ids = [await store(services, "orders/create", created, "life-1"),
           await store(services, "orders/paid", created, "life-2"),
           await store(services, "orders/fulfilled", created, "life-3"),
           await store(services, "refunds/create", refund, "life-4"),
           await store(services, "checkouts/update", checkout, "life-5"),
           await store(services, "orders/cancelled", cancelled, "life-6")]
    assert await run_batch(services, ids) == 6
    assert dict(await InboundDelivery.all().values_list("external_id", "status")) == {
        f"life-{n}": "processed" for n in range(1, 7)}
    row = await Order.get(shopify_id=5560193704243)
    assert row.paid_at and row.fulfilled_at and row.cancelled_at and row.refunded_total > 0
    buyer = await Contact.get(email="life@example.com")
    assert (buyer.orders_count, buyer.total_spent) == (1, Decimal(0))  # placed, then cancelled
    assert (await Checkout.get(token="life-checkout")).completed_at == row.placed_at
