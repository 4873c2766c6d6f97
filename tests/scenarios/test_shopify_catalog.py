"""The catalog in the emails, and discount codes that exist in the shop: products/* webhooks keep
products current; a cart email shows the picture, the variant and a link to the product page; a
Shopify pool's code is created in the shop for its customer, and an order using it completes the
journey whose goal is `coupon.redeemed`."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from catalog.models import Product, Variant
from contacts.models import Consent, Contact, Event
from core.clock import ManualClock
from core.services import Services
from emails.models import Message, MessageStatus
from jobs.checkouts import detect_abandoned_checkouts
from journeys.coupons import upsert_pool
from journeys.library import install
from journeys.models import Coupon, CouponPool, Enrollment, EnrollmentState
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from shopify.connect import connect
from tests.doubles.shopify_admin import ShopifyAdminDouble
from tests.support import sample_json, shopify_headers

Drive = Callable[[], Awaitable[int]]
Outbox = Callable[[], Awaitable[list[Any]]]
BLACK_IMAGE = "https://cdn.shopify.com/s/files/1/0611/2233/files/studio-wireless-black.jpg?v=1709300000"
PRODUCT_PAGE = "https://acme-audio.example/products/studio-wireless-headphones?variant=45099887766554"


async def shopify(client: TestClient, services: Services, topic: str, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, topic)
    assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200


def product(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(sample_json("shopify/products-create.json")), **changes}


async def test_products_webhooks_keep_the_catalog_current(client: TestClient, services: Services, drive: Drive) -> None:
    await shopify(client, services, "products/create", product())
    await drive()
    stored = await Product.get(shopify_id=8122334455667)
    assert (stored.title, stored.handle, stored.tags) == (
        "Studio Wireless Headphones", "studio-wireless-headphones", ["headphones", "wireless", "bestseller"])
    black, silver = await Variant.filter(product=stored).order_by("position")
    assert (black.title, str(black.price), str(black.compare_at_price), black.available) == (
        "Matte Black", "229.00", "259.00", True)
    assert (silver.available, black.image_url) == (False, BLACK_IMAGE)  # tracked and none in stock
    # A newer update drops the silver variant and changes the price; a stale copy arriving late changes nothing.
    newer = product(updated_at="2026-03-05T10:00:00-05:00", variants=[
        {**product()["variants"][0], "price": "199.00", "updated_at": "2026-03-05T10:00:00-05:00"}])
    await shopify(client, services, "products/update", newer)
    await shopify(client, services, "products/update", product(title="Old title"))
    await drive()
    assert [(v.title, str(v.price)) for v in await Variant.all()] == [("Matte Black", "199.00")]
    assert (await Product.get(id=stored.id)).title == "Studio Wireless Headphones"
    await shopify(client, services, "products/delete", {"id": 8122334455667})
    await drive()
    assert (await Product.get(id=stored.id)).deleted_at is not None


async def test_a_cart_email_shows_the_picture_variant_and_product_page(
        client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox,
        shop: ShopifyAdminDouble) -> None:
    await connect(services)  # product pages are on the shop's primary domain
    await publish((await install("abandoned-cart")).key)
    await shopify(client, services, "products/create", product())
    await shopify(client, services, "checkouts/create", sample_json("shopify/checkouts-create.json"))
    await drive()
    clock.set(dt.datetime(2026, 3, 6, 2, 0, tzinfo=dt.UTC))  # two hours after the cart
    await detect_abandoned_checkouts(services)
    await drive()
    clock.advance(dt.timedelta(hours=1))  # the reminder waits an hour: 7 pm in Portland
    await drive()
    (mail,) = await outbox()
    html = str(mail.get_body(("html",)).get_content())
    assert f'src="{BLACK_IMAGE}"' in html.replace("&amp;", "&")
    assert "Matte Black" in html
    message = await Message.get(status=MessageStatus.SENT)
    assert PRODUCT_PAGE in message.links  # the title and picture link there (through our click redirect)
    # The stand is not in the catalog: shown by name, linked nowhere rather than to an empty href.
    assert "Headphone Stand" in html and 'href=""' not in html


NEXT_ORDER = """
key: next-order-code
name: A code for the next order
trigger: {event: order.created}
goal: {event: coupon.redeemed}
steps:
  - coupon: shop15
  - email: order-thanks-coupon
  - wait: 30d
"""


async def test_a_shopify_pool_creates_the_code_in_the_shop_and_its_use_completes_the_goal(
        client: TestClient, services: Services, shop: ShopifyAdminDouble, drive: Drive, outbox: Outbox) -> None:
    await connect(services)
    pool = await upsert_pool("shop15", "15% off your next order", generate_prefix="THANKS-")
    await CouponPool.filter(id=pool.id).update(source="shopify", discount={
        "kind": "percentage", "value": "15", "minimum": "50.00", "expires_days": 30})
    await import_spec(load_spec(NEXT_ORDER))
    await publish("next-order-code")
    await Contact.create(email="hana.sato@example.com", consent=Consent.SUBSCRIBED)
    await shopify(client, services, "orders/create", sample_json("shopify/orders-create.json"))
    await drive()
    coupon = await Coupon.get(pool=pool)
    assert coupon.code.startswith("THANKS-") and coupon.shop_state == "created"
    created = shop.discounts[coupon.code]
    assert created["usageLimit"] == 1 and created["customerGets"]["value"] == {"percentage": 0.15}
    assert created["context"] == {"customers": {"add": ["gid://shopify/Customer/7812233314611"]}}  # hers alone
    assert created["minimumRequirement"] == {"subtotal": {"greaterThanOrEqualToSubtotal": "50.00"}}
    (mail,) = await outbox()
    assert coupon.code in str(mail.get_body(("plain",)).get_content())
    # She uses it (typed in lower case, as people do): the goal is reached.
    again = {**sample_json("shopify/orders-create.json"), "id": 5560193709999, "name": "#1043",
             "discount_codes": [{"code": coupon.code.lower(), "amount": "2112.00", "type": "percentage"}]}
    await shopify(client, services, "orders/create", again)
    await drive()
    redeemed = await Event.get(type="coupon.redeemed")
    assert redeemed.properties["code"] == coupon.code and redeemed.properties["order_id"] == 5560193709999
    run = await Enrollment.filter(journey__key="next-order-code").order_by("id").first()
    assert run is not None and (run.state, run.exit_reason) == (EnrollmentState.EXITED, "converted")
    assert (await Coupon.get(id=coupon.id)).redeemed_order == 5560193709999
    # The same order delivered again redeems nothing twice.
    await shopify(client, services, "orders/paid", again)
    await drive()
    assert await Event.filter(type="coupon.redeemed").count() == 1


async def test_without_the_discount_scope_the_email_fails_saying_so(
        client: TestClient, services: Services, shop: ShopifyAdminDouble, drive: Drive, outbox: Outbox) -> None:
    shop.scopes.discard("write_discounts")
    pool = await upsert_pool("shop15", "15% off", generate_prefix="THANKS-")
    await CouponPool.filter(id=pool.id).update(source="shopify", discount={"kind": "fixed_amount", "value": "10"})
    await import_spec(load_spec(NEXT_ORDER))
    await publish("next-order-code")
    await Contact.create(email="hana.sato@example.com", consent=Consent.SUBSCRIBED)
    await shopify(client, services, "orders/create", sample_json("shopify/orders-create.json"))
    await drive()
    assert await outbox() == []  # a code the shop does not have is never shown
    message = await Message.get(template="order-thanks-coupon")
    assert message.status == MessageStatus.FAILED and "write_discounts" in message.error
    assert (await Coupon.get(pool=pool)).shop_state == "failed"
