"""Hostile input through the real app: forged and replayed signatures, oversized and deeply nested
bodies, wrong content types, invalid UTF-8, header/template/SQL injection, open redirects, tampered
unsubscribe tokens, and one person's address spelled twenty ways."""

from __future__ import annotations

import json
import time
import unicodedata
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient
from tortoise.connection import get_connection

from contacts.models import Consent, Contact, Event, Order, Suppression
from core.services import Services
from emails.models import Message, MessageStatus, OutboxMessage
from emails.samples import sample_context
from emails.tokens import sign
from inbox.models import DeliveryStatus, InboundDelivery
from journeys.delivery import queue_email
from journeys.store import import_spec, publish
from journeys.validation import SpecError, load_spec
from tests.scenarios.slack_support import command, post_signed
from tests.support import sample, shopify_headers, slack_headers, typeform_headers
from webhooks.providers.tracking import user_hash

Worker = Callable[[], Awaitable[int]]
Outbox = Callable[[], Awaitable[list[Any]]]
SALES = {"Content-Type": "application/json", "X-Nurture-Form-Secret": "form-secret-contact-sales"}
SQL = "'; DROP TABLE contacts; --"


def _shopify(services: Services, body: bytes, topic: str = "orders/create", **kw: Any) -> dict[str, str]:
    return shopify_headers(body, services.settings.shopify_webhook_secret, topic, **kw)


def _track_headers(services: Services, content_type: str = "application/json") -> dict[str, str]:
    return {"X-Nurture-Write-Key": services.settings.tracking_write_key, "Content-Type": content_type}


async def _stored_statuses() -> list[DeliveryStatus]:
    return [d.status for d in await InboundDelivery.all().order_by("id")]


# --- signatures -------------------------------------------------------------------------------


async def test_shopify_replay_of_one_webhook_id_has_one_effect(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    body = sample("shopify/orders-create.json")
    headers = _shopify(services, body, webhook_id="replayed-webhook-1")
    answers = [await client.post("/webhooks/shopify", data=body, headers=headers) for _ in range(5)]
    assert [a.status for a in answers] == [200] * 5
    assert [(await a.json())["duplicate"] for a in answers] == [False, True, True, True, True]
    await run_worker()
    assert await InboundDelivery.all().count() == 1
    assert await Order.all().count() == 1
    assert (await Contact.get(email="hana.sato@example.com")).orders_count == 1
    # A replay under a fresh webhook id (an attacker re-sending a captured body) is still one order.
    again = _shopify(services, body, webhook_id="replayed-webhook-2")
    assert (await client.post("/webhooks/shopify", data=body, headers=again)).status == 200
    await run_worker()
    assert (await Contact.get(email="hana.sato@example.com")).orders_count == 1
    assert await Event.filter(type="order.created").count() == 1


async def test_typeform_replay_of_one_signed_body_has_one_effect(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    # Typeform sends no delivery id header: the response token inside the signed body is the key,
    # so a captured body re-sent with its valid signature is recognised as the same delivery.
    body = sample("typeform/form-response-nps.json")
    headers = typeform_headers(body, services.settings.typeform_secret)
    answers = [await client.post("/webhooks/typeform", data=body, headers=headers) for _ in range(2)]
    assert [a.status for a in answers] == [200, 200]
    assert [(await a.json())["duplicate"] for a in answers] == [False, True]
    await run_worker()
    assert await InboundDelivery.all().count() == 1
    assert (await InboundDelivery.get()).status == DeliveryStatus.PROCESSED
    contact = await Contact.get(email="leo.martin@example.com")
    types = sorted(await Event.filter(contact=contact).values_list("type", flat=True))
    assert types == ["form.submitted", "survey.answered"]  # once each, not twice


async def test_oversized_topic_or_webhook_id_never_poisons_a_batch(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    import asyncio

    body = sample("shopify/orders-create.json")
    good = _shopify(services, body, webhook_id="good-1")
    long_topic = _shopify(services, b'{"id": 1}', topic="orders/" + "x" * 300)
    long_id = _shopify(services, b'{"id": 2}', webhook_id="w" * 500)
    answers = await asyncio.gather(  # concurrent: one group-committed INSERT
        client.post("/webhooks/shopify", data=body, headers=good),
        client.post("/webhooks/shopify", data=b'{"id": 1}', headers=long_topic),
        client.post("/webhooks/shopify", data=b'{"id": 2}', headers=long_id),
    )
    assert [a.status for a in answers] == [200, 200, 200]
    again = await client.post("/webhooks/shopify", data=b'{"id": 2}', headers=long_id)
    assert (await again.json())["duplicate"] is True  # the long id still dedupes
    await run_worker()
    assert await InboundDelivery.all().count() == 3
    assert (await Contact.get(email="hana.sato@example.com")).orders_count == 1


@pytest.mark.parametrize("how", ["wrong-secret", "body-changed", "missing", "garbage"])
async def test_forged_shopify_and_typeform_signatures_are_401_and_store_nothing(
    client: TestClient, services: Services, how: str
) -> None:
    shop_body, form_body = sample("shopify/orders-create.json"), sample("typeform/form-response-nps.json")
    shop = _shopify(services, shop_body)
    typeform = typeform_headers(form_body, services.settings.typeform_secret)
    if how == "wrong-secret":
        shop = shopify_headers(shop_body, "guessed", "orders/create")
        typeform = typeform_headers(form_body, "guessed")
    elif how == "body-changed":
        shop_body, form_body = shop_body.replace(b"1", b"2", 1), form_body + b" "
    elif how == "missing":
        del shop["X-Shopify-Hmac-Sha256"], typeform["Typeform-Signature"]
    else:
        shop["X-Shopify-Hmac-Sha256"], typeform["Typeform-Signature"] = "\u00e9\u00e9==", "sha256=%%%"
    a = await client.post("/webhooks/shopify", data=shop_body, headers=shop)
    b = await client.post("/webhooks/typeform", data=form_body, headers=typeform)
    assert a.status in (400, 401) and b.status in (400, 401)
    assert await InboundDelivery.all().count() == 0


async def test_slack_request_with_old_timestamp_or_forged_signature_is_401(
    client: TestClient, services: Services
) -> None:
    body = urlencode({"command": "/journey", "text": "list", "user_id": "UADMIN", "channel_id": "C1",
                      "team_id": "T0ACME001", "trigger_id": "1.2.3"}).encode()
    old = await post_signed(client, services, body, timestamp=int(time.time()) - 600)
    assert old.status == 401
    future = await post_signed(client, services, body, timestamp=int(time.time()) + 600)
    assert future.status == 401
    forged = slack_headers(body, "not-the-signing-secret")
    assert (await client.post("/slack/events", data=body, headers=forged)).status == 401
    fresh = await command(client, services, "/journey", "list")
    assert fresh.status == 200


# --- size, nesting, content types, encodings ---------------------------------------------------


async def test_oversized_bodies_are_413_everywhere(client: TestClient, services: Services) -> None:
    big = b'{"pad": "' + b"x" * (services.settings.max_body_bytes + 10) + b'"}'
    shop = await client.post("/webhooks/shopify", data=big, headers=_shopify(services, big))
    form = await client.post("/webhooks/forms/contact-sales", data=big, headers=SALES)
    track = await client.post("/track", data=big, headers=_track_headers(services))
    slack_signed = slack_headers(big, services.settings.slack_signing_secret)
    slack = await client.post("/slack/events", data=big, headers=slack_signed)

    async def chunks() -> Any:
        for _ in range(services.settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    chunked = await client.post("/webhooks/shopify", data=chunks(), headers=_shopify(services, b""))
    assert [shop.status, form.status, track.status, slack.status, chunked.status] == [413] * 5
    assert await InboundDelivery.all().count() == 0


async def test_deeply_nested_json_is_stored_failed_or_refused_never_500(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    deep_object = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    statuses = []
    for body in (deep, deep_object):
        statuses.append((await client.post("/webhooks/shopify", data=body, headers=_shopify(services, body))).status)
        statuses.append((await client.post("/webhooks/typeform", data=body, headers=typeform_headers(
            body, services.settings.typeform_secret))).status)
        statuses.append((await client.post("/webhooks/forms/contact-sales", data=body, headers=SALES)).status)
        statuses.append((await client.post("/track", data=body, headers=_track_headers(services))).status)
        payload = b"payload=" + body.replace(b"[", b"%5B").replace(b"]", b"%5D")[:900_000]
        statuses.append((await client.post("/slack/events", data=payload, headers=slack_headers(
            payload, services.settings.slack_signing_secret))).status)
    assert all(s == 200 or 400 <= s < 500 for s in statuses), statuses
    await run_worker()
    assert set(await _stored_statuses()) <= {DeliveryStatus.FAILED}
    assert await Contact.all().count() == 0
    assert (await client.get("/healthz")).status == 200  # still alive


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
    "application/json; charset=latin-1", "", "image/gif",
])
async def test_wrong_content_types_never_500(
    client: TestClient, services: Services, run_worker: Worker, content_type: str
) -> None:
    shop_body, form_body = sample("shopify/orders-create.json"), sample("forms/contact-sales.json")
    track_body = json.dumps({"type": "page", "anonymous_id": "anon-ct", "url": "https://acme-audio.example/x"}).encode()
    shop = {**_shopify(services, shop_body), "Content-Type": content_type}
    answers = [
        await client.post("/webhooks/shopify", data=shop_body, headers=shop),
        await client.post("/webhooks/forms/contact-sales", data=form_body,
                          headers={**SALES, "Content-Type": content_type}),
        await client.post("/track", data=track_body, headers=_track_headers(services, content_type)),
    ]
    assert all(a.status < 500 for a in answers), [a.status for a in answers]
    await run_worker()
    assert all(s in (DeliveryStatus.PROCESSED, DeliveryStatus.FAILED) for s in await _stored_statuses())


async def test_invalid_utf8_bodies_are_stored_failed_or_refused(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    bad = b'{"email": "\xff\xfe@example.com", "first_name": "\xc3\x28", "id": 1}'
    answers = [
        await client.post("/webhooks/shopify", data=bad, headers=_shopify(services, bad)),
        await client.post("/webhooks/typeform", data=bad,
                          headers=typeform_headers(bad, services.settings.typeform_secret)),
        await client.post("/webhooks/forms/contact-sales", data=bad, headers=SALES),
        await client.post("/webhooks/forms/contact-sales", data=b"email=a%FF%40b.example&first_name=%C3%28",
                          headers={**SALES, "Content-Type": "application/x-www-form-urlencoded"}),
        await client.post("/track", data=bad, headers=_track_headers(services)),
        await post_signed(client, services, b"command=%2Fjourney&text=%FF%FE&user_id=UADMIN&channel_id=C1"),
        await post_signed(client, services, b"payload=\xff\xfe\xfd"),
    ]
    assert all(a.status == 200 or 400 <= a.status < 500 for a in answers), [a.status for a in answers]
    await run_worker()
    assert set(await _stored_statuses()) <= {DeliveryStatus.FAILED, DeliveryStatus.PROCESSED}
    for contact in await Contact.all():  # nothing undecodable became a contact's address
        assert contact.email is None or "\ufffd" not in contact.email


# --- injection ---------------------------------------------------------------------------------


async def _contact_from_form(client: TestClient, run_worker: Worker, **fields: Any) -> Contact:
    body = json.dumps({"email": "eve@example.com", "consent": True, **fields}).encode()
    assert (await client.post("/webhooks/forms/contact-sales", data=body, headers=SALES)).status == 200
    await run_worker()
    return await Contact.get(email="eve@example.com")


@pytest.mark.parametrize("name", [
    "Eve\r\nBcc: victim@evil.example", "Eve\nBcc: victim@evil.example", "Eve\rBcc: victim@evil.example",
    "Eve\r\n\r\n<h1>body</h1>", "Eve\u2028Bcc: victim@evil.example", "=?utf-8?q?Eve=0D=0ABcc:_x@evil.example?=",
])
async def test_crlf_in_first_name_and_subject_never_makes_a_header(
    client: TestClient, services: Services, run_worker: Worker, outbox: Outbox, name: str
) -> None:
    contact = await _contact_from_form(client, run_worker, first_name=name)
    await queue_email(services, send_key="inj:1", contact=contact, template="cart-reminder",
                      context=sample_context())
    await queue_email(services, send_key="inj:2", contact=contact, template="cart-reminder",
                      context=sample_context(), subject="Hi {{ contact.first_name }}\r\nBcc: other@evil.example",
                      from_name=name, reply_to="x@example.com\r\nBcc: third@evil.example")
    await run_worker()
    received = await outbox()
    statuses = [m.status for m in await Message.all()]
    assert len(received) + statuses.count(MessageStatus.FAILED) == 2 and len(received) >= 1
    for mail in received:
        assert mail["Bcc"] is None and mail["Cc"] is None
        assert [a.addr_spec for a in mail["To"].addresses] == ["eve@example.com"]
        assert "\n" not in str(mail["Subject"]) and "\r" not in str(mail["Subject"])
        assert all(k.lower() not in ("bcc", "cc") for k in mail)
        assert mail.get_body(("html",)).get_content().count("<h1>body</h1>") == 0
    for row in await OutboxMessage.all():
        assert row.recipients == ["eve@example.com"]


@pytest.mark.parametrize("where", ["subject", "where", "branch", "update"])
async def test_marketer_sandbox_escapes_are_validation_errors(where: str) -> None:
    probe = "''.__class__.__mro__"
    step = {
        "subject": f'  - email: test-email\n    subject: "{{{{ {probe} }}}}"',
        "where": "  - email: test-email",
        "branch": f'  - branch:\n      if: "{probe}"\n      then: [{{email: test-email}}]',
        "update": '  - email: test-email\n    subject: "{{ cycler.__init__.__globals__ }}"',
    }[where]
    trigger = f'{{event: order.created, where: "{probe}"}}' if where == "where" else "{manual: true}"
    document = f"key: probe\nname: Probe\ntrigger: {trigger}\nsteps:\n{step}\n"
    with pytest.raises(SpecError) as refused:
        load_spec(document)
    assert any(p.startswith(("steps[0]", "trigger")) for p in refused.value.problems), refused.value.problems


@pytest.mark.parametrize("name", ["{{ 7*7 }}", "{% for x in range(3) %}boom{% endfor %}",
                                  "{{ ''.__class__.__mro__ }}", "{#", "{{ config }}"])
async def test_payload_templates_render_literally(
    client: TestClient, services: Services, run_worker: Worker, outbox: Outbox, name: str
) -> None:
    contact = await _contact_from_form(client, run_worker, first_name=name)
    assert contact.first_name == name
    await import_spec(load_spec(
        "key: lit\nname: Literal\ntrigger: {manual: true}\nsteps:\n  - email: test-email\n"
        '    subject: "Hello {{ contact.first_name }}"\n    transactional: true\n'))
    await publish("lit")
    from journeys.manual import start_for_segment

    await start_for_segment(services, "lit", "contact.email")
    from jobs.scheduler import dispatch_due

    await dispatch_due(services)
    await run_worker()
    (mail,) = await outbox()
    assert str(mail["Subject"]) == f"Hello {name}"
    text = mail.get_body(("plain",)).get_content()
    assert "boomboomboom" not in text and "boomboomboom" not in mail.get_body(("html",)).get_content()


async def test_sql_looking_input_is_stored_literally(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    contact = await _contact_from_form(client, run_worker, first_name=SQL, last_name="Robert'); DROP TABLE events;--",
                                       company=SQL, message="1 OR 1=1; DELETE FROM contacts")
    assert contact.first_name == SQL and contact.attributes["company"] == SQL
    sneaky = "o'brien--drop@example.com"
    body = json.dumps({"email": sneaky, "first_name": '" OR ""="'}).encode()
    assert (await client.post("/webhooks/forms/contact-sales", data=body, headers=SALES)).status == 200
    track = json.dumps({"type": "track", "event": SQL, "anonymous_id": SQL, "properties": {SQL: SQL}}).encode()
    assert (await client.post("/track", data=track, headers=_track_headers(services))).status == 200
    await run_worker()
    assert (await Contact.get(email=sneaky)).first_name == '" OR ""="'
    assert await Contact.filter(email__in=["eve@example.com", sneaky]).count() == 2
    event = await Event.get(contact=contact, type="form.submitted")
    assert event.properties["fields"]["message"] == "1 OR 1=1; DELETE FROM contacts"
    connection = get_connection("default")
    for table in ("contacts", "events", "inbound_deliveries"):
        await connection.execute_query(f"SELECT COUNT(*) FROM {table}")  # every table still exists


# --- links ---------------------------------------------------------------------------------------


async def _sent(services: Services, outbox: Outbox) -> Message:
    contact = await Contact.create(email="ravi.kumar@example.com", first_name="Ravi", consent=Consent.SUBSCRIBED)
    message = await queue_email(services, send_key="links:1", contact=contact, template="cart-reminder",
                                context=sample_context())
    from journeys.delivery import deliver

    assert (await deliver(services, message.id)).status == MessageStatus.SENT
    return await Message.get(id=message.id)


async def test_click_links_are_no_open_redirect(services: Services, client: TestClient, outbox: Outbox) -> None:
    message = await _sent(services, outbox)
    key = services.settings.secret_key
    good = sign(key, "click", {"m": message.id, "i": 0})
    ok = await client.get(f"/c/{good}?url=https://evil.example/", allow_redirects=False)
    assert ok.status == 302 and ok.headers["Location"] == message.links[0]  # the query is ignored
    refused = [
        f"/c/{sign('another-key-entirely-0123456789abcdef', 'click', {'m': message.id, 'i': 0})}",
        f"/c/{good[:-3]}AAA", f"/c/{good.split('.')[0]}", "/c/https%3A%2F%2Fevil.example",
        f"/c/{sign(key, 'open', {'m': message.id, 'i': 0})}",
        f"/c/{sign(key, 'click', {'m': message.id, 'i': 0, 'u': 'https://evil.example'})[:-1]}x",
    ]
    for path in refused:
        response = await client.get(path, allow_redirects=False)
        assert response.status == 400, path
        assert "Location" not in response.headers, path
    for path in ("/c/..%2F..%2Fevil.example", "/c/%0d%0aLocation:%20https://evil.example"):
        response = await client.get(path, allow_redirects=False)
        assert response.status in (400, 404) and "Location" not in response.headers, path
    for data in ({"m": message.id, "i": 999}, {"m": message.id + 99, "i": 0}, {"m": message.id, "i": "0"},
                 {"m": message.id, "i": -1}, {"m": str(message.id), "i": 0}):
        response = await client.get(f"/c/{sign(key, 'click', data)}", allow_redirects=False)
        assert response.status in (400, 404) and "Location" not in response.headers, data


async def test_tampered_unsubscribe_tokens_change_nothing(
    services: Services, client: TestClient, outbox: Outbox
) -> None:
    message = await _sent(services, outbox)
    key = services.settings.secret_key
    real = sign(key, "unsub", {"m": message.id, "c": message.contact_id})  # type: ignore[attr-defined]
    tampered = [real[:-2] + ("AA" if not real.endswith("AA") else "BB"), real.replace(".", "x.", 1),
                sign("wrong-key-0123456789-abcdefghijklmnopqrstu", "unsub", {"m": message.id}),
                sign(key, "click", {"m": message.id, "i": 0}), "nonsense", "a.b"]
    for token in tampered:
        assert (await client.get(f"/u/{token}")).status == 400, token
        assert (await client.post(f"/u/{token}", data="List-Unsubscribe=One-Click")).status == 400, token
    assert (await Contact.get(email="ravi.kumar@example.com")).consent == Consent.SUBSCRIBED
    assert await Suppression.all().count() == 0


# --- identity ------------------------------------------------------------------------------------

CANONICAL = unicodedata.normalize("NFC", "renée.müller@example.com")
SPELLINGS = [
    CANONICAL,
    CANONICAL.upper(),
    unicodedata.normalize("NFD", CANONICAL),
    unicodedata.normalize("NFD", CANONICAL.upper()),
    f"  {CANONICAL}  ",
    f"\t{CANONICAL}\n",
    f"\u00a0{CANONICAL}\u00a0",
    f"mailto:{CANONICAL}",
    f"MAILTO:{CANONICAL.upper()}",
    f"mailto:{CANONICAL}?subject=Hello",
    f"<{CANONICAL}>",
    f"Renée Müller <{CANONICAL}>",
    f'"Müller, Renée" <{CANONICAL.upper()}>',
    "Renée.Müller@Example.com",
    "renée.müller@EXAMPLE.COM",
    "RENÉE.müller@example.com",
    "renée.MÜLLER@example.com",
    f"{CANONICAL}.",
    "Renée.Müller@example.com.",
    unicodedata.normalize("NFD", " Renée.Müller@Example.Com "),
]


async def test_twenty_spellings_of_one_address_are_one_contact(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    assert len(SPELLINGS) == 20 and len(set(SPELLINGS)) == 20
    for n, spelling in enumerate(SPELLINGS):
        body = json.dumps({"email": spelling, "first_name": f"R{n}", "n": n}).encode()
        assert (await client.post("/webhooks/forms/contact-sales", data=body, headers=SALES)).status == 200
    # And one more through tracking identify and Shopify, each with its own spelling.
    # (with the store's proof: an unproven identify of a known address stays with the browser)
    proof = user_hash(SPELLINGS[5], services.settings.tracking_identity_secret)
    identify = json.dumps({"type": "identify", "anonymous_id": "anon-renee", "email": SPELLINGS[5],
                           "user_hash": proof, "message_id": str(uuid.uuid4())}).encode()
    assert (await client.post("/track", data=identify, headers=_track_headers(services))).status == 200
    # A different address (no accents) is someone else.
    other = json.dumps({"email": "renee.muller@example.com", "first_name": "Other"}).encode()
    assert (await client.post("/webhooks/forms/contact-sales", data=other, headers=SALES)).status == 200
    await run_worker()
    statuses = await _stored_statuses()
    assert statuses.count(DeliveryStatus.PROCESSED) == 22, statuses
    emails = sorted(await Contact.all().values_list("email", flat=True))
    assert emails == sorted([CANONICAL, "renee.muller@example.com"]), emails
    assert await Event.filter(type="form.submitted", contact__email=CANONICAL).count() == 20


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"])
async def test_non_finite_numbers_are_a_stored_failure_not_an_internal_error(
    client: TestClient, services: Services, run_worker: Worker, number: str
) -> None:
    """Python's json accepts them; PostgreSQL's json column does not (it failed the whole apply)."""
    form = b'{"email": "num@example.com", "budget": ' + number.encode() + b"}"
    track = (b'{"type": "track", "event": "quote.viewed", "anonymous_id": "anon-num", "properties": {"x": '
             + number.encode() + b"}}")
    assert (await client.post("/webhooks/forms/contact-sales", data=form, headers=SALES)).status == 200
    assert (await client.post("/track", data=track, headers=_track_headers(services))).status == 200
    await run_worker()
    for row in await InboundDelivery.all():
        assert row.status == DeliveryStatus.FAILED and "internal error" not in row.error, row.error


async def test_nul_characters_in_payloads_are_stored_without_them(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    """PostgreSQL text/json refuse U+0000: it failed the apply with an internal error."""
    form = b'{"email": "nul@example.com", "first_name": "Ni\\u0000na", "message": "a\\u0000b", "\\u0000k": 1}'
    urlencoded = b"email=nul2%40example.com&first_name=Ze%00ro&company=X%00Y"
    track = (b'{"type": "track", "event": "quote.viewed", "anonymous_id": "anon\\u0000nul", '
             b'"properties": {"x": "\\u0000"}}')
    assert (await client.post("/webhooks/forms/contact-sales", data=form, headers=SALES)).status == 200
    assert (await client.post("/webhooks/forms/contact-sales", data=urlencoded,
                              headers={**SALES, "Content-Type": "application/x-www-form-urlencoded"})).status == 200
    assert (await client.post("/track", data=track, headers=_track_headers(services))).status == 200
    await run_worker()
    for row in await InboundDelivery.all():
        assert row.status == DeliveryStatus.PROCESSED, row.error
    assert (await Contact.get(email="nul@example.com")).first_name == "Nina"
    assert (await Contact.get(email="nul2@example.com")).attributes["company"] == "XY"
