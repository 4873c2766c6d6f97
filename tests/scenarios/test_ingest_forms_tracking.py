"""Forms and site tracking through the real app: origins, secrets, honeypot, consent, identity merge."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator

import pytest
from aiohttp.test_utils import TestClient

from contacts.models import Consent, Contact, Event
from core.services import Services
from core.workspace import FormConfig
from inbox.models import DeliveryStatus, InboundDelivery
from tests.support import sample
from webhooks.providers.tracking import user_hash

Worker = Callable[[], Awaitable[int]]
ORIGIN = {"Origin": "https://acme-audio.example"}
URLENCODED = {"Content-Type": "application/x-www-form-urlencoded"}


async def test_newsletter_form_from_allowed_origin(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    body = sample("forms/newsletter-signup.urlencoded").strip()
    response = await client.post("/webhooks/forms/newsletter", data=body, headers={**URLENCODED, **ORIGIN})
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN["Origin"]
    await run_worker()
    contact = await Contact.get(email="ravi.kumar@example.com")
    assert contact.first_name == "Ravi"
    assert contact.consent == Consent.SUBSCRIBED
    assert contact.tags == ["active", "newsletter"]  # the form's tag plus the engagement tag
    assert contact.attributes["interest"] == "blog"
    event = await Event.get(contact=contact, type="form.submitted")
    assert event.properties["form_key"] == "newsletter"
    # Journeys can start on the subscription itself, whatever door it came through.
    subscribed = await Event.get(contact=contact, type="consent.subscribed")
    assert subscribed.properties == {"source": "form", "cause": "form.submitted"}
    assert "website" not in event.properties["fields"]


async def test_json_form_with_secret(client: TestClient, services: Services, run_worker: Worker) -> None:
    body = sample("forms/contact-sales.json")
    headers = {"Content-Type": "application/json", "X-Nurture-Form-Secret": "form-secret-contact-sales"}
    response = await client.post("/webhooks/forms/contact-sales", data=body, headers=headers)
    assert response.status == 200
    await run_worker()
    contact = await Contact.get(email="maria.rossi@example.com")
    assert (contact.first_name, contact.last_name) == ("Maria", "Rossi")
    assert contact.attributes["industry"] == "logistics"
    assert contact.attributes["company"] == "Rossi Logistica"
    assert "sales-inquiry" in contact.tags


async def test_form_refuses_strangers(client: TestClient) -> None:
    body = sample("forms/contact-sales.json")
    response = await client.post(
        "/webhooks/forms/contact-sales", data=body,
        headers={"Content-Type": "application/json", "X-Nurture-Form-Secret": "guess"},
    )
    assert response.status == 401
    response = await client.post(
        "/webhooks/forms/newsletter", data=b"email=a%40b.example",
        headers={**URLENCODED, "Origin": "https://evil.example"},
    )
    assert response.status == 401
    assert await InboundDelivery.all().count() == 0


@pytest.mark.parametrize("header", [
    {"Origin": "https://acme-audio.example.evil.test"},  # the allowed origin as a prefix
    {"Origin": "https://evil-acme-audio.example"},
    {"Origin": "http://acme-audio.example"},  # same host, other scheme
    {"Origin": "https://acme-audio.example:8443"},  # same host, other port
    {"Referer": "https://acme-audio.example.evil.test/newsletter"},
    {"Origin": "null"},
])
async def test_lookalike_origins_are_strangers(client: TestClient, header: dict[str, str]) -> None:
    response = await client.post("/webhooks/forms/newsletter", data=b"email=a%40b.example",
                                  headers={**URLENCODED, **header})
    assert response.status == 401
    assert "Access-Control-Allow-Origin" not in response.headers
    assert await InboundDelivery.all().count() == 0


async def test_a_browser_that_sends_only_a_referer_is_recognised(client: TestClient) -> None:
    # Some browsers and privacy settings leave Origin out and keep Referer (the form page's URL).
    response = await client.post("/webhooks/forms/newsletter", data=b"email=r%40b.example",
                                 headers={**URLENCODED, "Referer": "https://acme-audio.example/newsletter?x=1"})
    assert response.status == 200
    assert await InboundDelivery.all().count() == 1


async def test_unknown_form_is_404_with_reason(client: TestClient) -> None:
    response = await client.post("/webhooks/forms/nope", data=b"email=a%40b.example", headers=URLENCODED)
    assert response.status == 404
    assert "unknown form 'nope'" in (await response.json())["error"]


async def test_honeypot_marks_spam_ignored(client: TestClient, run_worker: Worker) -> None:
    body = b"email=bot%40spam.example&website=http%3A%2F%2Fspam.example"
    response = await client.post("/webhooks/forms/newsletter", data=body, headers={**URLENCODED, **ORIGIN})
    assert response.status == 200
    await run_worker()
    delivery = await InboundDelivery.get()
    assert delivery.status == DeliveryStatus.IGNORED and "honeypot" in delivery.error
    assert await Contact.all().count() == 0


async def test_unticked_consent_does_not_subscribe(client: TestClient, run_worker: Worker) -> None:
    body = b"email=quiet%40example.com&first_name=Q"
    await client.post("/webhooks/forms/newsletter", data=body, headers={**URLENCODED, **ORIGIN})
    await run_worker()
    assert (await Contact.get(email="quiet@example.com")).consent == Consent.UNKNOWN


async def test_form_without_email_fails_visibly(client: TestClient, run_worker: Worker) -> None:
    await client.post("/webhooks/forms/newsletter", data=b"first_name=NoMail", headers={**URLENCODED, **ORIGIN})
    await run_worker()
    delivery = await InboundDelivery.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert "email" in delivery.error


async def test_tracking_merges_anonymous_visitor_on_identify(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    events = json.loads(sample("tracking/page-views.json"))
    key = {"X-Nurture-Write-Key": services.settings.tracking_write_key, "Content-Type": "application/json"}
    # Two page views first, as separate requests, then the rest in a batch.
    for event in events[:2]:
        response = await client.post("/track", data=json.dumps(event), headers=key)
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    await run_worker()
    anonymous = await Contact.get(anonymous_id="anon-5b1f2c")
    assert anonymous.email is None
    await client.post("/track", data=json.dumps({"batch": events[2:]}), headers=key)
    await run_worker()
    contact = await Contact.get(email="wei.chen@example.com")
    assert contact.anonymous_id == "anon-5b1f2c"
    assert contact.attributes["company"] == "Harbor Clinic Group"
    types = sorted(e.type for e in await Event.filter(contact=contact))
    assert types == ["identify", "link.clicked", "page.viewed", "page.viewed", "page.viewed"]
    assert await Contact.all().count() == 1


async def test_tracking_needs_the_write_key(client: TestClient) -> None:
    body = json.dumps({"type": "page", "anonymous_id": "a1", "url": "https://x.example/"})
    response = await client.post("/track", data=body, headers={"X-Nurture-Write-Key": "wrong"})
    assert response.status == 401
    preflight = await client.options("/track")
    assert preflight.status == 204
    assert "X-Nurture-Write-Key" in preflight.headers["Access-Control-Allow-Headers"]
    snippet = await client.get("/t.js")
    assert snippet.status == 200 and "X-Nurture-Write-Key" in await snippet.text()
    assert await InboundDelivery.all().count() == 0


async def test_email_spellings_resolve_to_one_contact(client: TestClient, run_worker: Worker) -> None:
    for spelling in ("Same.Person@Example.com", " same.person@example.COM ", "SAME.PERSON@EXAMPLE.COM"):
        body = json.dumps({"email": spelling, "first_name": "Sam", "n": spelling}).encode()
        await client.post(
            "/webhooks/forms/contact-sales", data=body,
            headers={"Content-Type": "application/json", "X-Nurture-Form-Secret": "form-secret-contact-sales"},
        )
    await run_worker()
    assert await Contact.all().count() == 1
    assert await Event.filter(type="form.submitted").count() == 3


async def _track(client: TestClient, services: Services, *events: dict[str, object]) -> None:
    key = {"X-Nurture-Write-Key": services.settings.tracking_write_key, "Content-Type": "application/json"}
    response = await client.post("/track", data=json.dumps({"batch": list(events)}), headers=key)
    assert response.status == 200


async def test_identify_on_a_shared_browser_leaves_the_first_person_alone(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    browser = "anon-shared-laptop"
    await _track(
        client, services,
        {"type": "page", "anonymous_id": browser, "url": "https://acme-audio.example/pricing",
         "timestamp": "2026-03-08T15:00:00Z"},
        {"type": "identify", "anonymous_id": browser, "email": "alice@example.com",
         "timestamp": "2026-03-08T15:01:00Z"},
    )
    await run_worker()
    alice = await Contact.get(email="alice@example.com")
    assert alice.anonymous_id == browser
    # Bob signs in on Alice's laptop: the anonymous id already names Alice.
    await _track(client, services, {"type": "identify", "anonymous_id": browser, "email": "bob@example.com",
                                    "traits": {"first_name": "Bob"}, "timestamp": "2026-03-09T10:00:00Z"})
    await run_worker()
    alice = await Contact.get(email="alice@example.com")
    bob = await Contact.get(email="bob@example.com")
    assert alice.anonymous_id == browser and alice.first_name == ""
    assert bob.anonymous_id is None and bob.first_name == "Bob"
    assert sorted(e.type for e in await Event.filter(contact=alice)) == ["identify", "page.viewed"]
    assert [e.type for e in await Event.filter(contact=bob)] == ["identify"]


async def test_tracking_traits_fill_gaps_but_never_overwrite_the_profile(
    client: TestClient, services: Services, run_worker: Worker
) -> None:
    body = sample("forms/contact-sales.json")
    headers = {"Content-Type": "application/json", "X-Nurture-Form-Secret": "form-secret-contact-sales"}
    assert (await client.post("/webhooks/forms/contact-sales", data=body, headers=headers)).status == 200
    await run_worker()
    # Even a proven identify (the store's user_hash) cannot rename her: tracking only fills gaps.
    await _track(client, services, {
        "type": "identify", "email": "maria.rossi@example.com", "timestamp": "2026-03-09T10:00:00Z",
        "user_hash": user_hash("maria.rossi@example.com", services.settings.tracking_identity_secret),
        "traits": {"first_name": "Mallory", "last_name": "Spoof", "phone": "+1 555 0100"},
    })
    await run_worker()
    maria = await Contact.get(email="maria.rossi@example.com")
    assert (maria.first_name, maria.last_name) == ("Maria", "Rossi")
    assert maria.phone == "+1 555 0100"  # was empty: tracking may fill it
    assert await Event.filter(contact=maria, type="identify").count() == 1


@pytest.fixture
def signup_form(services: Services) -> Iterator[None]:
    """A form with its own consent and honeypot field names and tags."""
    original = services.workspace
    form = FormConfig(secret="form-secret-signup", consent_field="opt_in", honeypot_field="nickname",
                      tags=("signup", "spring"))
    services.workspace = original.model_copy(update={"forms": {**original.forms, "signup": form}})
    yield
    services.workspace = original


SIGNUP = {"Content-Type": "application/json", "X-Nurture-Form-Secret": "form-secret-signup"}


async def test_a_forms_own_consent_and_honeypot_fields_and_tags(
    client: TestClient, run_worker: Worker, signup_form: None
) -> None:
    ticked = {"email": "ticked@example.com", "opt_in": "on", "consent": "no"}
    unticked = {"email": "unticked@example.com", "consent": "yes"}  # `consent` is not this form's field
    spam = {"email": "bot@example.com", "opt_in": "on", "nickname": "buy pills"}
    for fields in (ticked, unticked, spam):
        assert (await client.post("/webhooks/forms/signup", data=json.dumps(fields), headers=SIGNUP)).status == 200
    await run_worker()
    subscriber = await Contact.get(email="ticked@example.com")
    assert subscriber.consent == Consent.SUBSCRIBED and {"signup", "spring"} <= set(subscriber.tags)
    assert (await Contact.get(email="unticked@example.com")).consent == Consent.UNKNOWN
    assert not await Contact.filter(email="bot@example.com").exists()
    (ignored,) = await InboundDelivery.filter(status=DeliveryStatus.IGNORED)
    assert "honeypot" in ignored.error


async def test_a_forms_idempotency_key_makes_retries_one_submission(
    client: TestClient, run_worker: Worker, signup_form: None
) -> None:
    body = json.dumps({"email": "retry@example.com", "opt_in": "on"})
    for key in ("submit-1", "submit-1", "submit-2"):  # a retry, then a real second submission
        response = await client.post("/webhooks/forms/signup", data=body, headers={**SIGNUP, "Idempotency-Key": key})
        assert response.status == 200
    await run_worker()
    assert await InboundDelivery.all().count() == 2
    assert await Event.filter(type="form.submitted", contact__email="retry@example.com").count() == 2
