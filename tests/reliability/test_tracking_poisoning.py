"""Site tracking cannot poison a profile: the public write key proves the snippet is the store's,
not who the visitor is. Through the real /track endpoint, then the worker."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from contacts.models import Contact, Event, Order
from core.services import Services
from inbox.models import DeliveryStatus, InboundDelivery
from jobs.intelligence import refresh_contacts
from tests.support import sample_json, shopify_headers
from webhooks.providers.tracking import identity_digest, user_hash

Drive = Callable[[], Awaitable[int]]
MARIA = "maria.rossi@example.com"


async def _track(client: TestClient, services: Services, *events: dict[str, Any]) -> None:
    headers = {"X-Nurture-Write-Key": services.settings.tracking_write_key, "Content-Type": "application/json"}
    response = await client.post("/track", data=json.dumps({"batch": list(events)}), headers=headers)
    assert response.status == 200, await response.text()


async def _shopify(client: TestClient, services: Services, topic: str, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, topic)
    assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200


async def _known_maria(client: TestClient, services: Services, drive: Drive) -> Contact:
    customer = sample_json("shopify/customers-create.json") | {
        "email": MARIA, "first_name": "Maria", "last_name": "Rossi", "phone": "+39 02 1234 5678"}
    await _shopify(client, services, "customers/create", customer)
    await drive()
    return await Contact.get(email=MARIA)


POISON = {"first_name": "Mallory", "phone": "+1 555 0000", "timezone": "Not/AZone", "locale": "<script>",
          "_lead_decay": "corrupt", "_engagement": [1, 2], "segments": "vip", "nps_score": 10,
          "lead_score": 9999, "owner": "UEVIL", "company": "Evil Corp"}


async def test_tracking_never_writes_derived_fields_nor_overwrites_trusted_ones(
    client: TestClient, services: Services, drive: Drive
) -> None:
    maria = await _known_maria(client, services, drive)
    before = {name: getattr(maria, name) for name in ("first_name", "last_name", "phone", "owner")}
    proof = user_hash(MARIA, services.settings.tracking_identity_secret)  # even a verified identify
    await _track(client, services,
                 {"type": "identify", "anonymous_id": "anon-m1", "email": MARIA, "user_hash": proof, "traits": POISON},
                 {"type": "page", "anonymous_id": "anon-m1", "url": "https://acme-audio.example/pricing",
                  "timestamp": "2099-01-01T00:00:00Z"})
    await drive()
    maria = await Contact.get(id=maria.id)
    assert {name: getattr(maria, name) for name in before} == before
    assert maria.anonymous_id == "anon-m1"  # the verified identify did link the browser
    assert maria.timezone != "Not/AZone" and maria.locale != "<script>" and maria.lead_score < 100
    for derived in ("_lead_decay", "_engagement", "segments", "nps_score", "lead_score", "owner"):
        assert maria.attributes.get(derived) != POISON[derived], derived
    assert maria.attributes["company"] == "Evil Corp"  # a gap may be filled
    received = max(d.received_at for d in await InboundDelivery.filter(provider="tracking"))
    latest = max(e.occurred_at for e in await Event.filter(contact=maria))
    assert latest <= received + dt.timedelta(minutes=5)
    assert maria.last_activity_at is not None and maria.last_activity_at.year < 2099
    # The next signed order of that contact still applies.
    order = sample_json("shopify/orders-create.json") | {"email": MARIA, "id": 8800000000001}
    order["customer"] = {**order["customer"], "email": MARIA}
    await _shopify(client, services, "orders/create", order)
    await drive()
    assert await Order.filter(shopify_id=8800000000001, contact_id=maria.id).exists()
    assert {d.status for d in await InboundDelivery.all()} == {DeliveryStatus.PROCESSED}


async def test_an_unproven_identify_of_a_known_address_changes_nothing_of_theirs(
    client: TestClient, services: Services, drive: Drive
) -> None:
    maria = await _known_maria(client, services, drive)
    events_before = await Event.filter(contact=maria).count()
    for proof in (None, "0" * 64, user_hash(MARIA, "another-secret")):
        item: dict[str, Any] = {"type": "identify", "anonymous_id": "anon-evil", "email": MARIA,
                                "traits": {"first_name": "Mallory", "company": "Evil Corp"}}
        if proof:
            item["user_hash"] = proof
        await _track(client, services, item, {"type": "page", "anonymous_id": "anon-evil",
                                               "url": "https://acme-audio.example/demo", "email": MARIA})
    await drive()
    maria = await Contact.get(id=maria.id)
    assert maria.first_name == "Maria" and maria.anonymous_id is None and "company" not in maria.attributes
    assert await Event.filter(contact=maria).count() == events_before
    visitor = await Contact.get(anonymous_id="anon-evil")
    assert visitor.email is None and visitor.id != maria.id  # the activity is kept, unverified
    identifies = await Event.filter(contact=visitor, type="identify")
    assert identifies and all(e.properties == {"verified": False} for e in identifies)
    # With the store's proof the same browser is linked.
    proof = user_hash(MARIA, services.settings.tracking_identity_secret)
    await _track(client, services, {"type": "identify", "anonymous_id": "anon-evil", "email": MARIA,
                                    "user_hash": proof})
    await drive()
    linked = await Contact.get(id=maria.id)
    assert linked.anonymous_id == "anon-evil" and await Event.filter(contact=linked).count() > events_before


async def test_a_forged_verified_header_proves_nothing(client: TestClient, services: Services, drive: Drive) -> None:
    maria = await _known_maria(client, services, drive)
    headers = {"X-Nurture-Write-Key": services.settings.tracking_write_key, "Content-Type": "application/json",
               "X-Nurture-Verified-Identities": identity_digest(MARIA)}  # what a proven identify stamps
    body = json.dumps({"type": "identify", "anonymous_id": "anon-f", "email": MARIA, "traits": {"first_name": "M"}})
    assert (await client.post("/track", data=body, headers=headers)).status == 200
    await drive()
    assert (await Contact.get(id=maria.id)).anonymous_id is None


async def test_the_nightly_refresh_skips_a_contact_whose_data_breaks_it(services: Services) -> None:
    now = services.clock.now()
    idle = now - dt.timedelta(days=30)
    healthy = [await Contact.create(email=f"ok{n}@example.com", lead_score=80, last_activity_at=idle)
               for n in range(2)]
    # Internal state corrupted before tracking was guarded (or by hand): refreshing it raises.
    broken = await Contact.create(email="broken@example.com", lead_score=80, last_activity_at=idle,
                                  attributes={"_lead_decay": "corrupt"})
    await refresh_contacts(services, now)
    for contact in healthy:
        assert (await Contact.get(id=contact.id)).lead_score < 80  # decayed: the run went on
    assert (await Contact.get(id=broken.id)).lead_score == 80
    assert services.metrics.refresh_failures._value.get() >= 1
