"""Privacy: GDPR redact leaves nothing but a suppression hash, export returns everything we hold,
and opted-out or suppressed people get no marketing email from any journey or manual send."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from aiohttp.test_utils import TestClient

from contacts.models import Checkout, Consent, Contact, Erasure, Event, Order, Suppression, SuppressionReason
from contacts.suppression import email_hash, suppress
from core.services import Services
from emails.models import Message, MessageStatus, OutboxMessage
from emails.samples import sample_context
from inbox.models import DeliveryStatus, InboundDelivery
from journeys.delivery import queue_email
from journeys.manual import start_for_segment
from journeys.models import Enrollment, Task, TraceEntry
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from tests.doubles.slack_api import SlackApiDouble
from tests.support import sample_json, shopify_headers, survey_headers

Drive = Callable[[], Awaitable[int]]
Outbox = Callable[[], Awaitable[list[Any]]]
PERSON = "leo.martin@example.com"
CUSTOMER_ID = 7812233399999
JOURNEY = """
key: privacy-run
name: Privacy run
trigger: {manual: true}
steps:
  - email: test-email
    transactional: true
  - slack_task: {kind: call, to: sales, text: "Call {{ contact.first_name }}"}
  - email: welcome-1
"""


async def _post_shopify(client: TestClient, services: Services, topic: str, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, topic)
    assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200


async def _person_with_history(client: TestClient, services: Services, drive: Drive) -> Contact:
    order = sample_json("shopify/orders-create.json")
    order["email"] = order["contact_email"] = PERSON
    order["customer"] = {**order.get("customer", {}), "id": CUSTOMER_ID, "email": PERSON, "first_name": "Leo"}
    order["id"] = 5560193709999
    await _post_shopify(client, services, "orders/create", order)
    checkout = sample_json("shopify/checkouts-create.json")
    checkout["email"] = PERSON
    checkout["customer"] = {**(checkout.get("customer") or {}), "id": CUSTOMER_ID, "email": PERSON}
    await _post_shopify(client, services, "checkouts/create", checkout)
    await drive()
    contact = await Contact.get(email=PERSON)
    await Contact.filter(id=contact.id).update(consent=Consent.SUBSCRIBED)
    await import_spec(load_spec(JOURNEY))
    await publish("privacy-run")
    await start_for_segment(services, "privacy-run", f"contact.email == '{PERSON}'")
    await drive()
    # A bystander who must survive the erasure untouched.
    await Contact.create(email="someone.else@example.com", first_name="Other")
    return await Contact.get(email=PERSON)


async def test_export_returns_everything_we_hold(client: TestClient, services: Services, drive: Drive) -> None:
    contact = await _person_with_history(client, services, drive)
    held = {
        "events": await Event.filter(contact=contact).count(),
        "orders": await Order.filter(contact=contact).count(),
        "checkouts": await Checkout.filter(contact=contact).count(),
        "messages": await Message.filter(contact=contact).count(),
        "tasks": await Task.filter(contact=contact).count(),
        "enrollments": await Enrollment.filter(contact=contact).count(),
        "trace": await TraceEntry.filter(contact=contact).count(),
    }
    assert all(held.values()), held  # the history really exists
    shutil.rmtree(services.settings.var_dir / "exports", ignore_errors=True)  # other tests' exports share var/
    request = sample_json("shopify/customers-data-request.json")
    request["customer"] = {**request.get("customer", {}), "id": CUSTOMER_ID, "email": PERSON}
    await _post_shopify(client, services, "customers/data_request", request)
    await drive()
    (export_file,) = (services.settings.var_dir / "exports").glob("*.json")
    export = json.loads(export_file.read_text())
    (person,) = export["contacts"]
    assert person["email"] == PERSON and person["first_name"] == "Leo"
    for section, count in held.items():
        assert len(person.get(section, [])) == count, (section, person.get(section))
    export_file.unlink()


async def test_redact_removes_the_person_everywhere_keeping_only_a_hash(
    client: TestClient, services: Services, drive: Drive, outbox: Outbox
) -> None:
    earlier = set(services.settings.var_dir.rglob("*"))  # other tests' leftovers (the var dir is shared)
    contact = await _person_with_history(client, services, drive)
    outbox_files = [Path(r.path) for r in await OutboxMessage.all() if PERSON in r.recipients]
    assert outbox_files and all(p.exists() for p in outbox_files)
    request = sample_json("shopify/customers-data-request.json")
    request["customer"] = {**request.get("customer", {}), "id": CUSTOMER_ID, "email": PERSON}
    await _post_shopify(client, services, "customers/data_request", request)
    await drive()
    exports = list((services.settings.var_dir / "exports").glob("*.json"))
    assert exports  # an earlier export holds the person's data too
    redact = sample_json("shopify/customers-redact.json")
    await _post_shopify(client, services, "customers/redact", redact)
    await drive()
    assert not await Contact.filter(email=PERSON).exists()
    assert not await Contact.filter(shopify_customer_id=CUSTOMER_ID).exists()
    for model in (Event, Message, Task, Enrollment, TraceEntry):
        assert await model.filter(contact_id=contact.id).count() == 0, model.__name__
    assert await Order.filter(shopify_id=5560193709999).count() == 0
    assert await Checkout.filter(contact_id=contact.id).count() == 0
    assert not any(p.exists() for p in outbox_files)
    assert not any(p.exists() for p in exports)
    assert not [r for r in await OutboxMessage.all() if PERSON in r.recipients]
    for delivery in await InboundDelivery.all():
        assert PERSON.encode() not in bytes(delivery.body).lower()
        assert PERSON not in json.dumps(delivery.headers).lower()
    (suppression,) = await Suppression.all()
    assert suppression.email is None and suppression.reason == SuppressionReason.ERASED
    assert suppression.email_hash == email_hash(services.settings.secret_key, PERSON)
    for path in set(services.settings.var_dir.rglob("*")) - earlier:  # no file we keep names them
        if path.is_file() and path.suffix in (".eml", ".json", ".txt", ".html"):
            assert PERSON.encode() not in path.read_bytes().lower(), path
    assert await Contact.filter(email="someone.else@example.com").exists()
    # The erased address is never mailed again, even if it comes back.
    again = await Contact.create(email=PERSON, consent=Consent.SUBSCRIBED)
    message = await queue_email(services, send_key="after-erase", contact=again, template="welcome-1",
                                context=sample_context(), marketing=False)
    await drive()
    assert (await Message.get(id=message.id)).status == MessageStatus.SKIPPED


OPT_OUT_JOURNEY = """
key: opt-out-check
name: Opt-out check
trigger: {manual: true}
steps:
  - email: welcome-1
  - wait: 1h
  - email: welcome-2
    subject: "Still there, {{ contact.first_name }}?"
"""


async def test_unsubscribed_and_suppressed_get_no_marketing_email(
    services: Services, drive: Drive, outbox: Outbox, clock: Any
) -> None:
    import datetime as dt

    await Contact.create(email="subscribed@example.com", first_name="Sub", consent=Consent.SUBSCRIBED)
    await Contact.create(email="unsubscribed@example.com", first_name="Uns", consent=Consent.UNSUBSCRIBED)
    await Contact.create(email="suppressed@example.com", first_name="Sup", consent=Consent.SUBSCRIBED)
    await Contact.create(email="complained@example.com", first_name="Com", consent=Consent.SUBSCRIBED)
    await suppress(services.settings.secret_key, "suppressed@example.com", SuppressionReason.UNSUBSCRIBE)
    await suppress(services.settings.secret_key, "COMPLAINED@example.com ", SuppressionReason.COMPLAINT)
    await import_spec(load_spec(OPT_OUT_JOURNEY))
    await publish("opt-out-check")
    await start_for_segment(services, "opt-out-check", "contact.email")
    await drive()
    for _ in range(3):  # past the wait and any frequency-cap deferral
        clock.advance(dt.timedelta(hours=25))
        await drive()
    # A manual (non-journey) marketing send to each of them too.
    for contact in await Contact.all():
        await queue_email(services, send_key=f"manual:{contact.id}", contact=contact, template="winback-1",
                          context=sample_context())
    await drive()
    received = await outbox()
    recipients = sorted({a.addr_spec for mail in received for a in mail["To"].addresses})
    assert recipients == ["subscribed@example.com"]
    assert len(received) == 3, [str(m["Subject"]) for m in received]
    blocked = await Message.filter(to_email__not="subscribed@example.com")
    reasons = {m.to_email: m.error for m in blocked}
    assert all(m.status == MessageStatus.SKIPPED for m in blocked), [(m.to_email, m.status) for m in blocked]
    assert "unsubscribed" in reasons["unsubscribed@example.com"]
    assert "suppressed" in reasons["suppressed@example.com"] and "suppressed" in reasons["complained@example.com"]
    # The journey may skip or stop before its second email for them; it never sends it.
    assert {m.to_email for m in blocked if m.template == "winback-1"} == {
        "unsubscribed@example.com", "suppressed@example.com", "complained@example.com"}


async def test_a_signed_body_replayed_under_a_privacy_topic_erases_nobody(
    client: TestClient, services: Services, drive: Drive
) -> None:
    # Shopify signs the body, not X-Shopify-Topic: a captured order body keeps a valid signature
    # under any topic. Each replay is stored as failed, with why, and erases nothing.
    contact = await _person_with_history(client, services, drive)
    (body,) = [bytes(d.body) for d in await InboundDelivery.filter(topic="orders/create") if PERSON.encode() in d.body]
    for topic in ("customers/redact", "shop/redact", "customers/data_request"):
        headers = shopify_headers(body, services.settings.shopify_webhook_secret, topic)
        assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200
    await drive()
    replays = await InboundDelivery.filter(topic__in=["customers/redact", "shop/redact", "customers/data_request"])
    assert len(replays) == 3
    assert all(r.status == DeliveryStatus.FAILED and "nothing erased" in r.error for r in replays)
    assert await Contact.filter(id=contact.id, email=PERSON).exists()
    assert await Order.filter(shopify_id=5560193709999).exists()
    assert await Contact.filter(email="someone.else@example.com").exists()
    assert not (services.settings.var_dir / "exports").exists() or not [
        p for p in (services.settings.var_dir / "exports").glob("*.json") if PERSON.encode() in p.read_bytes()]


async def test_a_privacy_request_for_another_shop_erases_nobody(
    client: TestClient, services: Services, drive: Drive
) -> None:
    ours = services.settings
    services.settings = dataclasses.replace(ours, shopify_shop_domain="acme-audio.myshopify.com")
    try:
        contact = await _person_with_history(client, services, drive)
        foreign = sample_json("shopify/customers-redact.json") | {"shop_domain": "rival-store.myshopify.com"}
        await _post_shopify(client, services, "customers/redact", foreign)  # signed, and sent as that shop
        await drive()
        (refused,) = await InboundDelivery.filter(topic="customers/redact")
        assert refused.status == DeliveryStatus.FAILED and "rival-store.myshopify.com" in refused.error
        assert await Contact.filter(id=contact.id).exists()
        await _post_shopify(client, services, "customers/redact", sample_json("shopify/customers-redact.json"))
        await drive()
        assert not await Contact.filter(id=contact.id).exists()  # our own shop's request still erases
    finally:
        services.settings = ours


def _mentions(body: bytes, needle: str) -> bool:
    """Whether a stored body names `needle` in any encoding a reader would undo."""
    text = body.decode("utf-8", "replace")
    forms = [text, unquote_plus(text)]
    with contextlib.suppress(ValueError, RecursionError):
        forms.append(json.dumps(json.loads(text), ensure_ascii=False))
    return any(needle in form.lower() for form in forms)


async def test_redact_finds_the_person_in_every_encoding_and_edits_their_slack_messages(
    client: TestClient, services: Services, drive: Drive, slack: SlackApiDouble
) -> None:
    contact = await _person_with_history(client, services, drive)
    posted = await Task.filter(contact=contact).exclude(slack_ts=None).values_list("slack_channel", "slack_ts")
    assert posted  # the journey's call task went to the sales channel
    # The same person arrives URL-encoded (a plain HTML form) and JSON-escaped (a survey).
    form = f"email={quote_plus(PERSON.upper())}&first_name=Leo&interest=blog&consent=yes&website=".encode()
    response = await client.post("/webhooks/forms/newsletter", data=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Origin": "https://acme-audio.example"})
    assert response.status == 200
    survey = json.dumps({"email": PERSON, "score": 9, "survey": "nps", "comment": "ok",
                         "answered_at": "2026-03-10T08:00:00Z", "response_id": "esc-1"}, ensure_ascii=True)
    survey_bytes = survey.replace("@", "\\u0040").encode()
    response = await client.post("/webhooks/surveys/generic", data=survey_bytes,
                                 headers=survey_headers(survey_bytes, services.settings.survey_secret))
    assert response.status == 200
    # A delivery that failed to apply names them too (escaped), with no event to link it.
    broken = json.dumps({"email": PERSON, "score": "eleven"}).replace("@", "\\u0040").encode()
    response = await client.post("/webhooks/surveys/generic", data=broken,
                                 headers=survey_headers(broken, services.settings.survey_secret))
    assert response.status == 200
    await drive()
    stored = [bytes(d.body) for d in await InboundDelivery.all()]
    assert sum(_mentions(body, PERSON) for body in stored) >= 5 and not all(PERSON.encode() in b for b in stored)
    await _post_shopify(client, services, "customers/redact", sample_json("shopify/customers-redact.json"))
    await drive()
    assert not await Contact.filter(email=PERSON).exists()
    assert not [d.id for d in await InboundDelivery.all() if _mentions(bytes(d.body), PERSON)]
    edited = {(c.params["channel"], c.params["ts"]) for c in slack.called("chat.update")
              if "erased at their request" in c.params.get("text", "")}
    assert edited == set(posted)
    (erasure,) = await Erasure.all()
    assert erasure.contact_ref == contact.id and erasure.removed["slack_messages"] == len(posted)
    record = json.dumps({"request": erasure.request, "removed": erasure.removed}).lower()
    assert PERSON not in record and "leo" not in record and str(CUSTOMER_ID) not in record
