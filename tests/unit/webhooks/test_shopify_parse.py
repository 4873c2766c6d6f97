"""Shopify parser: the sample payloads (tests/fixtures), signatures,
bad bodies, and fuzzing with hypothesis (parse may raise only UnprocessablePayload / IgnoredTopic)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contacts.events import NormalizedEvent
from contacts.models import Consent
from core.errors import BadRequest, InvalidSignature, UnprocessablePayload
from tests.support import TOPIC_BY_PREFIX, shop_named_in, shopify_topic_for
from webhooks.providers import IgnoredTopic, provider_for, shopify

SAMPLES = Path(__file__).resolve().parents[3] / "tests" / "fixtures"
OURS = SAMPLES / "shopify"
REAL = SAMPLES / "real" / "shopify"
SECRET = "shpss_test_secret"

# File-name prefix -> topic. Real files add suffixes ("orders-create-zh-tw-no-customer.json").
USED_TOPICS = sorted(set(TOPIC_BY_PREFIX.values()) - {"fulfillments/create"})
SAMPLE_FILES = sorted(OURS.glob("*.json")) + sorted(REAL.glob("*.json"))




def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def headers_for(topic: str, body: bytes, webhook_id: str = "wh-1") -> dict[str, str]:
    return {
        "x-shopify-topic": topic,
        "x-shopify-hmac-sha256": sign(body),
        "x-shopify-webhook-id": webhook_id,
        "x-shopify-triggered-at": "2026-03-06T10:00:00Z",
        "x-shopify-shop-domain": shop_named_in(body),
    }


def parse_file(path: Path, topic: str | None = None) -> list[NormalizedEvent]:
    body = path.read_bytes()
    return shopify.parse(headers_for(topic or shopify_topic_for(path), body), body)


def one(path: Path, topic: str | None = None) -> NormalizedEvent:
    events = parse_file(path, topic)
    assert len(events) == 1
    return events[0]


def raw(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_bytes())
    assert isinstance(data, dict)
    return data


# ---------------------------------------------------------------- every sample


def test_samples_are_there() -> None:
    # Without this, a missing fixtures folder would make the parametrized tests vanish silently.
    assert len(list(OURS.glob("*.json"))) >= 7
    assert len(list(REAL.glob("*.json"))) >= 12


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_sample_parses_with_the_topic_of_its_name(path: Path) -> None:
    topic = shopify_topic_for(path)
    if topic == "fulfillments/create":
        with pytest.raises(IgnoredTopic):
            parse_file(path)
        return
    for event in parse_file(path):
        assert event.source == "shopify"
        assert event.idempotency_key.startswith(f"shopify:{event.type}:")
        assert len(event.idempotency_key) <= 200
        assert event.occurred_at.tzinfo is not None
        json.dumps(event.properties)  # must be storable in a JSON column as is


def test_provider_registry_finds_the_module() -> None:
    assert provider_for("shopify") is shopify
    assert shopify.NAME == "shopify"


# ---------------------------------------------------------------- orders


def test_order_from_our_sample() -> None:
    event = one(OURS / "orders-create.json")
    assert event.type == "order.created"
    assert event.idempotency_key == "shopify:order.created:5560193704243"
    assert event.object_key == "order:5560193704243"
    assert event.email == "hana.sato@example.com"  # sent as Hana.Sato@Example.com
    assert event.shopify_customer_id == 7812233314611
    assert event.profile == {"first_name": "Hana", "last_name": "Sato", "locale": "ja"}
    props = event.properties
    assert props["order_id"] == 5560193704243
    assert (props["name"], props["total_price"], props["currency"]) == ("#1042", "14080.00", "JPY")
    assert props["financial_status"] == "paid"
    assert props["checkout_token"] == "9f1c2d3e4b5a69788796a5b4c3d2e1f0"
    assert props["discount_codes"] == []
    assert props["placed_at"] == "2026-03-04T01:15:21+00:00"  # processed_at, in UTC
    assert event.occurred_at.isoformat() == "2026-03-04T01:15:22+00:00"  # created_at
    assert [item["title"] for item in props["line_items"]] == [
        "Daily Contact Lenses (30 pack)",
        "Lens Case & Solution Kit",
    ]
    assert props["line_items"][0] == {
        "product_id": 8011122233344,
        "variant_id": 44012345678901,
        "title": "Daily Contact Lenses (30 pack)",
        "quantity": 2,
        "price": "4800.00",
        "sku": "DCL-30-300",
        "variant": "-3.00",  # the lens power: the variant title Shopify sends
        "url": "",
        "image": "",
    }


def test_real_order_email_wins_over_customer_email_and_big_ids_stay_int() -> None:
    event = one(REAL / "orders-create.json")
    assert event.email == "jon@example.com"  # customer.email is john@example.com
    assert event.shopify_customer_id == 115310627314723950
    assert isinstance(event.shopify_customer_id, int) and event.shopify_customer_id > 2**53
    assert event.properties["order_id"] == 820982911946154500
    assert event.properties["total_price"] == "388.00"
    assert event.properties["financial_status"] == "voided"
    assert event.properties["checkout_token"] is None
    # 2024-10 shape: no accepts_marketing; email_marketing_consent.state wins over buyer_accepts_marketing,
    # and not_subscribed says nothing (never subscribed is not an opt-out).
    assert event.consent is None
    # Names from the customer, not from the billing address (Steve Shipper).
    assert event.profile == {"first_name": "John", "last_name": "Smith", "locale": "en"}


def test_guest_order_without_customer_or_email_still_yields_the_event() -> None:
    event = one(REAL / "orders-create-zh-tw-no-customer.json")
    assert event.email is None and event.shopify_customer_id is None and event.consent is None
    assert event.profile == {"locale": "zh-TW"}
    assert event.properties["order_id"] == 6200407294252
    assert event.properties["total_price"] == "186.90"
    assert event.properties["currency"] == "HKD"
    assert event.properties["discount_codes"] == ["0124D"]
    assert [item["title"] for item in event.properties["line_items"]] == [
        "aaa0103測試商品11aa",
        "Green Snowboard",
    ]


def test_draft_order_with_spaces_in_discount_code_and_empty_last_name() -> None:
    event = one(REAL / "orders-create-hk-draft-discount.json")
    assert event.email == "it@akastudio.com.hk"
    assert event.shopify_customer_id == 8658316394796
    assert event.profile == {"first_name": "Alan", "phone": "+85291451043", "locale": "en"}
    assert event.properties["discount_codes"] == ["Alan Test 0123B"]
    assert len(event.properties["line_items"]) == 4
    assert {item["sku"] for item in event.properties["line_items"]} == {""}


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("orders/create", "order.created"),
        ("orders/paid", "order.paid"),
        ("orders/cancelled", "order.cancelled"),
    ],
)
def test_order_topics_map_to_their_event_type(topic: str, kind: str) -> None:
    event = one(REAL / "orders-create.json", topic)
    assert event.type == kind
    assert event.idempotency_key == f"shopify:{kind}:820982911946154500"


def test_cancelled_order_occurs_at_cancelled_at() -> None:
    body = json.dumps(
        {**raw(OURS / "orders-create.json"), "cancelled_at": "2026-03-05T12:00:00+09:00"}
    ).encode()
    [event] = shopify.parse(headers_for("orders/cancelled", body), body)
    assert event.occurred_at.isoformat() == "2026-03-05T03:00:00+00:00"


def test_orders_carry_cancelled_at_so_an_already_cancelled_create_is_known() -> None:
    # The real sample is voided and cancelled by the time orders/create is sent.
    assert one(REAL / "orders-create.json").properties["cancelled_at"] == "2022-01-01T00:00:00+00:00"
    assert one(OURS / "orders-create.json").properties["cancelled_at"] is None


def test_redelivery_under_a_new_webhook_id_has_the_same_key() -> None:
    body = (OURS / "orders-create.json").read_bytes()
    [first] = shopify.parse(headers_for("orders/create", body, "wh-1"), body)
    [second] = shopify.parse(headers_for("orders/create", body, "wh-2"), body)
    assert first.idempotency_key == second.idempotency_key


def test_legacy_accepts_marketing_and_billing_names_for_a_customer_without_names() -> None:
    data = raw(OURS / "orders-create.json")
    data["customer"] = {"id": 42, "accepts_marketing": True}
    body = json.dumps(data).encode()
    [event] = shopify.parse(headers_for("orders/create", body), body)
    assert event.consent is Consent.SUBSCRIBED
    assert (event.profile["first_name"], event.profile["last_name"]) == ("Hana", "Sato")  # billing address


# ---------------------------------------------------------------- checkouts


def test_checkout_from_our_sample() -> None:
    event = one(OURS / "checkouts-create.json")
    assert event.type == "checkout.updated"
    token = "4b6a1c0e2f9d8c7b6a5f4e3d2c1b0a99"
    assert event.object_key == f"checkout:{token}"
    assert event.idempotency_key == f"shopify:checkout.updated:{token}:2026-03-05T23:44:51+00:00"
    assert event.email == "leo.martin@example.com"
    assert event.shopify_customer_id == 7812233399999
    props = event.properties
    assert (props["token"], props["total_price"], props["currency"]) == (token, "269.92", "USD")
    assert props["recovery_url"].endswith("/recover?key=7d1e5c2b")
    assert props["started_at"] == "2026-03-05T23:42:10+00:00"
    assert props["updated_at"] == "2026-03-05T23:44:51+00:00"
    assert props["completed_at"] is None
    assert [item["title"] for item in props["line_items"]] == [
        "Studio Wireless Headphones",
        "Headphone Stand",
    ]


def test_real_checkout_with_null_variant_and_unicode_title() -> None:
    event = one(REAL / "checkouts-create-hookdeck-demo.json")
    assert event.email == "example@email.com"  # customer.email is john@example.com
    assert event.shopify_customer_id == 603851970716743400
    assert event.properties["currency"] == "CAD"
    assert event.properties["total_price"] == "31.99"
    first = event.properties["line_items"][0]
    assert first["title"] == "Ben Simmons 76's Jersey \u2013 Used"  # en dash
    assert first["variant_id"] is None and first["price"] == "1.99"


def test_checkout_update_key_changes_with_updated_at() -> None:
    data = raw(REAL / "checkouts-update.json")
    body = json.dumps(data).encode()
    [before] = shopify.parse(headers_for("checkouts/update", body), body)
    assert before.properties["total_price"] == "421.88"
    later = json.dumps({**data, "updated_at": "2022-01-02T00:00:00Z"}).encode()
    [after] = shopify.parse(headers_for("checkouts/update", later), later)
    assert before.idempotency_key != after.idempotency_key
    assert before.object_key == after.object_key == "checkout:123123123"


# ---------------------------------------------------------------- customers and consent


def test_customer_created_with_tags_and_legacy_consent() -> None:
    event = one(REAL / "customers-create.json")
    assert event.type == "customer.created"
    assert event.tags == ("tag", "VIP")  # sent as "tag, VIP"
    assert event.email == "john@ensemble.com"
    assert event.shopify_customer_id == 6972943892790
    # email_marketing_consent (not_subscribed) wins over the legacy accepts_marketing: false, and
    # never having subscribed is no opt-out (that would be sticky): no opinion.
    assert event.consent is None
    assert event.attributes == {"shopify_state": "disabled"}
    # Not the default address's "Mohammad AbuAboud".
    assert event.profile == {"first_name": "John", "last_name": "Doe"}
    assert event.idempotency_key == "shopify:customer.created:6972943892790:2023-03-24T22:13:56+00:00"


def test_customer_created_from_our_sample_has_phone_and_no_consent() -> None:
    event = one(OURS / "customers-create.json")
    assert event.profile == {"first_name": "Amira", "last_name": "Demir", "phone": "+905551112233"}
    assert event.consent is None and event.tags == ()


def test_customer_update_2024_10_shape_with_null_consent() -> None:
    event = one(REAL / "customers-update.json")
    assert event.type == "customer.updated"
    assert event.shopify_customer_id == 706405506930370000
    assert event.email == "bob@biller.com"
    assert event.consent is None
    assert event.tags == ()


def test_tags_are_trimmed_and_empty_ones_dropped() -> None:
    body = json.dumps({"id": 5, "updated_at": "2026-01-01T00:00:00Z", "tags": " a, ,b ,a,, VIP "}).encode()
    [event] = shopify.parse(headers_for("customers/update", body), body)
    assert event.tags == ("a", "b", "VIP")


@pytest.mark.parametrize(
    ("state", "consent"),
    [
        ("subscribed", Consent.SUBSCRIBED),
        ("not_subscribed", None),
        ("unsubscribed", Consent.UNSUBSCRIBED),
        ("pending", Consent.PENDING),
        ("redacted", None),
        (None, None),
    ],
)
def test_consent_states(state: str | None, consent: Consent | None) -> None:
    data = {"customer_id": 9, "email_address": "A@B.example", "email_marketing_consent": {"state": state}}
    body = json.dumps(data).encode()
    [event] = shopify.parse(headers_for("customers_email_marketing_consent/update", body), body)
    assert event.consent is consent
    assert event.properties == {"state": state, "source": "shopify"}
    assert event.email == "a@b.example"


def test_consent_update_from_our_sample() -> None:
    event = one(OURS / "customers-email-marketing-consent-update.json")
    assert event.type == "consent.updated"
    assert event.consent is Consent.SUBSCRIBED
    assert event.email == "amira.demir@example.com"
    assert event.shopify_customer_id == 7812233355555
    assert event.occurred_at.isoformat() == "2026-03-06T06:13:02+00:00"
    assert event.idempotency_key == "shopify:consent.updated:7812233355555:2026-03-06T06:13:02+00:00"


def test_real_consent_update_with_everything_null() -> None:
    event = one(REAL / "customers-email-marketing-consent-update.json")
    assert event.email is None and event.consent is None
    assert event.shopify_customer_id == 706405506930370000
    assert event.properties == {"state": None, "source": "shopify"}
    # No timestamp in the payload: the delivery's triggered-at stands in.
    assert event.occurred_at.isoformat() == "2026-03-06T10:00:00+00:00"


# ---------------------------------------------------------------- privacy


def test_data_request() -> None:
    event = one(REAL / "customers-data-request.json")
    assert event.type == "privacy.data_requested"
    assert event.properties == {"request_id": 9999, "orders_requested": [299938, 280263, 220458],
                                "shop_domain": "{shop}.myshopify.com"}
    assert (event.email, event.shopify_customer_id) == ("john@example.com", 191167)
    assert event.profile == {} and event.consent is None
    assert event.idempotency_key == "shopify:privacy.data_requested:9999"


def test_customer_redact() -> None:
    event = one(OURS / "customers-redact.json")
    assert event.type == "privacy.redact_requested"
    assert event.properties == {"orders_to_redact": [5560193709999], "shop_domain": "acme-audio.myshopify.com"}
    assert (event.email, event.shopify_customer_id) == ("leo.martin@example.com", 7812233399999)


def test_shop_redact_has_no_person() -> None:
    event = one(REAL / "shop-redact.json")
    assert event.type == "privacy.shop_redact"
    assert event.properties == {"shop_domain": "{shop}.myshopify.com"}
    assert event.email is None and event.shopify_customer_id is None
    assert event.idempotency_key == "shopify:privacy.shop_redact:954889"


@pytest.mark.parametrize("topic", ["customers/redact", "shop/redact", "customers/data_request"])
@pytest.mark.parametrize("other", ["orders-create.json", "customers-create.json", "customers-redact.json",
                                   "customers-data-request.json", "shop-redact.json"])
def test_a_signed_body_of_another_topic_is_no_privacy_request(topic: str, other: str) -> None:
    # Shopify's HMAC covers the body only: the topic header of a genuine body can be swapped.
    body = (OURS / other).read_bytes()
    if shopify_topic_for(OURS / other) == topic:
        return
    with pytest.raises(UnprocessablePayload, match="nothing erased"):
        shopify.parse(headers_for(topic, body), body)


@pytest.mark.parametrize("path", [OURS / "customers-redact.json", OURS / "shop-redact.json",
                                  OURS / "customers-data-request.json"], ids=lambda p: p.name)
def test_a_privacy_body_must_name_the_shop_that_sent_it(path: Path) -> None:
    body = path.read_bytes()
    headers = headers_for(shopify_topic_for(path), body) | {"x-shopify-shop-domain": "other-shop.myshopify.com"}
    with pytest.raises(UnprocessablePayload, match="X-Shopify-Shop-Domain"):
        shopify.parse(headers, body)
    headers.pop("x-shopify-shop-domain")
    with pytest.raises(UnprocessablePayload, match="X-Shopify-Shop-Domain"):
        shopify.parse(headers, body)


def test_a_shop_redact_with_anything_more_is_refused() -> None:
    data = raw(OURS / "shop-redact.json") | {"customer": {"id": 1}}
    body = json.dumps(data).encode()
    with pytest.raises(UnprocessablePayload, match="exactly the keys"):
        shopify.parse(headers_for("shop/redact", body), body)


# ---------------------------------------------------------------- headers and signatures


def test_verify_accepts_a_good_signature() -> None:
    body = (OURS / "orders-create.json").read_bytes()
    shopify.verify(headers_for("orders/create", body), body, SECRET)


def test_verify_rejects_a_tampered_body() -> None:
    body = (OURS / "orders-create.json").read_bytes()
    headers = headers_for("orders/create", body)
    with pytest.raises(InvalidSignature):
        shopify.verify(headers, body.replace(b"14080", b"1"), SECRET)


def test_verify_rejects_a_wrong_secret() -> None:
    body = (OURS / "orders-create.json").read_bytes()
    with pytest.raises(InvalidSignature):
        shopify.verify(headers_for("orders/create", body), body, "another-secret")


def test_verify_requires_the_header() -> None:
    body = b"{}"
    # Unsigned is unauthenticated (401), not malformed (400).
    with pytest.raises(InvalidSignature, match="x-shopify-hmac-sha256"):
        shopify.verify({"x-shopify-topic": "orders/create"}, body, SECRET)


def test_delivery_id_and_topic_come_from_the_real_headers() -> None:
    headers = json.loads((REAL / "headers" / "orders-create.headers.json").read_bytes())
    assert shopify.delivery_id(headers, b"{}") == "8a95126f-859a-4db9-b8f1-350e299e9ea0"
    assert shopify.topic(headers, b"{}") == "orders/create"


@pytest.mark.parametrize("function", [shopify.delivery_id, shopify.topic])
def test_delivery_id_and_topic_require_their_header(function: Any) -> None:
    with pytest.raises(BadRequest):
        function({}, b"{}")


# ---------------------------------------------------------------- bad bodies


def order_with(**changes: Any) -> bytes:
    data = {**raw(OURS / "orders-create.json"), **changes}
    return json.dumps({key: value for key, value in data.items() if value is not ...}).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'"a string"',
        order_with(id=...),
        order_with(id=None),
        order_with(id="abc"),
        order_with(id=5.5e12),  # a float id lost precision somewhere: refuse it
        order_with(line_items="not a list"),
        order_with(line_items=["not an object"]),
        order_with(customer="someone"),
        order_with(total_price="1e99"),  # overflows Decimal.quantize
        order_with(created_at="yesterday"),
        b'{"id": ' + b"9" * 5000 + b"}",  # json refuses > 4300 digits with a bare ValueError
        order_with(id=2**64),
    ],
    ids=lambda body: body[:30].decode("utf-8", "replace"),
)
def test_unusable_order_bodies_are_unprocessable(body: bytes) -> None:
    with pytest.raises(UnprocessablePayload):
        shopify.parse(headers_for("orders/create", body), body)


def test_missing_topic_is_unprocessable() -> None:
    with pytest.raises(UnprocessablePayload):
        shopify.parse({}, b"{}")


@pytest.mark.parametrize(
    "topic", ["fulfillments/create", "inventory_levels/update", "app/uninstalled"]
)
def test_unused_topics_are_ignored_whatever_the_body(topic: str) -> None:
    with pytest.raises(IgnoredTopic):
        shopify.parse({"x-shopify-topic": topic}, b"\x00 not even json")


def test_checkout_without_token_and_customer_without_id_are_unprocessable() -> None:
    checkout = json.dumps({**raw(OURS / "checkouts-create.json"), "token": ""}).encode()
    customer = json.dumps({**raw(OURS / "customers-create.json"), "id": None}).encode()
    with pytest.raises(UnprocessablePayload):
        shopify.parse(headers_for("checkouts/update", checkout), checkout)
    with pytest.raises(UnprocessablePayload):
        shopify.parse(headers_for("customers/create", customer), customer)


# ---------------------------------------------------------------- fuzzing

ALL_TOPICS = [*USED_TOPICS, "fulfillments/create", "refunds/create", "products/update"]
KEYS = [
    "id",
    "email",
    "customer",
    "line_items",
    "total_price",
    "currency",
    "name",
    "created_at",
    "updated_at",
    "processed_at",
    "cancelled_at",
    "completed_at",
    "token",
    "discount_codes",
    "billing_address",
    "tags",
    "state",
    "first_name",
    "last_name",
    "phone",
    "customer_locale",
    "email_marketing_consent",
    "accepts_marketing",
    "customer_id",
    "email_address",
    "orders_requested",
    "orders_to_redact",
    "data_request",
    "shop_id",
    "shop_domain",
    "product_id",
    "variant_id",
    "quantity",
    "price",
    "sku",
    "title",
    "code",
    "image",
    "src",
    "consent_updated_at",
    "abandoned_checkout_url",
    "checkout_token",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**53, max_value=2**66),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "2026-03-06T09:12:44+03:00", "1e99", "12.50", "subscribed", "a@b.example", "²"]),
)
jsonish = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=6)
    ),
    max_leaves=25,
)
payloads = st.dictionaries(st.sampled_from(KEYS), jsonish, max_size=10)
SAMPLE_BODIES = [(shopify_topic_for(path), raw(path)) for path in SAMPLE_FILES]


def check(topic: str, body: bytes) -> None:
    try:
        events = shopify.parse({"x-shopify-topic": topic}, body)
    except (UnprocessablePayload, IgnoredTopic):
        return
    for event in events:
        assert isinstance(event, NormalizedEvent)
        assert len(event.idempotency_key) <= 200
        json.dumps(event.properties)


@settings(max_examples=200, deadline=None)
@given(topic=st.sampled_from(ALL_TOPICS), body=st.binary())
def test_fuzz_bytes(topic: str, body: bytes) -> None:
    check(topic, body)


@settings(max_examples=200, deadline=None)
@given(topic=st.sampled_from(ALL_TOPICS), data=payloads)
def test_fuzz_json_objects(topic: str, data: dict[str, Any]) -> None:
    check(topic, json.dumps(data).encode())


@settings(max_examples=200, deadline=None)
@given(topic=st.sampled_from(ALL_TOPICS), data=jsonish)
def test_fuzz_any_json(topic: str, data: Any) -> None:
    check(topic, json.dumps(data).encode())


@settings(max_examples=200, deadline=None)
@given(sample=st.sampled_from(SAMPLE_BODIES), key=st.sampled_from(KEYS), value=jsonish, nested=st.booleans())
def test_fuzz_mutated_samples(sample: tuple[str, dict[str, Any]], key: str, value: Any, nested: bool) -> None:
    """Real payloads with one field replaced, at the top or inside each nested object and line item."""
    topic, data = sample
    data = json.loads(json.dumps(data))  # a private copy
    if not nested:
        data[key] = value
    for field in data.values() if nested else ():
        for target in field if isinstance(field, list) else [field]:
            if isinstance(target, dict):
                target[key] = value
    check(topic, json.dumps(data).encode())


def test_a_refund_is_about_its_order() -> None:
    body = (OURS / "refunds-create.json").read_bytes()
    (event,) = shopify.parse({"x-shopify-topic": "refunds/create"}, body)
    assert (event.type, event.shopify_order_id, event.email, event.shopify_customer_id) == (
        "order.refunded", 5560193704243, None, None)
    assert event.properties["amount"] == "4800.00" and event.properties["currency"] == "JPY"
    assert event.idempotency_key == "shopify:order.refunded:929361463"


def test_a_refund_without_transactions_counts_its_lines() -> None:
    data = {**raw(OURS / "refunds-create.json"), "transactions": []}
    (event,) = shopify.parse({"x-shopify-topic": "refunds/create"}, json.dumps(data).encode())
    assert event.properties["amount"] == "4800.00"


def test_a_failed_refund_transaction_refunds_nothing() -> None:
    data = raw(OURS / "refunds-create.json")
    data["transactions"][0]["status"] = "failure"  # the lines were chosen, the money did not go back
    (event,) = shopify.parse({"x-shopify-topic": "refunds/create"}, json.dumps(data).encode())
    assert event.properties["amount"] == "0.00"
