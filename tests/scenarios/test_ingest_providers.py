"""Every provider's sample payloads, signed, through the real aiohttp app and a real arq worker."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from contacts.models import Consent, Contact, Event, Suppression, SuppressionReason
from core.services import Services
from inbox.models import DeliveryStatus, InboundDelivery
from tests.support import (
    SAMPLES,
    basic_auth,
    mailgun_signed,
    sample_json,
    shopify_headers,
    shopify_topic_for,
    survey_headers,
    typeform_headers,
)

Worker = Callable[[], Awaitable[int]]

# File-name prefix -> topic, as in tests/unit/webhooks/test_shopify_parse.py.
SHOPIFY_FILES = sorted((SAMPLES / "shopify").glob("*.json")) + sorted((SAMPLES / "real" / "shopify").glob("*.json"))
TYPEFORM_FILES = sorted((SAMPLES / "typeform").glob("*.json")) + sorted((SAMPLES / "real" / "typeform").glob("*.json"))
EMAIL_FILES = sorted((SAMPLES / "email-events").glob("*.json")) + sorted((SAMPLES / "real" / "email").glob("*.json"))
MAILGUN_KEY = "postmark:hook-pass"  # the email webhook secret doubles as Mailgun's signing key


def rel(path: Path) -> str:
    return str(path.relative_to(SAMPLES))




def _email(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) and "@" in value else None


def shopify_contact_email(topic: str, data: dict[str, Any]) -> str | None:
    """The address an order or customer delivery is about (the order's own email wins)."""
    if topic.startswith("orders/"):
        customer = data.get("customer") if isinstance(data.get("customer"), dict) else {}
        return _email(data.get("email")) or _email(data.get("contact_email")) or _email(customer.get("email"))
    if topic in ("customers/create", "customers/update"):
        return _email(data.get("email"))
    return None


async def only_delivery(provider: str) -> InboundDelivery:
    deliveries = await InboundDelivery.filter(provider=provider)
    assert len(deliveries) == 1, deliveries
    return deliveries[0]


# -- shopify ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHOPIFY_FILES, ids=rel)
async def test_every_shopify_sample_is_processed(
    client: TestClient, services: Services, run_worker: Worker, path: Path
) -> None:
    body = path.read_bytes()
    topic = shopify_topic_for(path)
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, topic)
    response = await client.post("/webhooks/shopify", data=body, headers=headers)
    assert response.status == 200, await response.text()
    await run_worker()
    delivery = await only_delivery("shopify")
    named = json.loads(body).get("shop_domain")
    if topic == "fulfillments/create":
        assert delivery.status == DeliveryStatus.IGNORED, delivery.error
    elif named and named != services.settings.shopify_shop_domain:
        # Shopify's test payloads name the shop "{shop}.myshopify.com": not ours, so nothing is erased.
        assert delivery.status == DeliveryStatus.FAILED and "refused, nothing erased" in delivery.error
        return
    else:
        assert delivery.status == DeliveryStatus.PROCESSED, (delivery.status, delivery.error)
    email = shopify_contact_email(topic, json.loads(body))
    if email:
        assert await Contact.exists(email=email), email


# -- typeform -----------------------------------------------------------------------------------


def typeform_nps(data: dict[str, Any]) -> int | None:
    """The score of an answer whose field definition is of type nps (None without one)."""
    response = data["form_response"]
    nps_ids = {f["id"] for f in response["definition"]["fields"] if f.get("type") == "nps"}
    return next((a["number"] for a in response["answers"] if a["field"]["id"] in nps_ids), None)


def typeform_email(data: dict[str, Any]) -> str | None:
    response = data["form_response"]
    hidden = _email((response.get("hidden") or {}).get("email"))
    typed = (_email(a.get("email")) for a in response["answers"] if a.get("type") == "email")
    return hidden or next((e for e in typed if e), None)


def nps_category(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


@pytest.mark.parametrize("path", TYPEFORM_FILES, ids=rel)
async def test_every_typeform_sample_is_processed(
    client: TestClient, services: Services, run_worker: Worker, path: Path
) -> None:
    body = path.read_bytes()
    data = json.loads(body)
    response = await client.post(
        "/webhooks/typeform", data=body, headers=typeform_headers(body, services.settings.typeform_secret)
    )
    assert response.status == 200, await response.text()
    await run_worker()
    delivery = await only_delivery("typeform")
    assert delivery.status == DeliveryStatus.PROCESSED, delivery.error
    email = typeform_email(data)
    assert email, "every typeform sample names someone"
    contact = await Contact.get(email=email)
    submitted = await Event.filter(contact=contact, type="form.submitted")
    assert len(submitted) == 1
    assert submitted[0].properties["form_key"] == data["form_response"]["form_id"]
    score = typeform_nps(data)
    if score is not None:
        assert await Event.filter(contact=contact, type="survey.answered").count() == 1
        assert contact.attributes["nps_score"] == score
        assert contact.attributes["nps_category"] == nps_category(score)


async def test_typeform_nps_sample_has_a_score() -> None:
    """Guards the test above: our NPS sample really carries an nps field."""
    assert typeform_nps(sample_json("typeform/form-response-nps.json")) is not None


# -- surveys ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "relative"),
    [("generic", "surveys/generic-nps.json"), ("wootric", "real/survey/wootric-nps-response-created.json")],
)
async def test_survey_answers_set_nps_attributes(
    client: TestClient, services: Services, run_worker: Worker, provider: str, relative: str
) -> None:
    body = (SAMPLES / relative).read_bytes()
    data = json.loads(body)
    answer = data["response"] if provider == "wootric" else data
    email, score = answer["email"].lower(), answer["score"]
    response = await client.post(
        f"/webhooks/surveys/{provider}", data=body, headers=survey_headers(body, services.settings.survey_secret)
    )
    assert response.status == 200, await response.text()
    await run_worker()
    delivery = await only_delivery(f"survey-{provider}")
    assert delivery.status == DeliveryStatus.PROCESSED, delivery.error
    contact = await Contact.get(email=email)
    assert contact.attributes["nps_score"] == score
    assert contact.attributes["nps_category"] == nps_category(score)
    events = await Event.filter(contact=contact, type="survey.answered")
    assert len(events) == 1
    assert events[0].properties["score"] == score


async def test_generic_survey_sample_is_a_promoter() -> None:
    assert sample_json("surveys/generic-nps.json")["score"] == 10
    assert nps_category(10) == "promoter"


# -- email events -------------------------------------------------------------------------------


def email_provider(path: Path) -> str:
    for name in ("postmark", "sendgrid", "mailgun", "ses"):
        if path.stem.startswith(name):
            return name
    raise AssertionError(f"no email provider for {path.name}")


def email_request(path: Path, services: Services) -> tuple[str, bytes, dict[str, str]]:
    provider = email_provider(path)
    body = path.read_bytes()
    secret = services.settings.email_webhook_secret
    if provider == "mailgun":
        body = mailgun_signed(body, services.settings.mailgun_signing_key)
        return provider, body, {"Content-Type": "application/json"}
    content_type = "text/plain" if path.stem.startswith("ses-sns") else "application/json"
    return provider, body, {"Content-Type": content_type, **basic_auth(secret)}


def expected_email_effects(path: Path) -> tuple[str, str]:
    """(recipient, kind) read from the sample itself; kind: hard_bounce | complaint | click."""
    data = json.loads(path.read_bytes())
    provider = email_provider(path)
    if provider == "postmark":
        kinds = {"Bounce": "hard_bounce", "SpamComplaint": "complaint", "Click": "click"}
        return (data.get("Email") or data["Recipient"]).lower(), kinds[data["RecordType"]]
    if provider == "sendgrid":
        return data[0]["email"].lower(), "hard_bounce"  # dropped: Bounced Address
    if provider == "mailgun":
        return data["event-data"]["recipient"].lower(), "hard_bounce"  # failed / permanent
    inner = json.loads(data["Message"]) if "Message" in data else data
    if inner["notificationType"] == "Bounce":
        return inner["bounce"]["bouncedRecipients"][0]["emailAddress"].lower(), "hard_bounce"
    return inner["complaint"]["complainedRecipients"][0]["emailAddress"].lower(), "complaint"


@pytest.mark.parametrize("path", EMAIL_FILES, ids=rel)
async def test_every_email_event_sample(
    client: TestClient, services: Services, run_worker: Worker, path: Path
) -> None:
    provider, body, headers = email_request(path, services)
    response = await client.post(f"/webhooks/email/{provider}", data=body, headers=headers)
    assert response.status == 200, await response.text()
    await run_worker()
    delivery = await only_delivery(f"email-{provider}")
    assert delivery.status == DeliveryStatus.PROCESSED, delivery.error
    recipient, kind = expected_email_effects(path)
    contact = await Contact.get(email=recipient)
    suppression = await Suppression.get_or_none(email=recipient)
    if kind == "hard_bounce":
        assert await Event.filter(contact=contact, type="email.bounced").count() == 1
        assert suppression is not None and suppression.reason == SuppressionReason.HARD_BOUNCE
    elif kind == "complaint":
        assert await Event.filter(contact=contact, type="email.complained").count() == 1
        assert suppression is not None and suppression.reason == SuppressionReason.COMPLAINT
        assert contact.consent == Consent.UNSUBSCRIBED
    else:
        assert await Event.filter(contact=contact, type="email.clicked").count() == 1
        assert suppression is None
        assert contact.consecutive_unopened == 0


async def test_open_resets_consecutive_unopened(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    contact = await Contact.create(email="ann@example.com", consecutive_unopened=4)
    body = json.dumps({"event": "opened", "email": "ann@example.com", "id": "evt-open-1"}).encode()
    headers = {"Content-Type": "application/json", **basic_auth(services.settings.email_webhook_secret)}
    response = await client.post("/webhooks/email/generic", data=body, headers=headers)
    assert response.status == 200, await response.text()
    await run_worker()
    assert (await only_delivery("email-generic")).status == DeliveryStatus.PROCESSED
    await contact.refresh_from_db()
    assert contact.consecutive_unopened == 0
    assert await Suppression.all().count() == 0


async def test_soft_bounce_does_not_suppress(client: TestClient, services: Services, run_worker: Worker) -> None:
    body = json.dumps(
        {"event": "bounced", "email": "soft@example.com", "bounce_type": "soft", "id": "evt-soft-1"}
    ).encode()
    headers = {"Content-Type": "application/json", **basic_auth(services.settings.email_webhook_secret)}
    assert (await client.post("/webhooks/email/generic", data=body, headers=headers)).status == 200
    await run_worker()
    assert (await only_delivery("email-generic")).status == DeliveryStatus.PROCESSED
    assert await Event.filter(type="email.bounced").count() == 1
    assert await Suppression.all().count() == 0


# -- bad input ----------------------------------------------------------------------------------


def _b64_hmac(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def bad_requests() -> list[tuple[str, str, bytes, dict[str, str]]]:
    shop = (SAMPLES / "shopify" / "orders-create.json").read_bytes()
    form = (SAMPLES / "typeform" / "form-response-nps.json").read_bytes()
    survey = (SAMPLES / "surveys" / "generic-nps.json").read_bytes()
    wootric = (SAMPLES / "real" / "survey" / "wootric-nps-response-created.json").read_bytes()
    postmark = (SAMPLES / "email-events" / "postmark-bounce.json").read_bytes()
    sendgrid = (SAMPLES / "real" / "email" / "sendgrid-event-dropped.json").read_bytes()
    ses = (SAMPLES / "real" / "email" / "ses-complaint-simulator.json").read_bytes()
    mailgun = mailgun_signed((SAMPLES / "real" / "email" / "mailgun-failed-permanent.json").read_bytes(), "wrong")
    json_type = {"Content-Type": "application/json"}
    wrong_basic = {**json_type, **basic_auth("postmark:wrong-pass")}
    return [
        ("shopify", "/webhooks/shopify", shop, shopify_headers(shop, "wrong", "orders/create")),
        ("typeform", "/webhooks/typeform", form, typeform_headers(form, "wrong")),
        ("survey-generic", "/webhooks/surveys/generic", survey, survey_headers(survey, "wrong")),
        ("survey-wootric", "/webhooks/surveys/wootric", wootric, survey_headers(wootric, "wrong")),
        ("email-generic", "/webhooks/email/generic", b'{"event": "opened", "email": "a@example.com"}', wrong_basic),
        ("email-postmark", "/webhooks/email/postmark", postmark, wrong_basic),
        ("email-sendgrid", "/webhooks/email/sendgrid", sendgrid, wrong_basic),
        ("email-ses", "/webhooks/email/ses", ses, wrong_basic),
        ("email-mailgun", "/webhooks/email/mailgun", mailgun, json_type),
        (
            "typeform-tampered", "/webhooks/typeform", form.replace(b"leo.martin", b"leo.mallory"),
            {**json_type, "Typeform-Signature": "sha256=" + _b64_hmac(form, "typeform-test-secret")},
        ),
    ]


@pytest.mark.parametrize(("name", "url", "body", "headers"), bad_requests(), ids=[r[0] for r in bad_requests()])
async def test_wrong_signature_is_401_and_stores_nothing(
    client: TestClient, services: Services, run_worker: Worker, name: str, url: str, body: bytes,
    headers: dict[str, str],
) -> None:
    response = await client.post(url, data=body, headers=headers)
    assert response.status == 401, await response.text()
    assert "error" in await response.json()
    await run_worker()
    assert await InboundDelivery.all().count() == 0
    assert await Contact.all().count() == 0


@pytest.mark.parametrize("url", ["/webhooks/surveys/delighted", "/webhooks/email/mandrill", "/webhooks/email/SES"])
async def test_unknown_provider_is_404_json(client: TestClient, services: Services, url: str) -> None:
    body = b'{"email": "a@example.com", "score": 9}'
    headers = {"Content-Type": "application/json", **survey_headers(body, services.settings.survey_secret)}
    response = await client.post(url, data=body, headers=headers)
    assert response.status == 404
    assert response.content_type == "application/json"
    error = (await response.json())["error"]
    assert "unknown" in error and "provider" in error
    assert await InboundDelivery.all().count() == 0
