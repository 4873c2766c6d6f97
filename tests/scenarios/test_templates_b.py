"""Library templates end to end (second half): signed webhooks in, workers on the virtual clock,
emails out of the SMTP sink, Slack tasks in the Web API double, and the runs' exits and goals.

Covered: abandoned-cart, product-interest, upsell-cross-sell, replenishment, birthday-anniversary,
event-series, post-purchase-feedback, nps-follow-up, feedback-task, power-user-survey,
inactive-user-survey, customer-engagement, evangelist, engagement-split, lead-scoring.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from contacts.models import Consent, Contact, LifecycleStage
from core.clock import ManualClock
from core.services import Services
from core.workspace import FormConfig
from jobs.checkouts import detect_abandoned_checkouts
from jobs.intelligence import refresh_contacts
from journeys.coupons import add_codes, upsert_pool
from journeys.library import install
from journeys.models import Enrollment, EnrollmentState, Task, TaskKind
from journeys.store import publish
from journeys.time_triggers import scan_time_triggers
from tests.doubles.slack_api import SlackApiDouble
from tests.support import IDENTITY_SECRET, sample, sample_json, shopify_headers, signed_in, survey_headers
from webhooks.providers.tracking import user_hash

Drive = Callable[[], Awaitable[int]]
Outbox = Callable[[], Awaitable[list[Any]]]
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
FORM_SECRET = "form-secret-templates-b"
EXTRA_FORMS = ("feedback", "event-registration", "power-user-survey", "inactive-survey")


# ------------------------------------------------------------------------------------------ helpers


@pytest.fixture
def forms(services: Services) -> Iterator[None]:
    """The forms these templates listen to, as a store would add them to its workspace file."""
    original = services.workspace
    extra = {key: FormConfig(secret=FORM_SECRET) for key in EXTRA_FORMS}
    services.workspace = original.model_copy(update={"forms": {**original.forms, **extra}})
    yield
    services.workspace = original


async def go_live(key: str) -> None:
    journey = await install(key)
    await publish(journey.key)


async def pool(key: str, description: str, codes: list[str] | None = None, prefix: str = "") -> None:
    created = await upsert_pool(key, description, generate_prefix=prefix)
    if codes:
        await add_codes(created, codes)


# Marketing email goes to subscribers only (consent policy opt_in, the default): the people in
# these stories subscribed earlier (a newsletter box, Shopify's checkbox).
SUBSCRIBED = {"state": "subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": "2026-01-05T10:00:00Z"}


async def subscribers(*emails: str) -> None:
    for email in emails:
        await Contact.create(email=email, consent=Consent.SUBSCRIBED)


async def shopify(client: TestClient, services: Services, topic: str, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, topic)
    assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200


def order(order_id: int, email: str, at: dt.datetime, name: str = "") -> dict[str, Any]:
    """The real orders/create sample (contact lenses and a lens kit), for another buyer and time, who
    shops in English (the sample's buyer shops in Japanese: tests/scenarios/test_languages.py)."""
    data = sample_json("shopify/orders-create.json")
    data.update(id=order_id, email=email, name=name or f"#{order_id}", created_at=at.isoformat(),
                processed_at=at.isoformat(), updated_at=at.isoformat(), checkout_token=None, customer_locale="en")
    data["customer"] = None
    return data


async def submit_form(client: TestClient, key: str, fields: dict[str, Any]) -> None:
    fields = {"consent": "yes", **fields}  # they tick the marketing box (consent policy opt_in, the default)
    headers = {"Content-Type": "application/json", "X-Nurture-Form-Secret": FORM_SECRET}
    if key == "contact-sales":
        headers["X-Nurture-Form-Secret"] = "form-secret-contact-sales"
    response = await client.post(f"/webhooks/forms/{key}", data=json.dumps(fields).encode(), headers=headers)
    assert response.status == 200, await response.text()


async def track(client: TestClient, services: Services, *items: dict[str, Any]) -> None:
    headers = {"X-Nurture-Write-Key": services.settings.tracking_write_key, "Content-Type": "application/json"}
    body = json.dumps({"batch": [signed_in(item) for item in items]})
    assert (await client.post("/track", data=body, headers=headers)).status == 200


def page(email: str, path: str, title: str, at: dt.datetime) -> dict[str, Any]:
    """A page view by a signed-in visitor: the store's snippet proves who it is (user_hash)."""
    return {"type": "page", "email": email, "url": f"https://acme-audio.example{path}", "title": title,
            "timestamp": at.isoformat(), "user_hash": user_hash(email, IDENTITY_SECRET)}


async def survey(client: TestClient, services: Services, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = survey_headers(body, services.settings.survey_secret)
    assert (await client.post("/webhooks/surveys/generic", data=body, headers=headers)).status == 200


async def mails_to(outbox: Outbox, address: str) -> list[Any]:
    return [m for m in await outbox() if m["To"].addresses[0].addr_spec == address]


def text_of(mail: Any) -> str:
    return str(mail.get_body(("plain",)).get_content())


async def button_target(client: TestClient, mail: Any, label: str) -> str:
    """Where the recipient lands on clicking the button `label` (through our click redirect)."""
    found = re.search(re.escape(label) + r" \(https?://[^/\s]+(/c/[^)\s]+)\)", text_of(mail))
    assert found, f"no tracked {label!r} link in the email"
    response = await client.get(found.group(1), allow_redirects=False)
    assert response.status in (302, 303, 307)
    return str(response.headers["Location"])


def subject_of(mail: Any) -> str:
    # A long subject is folded onto a continuation line; the unfolded value starts with a space.
    return str(mail["Subject"]).strip()


def subjects(mails: list[Any]) -> list[str]:
    return [subject_of(m) for m in mails]


async def run_of(email: str, key: str) -> Enrollment:
    return await Enrollment.get(contact__email=email, journey__key=key)


# ------------------------------------------------------------------------------------------ shop


async def test_abandoned_cart_reminds_then_discounts_and_an_order_converts(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox
) -> None:
    await go_live("abandoned-cart")
    await pool("cart10", "10% off your cart", ["CART10-7Q2M"])
    checkout = sample_json("shopify/checkouts-create.json")
    await shopify(client, services, "checkouts/create", checkout)
    # Leo ships to Portland, Mia to Berlin: each gets the time zone of their address.
    berlin = {"first_name": "Mia", "last_name": "Schmidt", "city": "Berlin", "province_code": "BE",
              "country_code": "DE", "zip": "10115"}
    other = {**checkout, "email": "mia.schmidt@example.com", "token": "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
             "customer": None, "shipping_address": berlin}
    await shopify(client, services, "checkouts/create", other)
    await drive()
    clock.set(dt.datetime(2026, 3, 6, 2, 0, tzinfo=dt.UTC))  # two hours after the last update
    assert await detect_abandoned_checkouts(services) == 2
    await drive()
    assert await outbox() == []  # the first hour is quiet
    clock.advance(HOUR)  # 03:00 UTC: 7 pm in Portland, 4 am in Berlin
    await drive()
    assert len(await mails_to(outbox, "leo.martin@example.com")) == 1
    assert await mails_to(outbox, "mia.schmidt@example.com") == []  # her quiet hours: deferred, not dropped
    clock.set(dt.datetime(2026, 3, 6, 7, 0, tzinfo=dt.UTC))  # 8 am in Berlin
    await drive()
    for address in ("leo.martin@example.com", "mia.schmidt@example.com"):
        (reminder,) = await mails_to(outbox, address)
        assert subject_of(reminder).endswith("you left something in your cart")
        assert "Studio Wireless Headphones" in text_of(reminder) and "Headphone Stand" in text_of(reminder)
    # Leo buys before the discount: the goal ends his run; Mia gets the code a day later.
    await shopify(client, services, "orders/create", order(5560190000001, "leo.martin@example.com", clock.now()))
    await drive()
    leo = await run_of("leo.martin@example.com", "abandoned-cart")
    assert (leo.state, leo.exit_reason) == (EnrollmentState.EXITED, "converted")
    clock.advance(25 * HOUR)
    await drive()
    assert len(await mails_to(outbox, "leo.martin@example.com")) == 1
    discount = (await mails_to(outbox, "mia.schmidt@example.com"))[-1]
    assert subject_of(discount) == "A little nudge: 10% off your cart"
    assert "CART10-7Q2M" in text_of(discount) and "Studio Wireless Headphones" in text_of(discount)
    assert (await run_of("mia.schmidt@example.com", "abandoned-cart")).state == EnrollmentState.COMPLETED


async def test_product_interest_follows_up_with_the_viewed_product_and_a_code(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox
) -> None:
    await go_live("product-interest")
    await pool("interest10", "10% off", ["LOOK10-ABCD"])
    email = "sofia.rossi@example.com"
    await subscribers(email)
    await track(client, services, page(email, "/products/studio-monitor-x5", "Studio Monitor X5", clock.now()))
    await track(client, services, page(email, "/products/studio-monitor-x5", "Studio Monitor X5",
                                       clock.now() + dt.timedelta(minutes=3)))
    await drive()
    assert await Enrollment.all().count() == 0  # two views are browsing, not interest
    await track(client, services, page(email, "/products/studio-monitor-x5", "Studio Monitor X5",
                                       clock.now() + dt.timedelta(minutes=9)))
    await drive()
    assert "interest:studio-monitor-x5" in (await Contact.get(email=email)).tags
    clock.advance(DAY)
    await drive()
    (reminder,) = await mails_to(outbox, email)
    assert subject_of(reminder) == "Still thinking about Studio Monitor X5, friend?"
    assert "Studio Monitor X5" in text_of(reminder)
    clock.advance(3 * DAY)
    await drive()
    offer = (await mails_to(outbox, email))[-1]
    assert subject_of(offer) == "Hi, 10% off on Studio Monitor X5"
    assert "LOOK10-ABCD" in text_of(offer)
    assert (await run_of(email, "product-interest")).state == EnrollmentState.COMPLETED


async def test_upsell_cross_sell_shows_the_order_with_a_code_and_the_next_order_converts(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox
) -> None:
    await go_live("upsell-cross-sell")
    await pool("upsell10", "10% off accessories", ["MORE10-XY12"])
    email = "hana.sato@example.com"
    await shopify(client, services, "orders/create", order(5560193704243, email, clock.now(), "#1042"))
    await drive()
    clock.advance(5 * DAY)
    await drive()
    (mail,) = await mails_to(outbox, email)
    assert subject_of(mail) == "Get even more out of your order, Hana"
    body = text_of(mail)
    assert "Daily Contact Lenses (30 pack)" in body and "Lens Case & Solution Kit" in body
    assert "MORE10-XY12" in body and "#1042" in body
    await shopify(client, services, "orders/create", order(5560193709999, email, clock.now() + HOUR, "#1077"))
    await drive()
    first = await run_of(email, "upsell-cross-sell")
    assert (first.state, first.exit_reason) == (EnrollmentState.EXITED, "converted")
    clock.advance(10 * DAY)
    await drive()
    assert len(await mails_to(outbox, email)) == 1  # no reminder after buying
    # once_per 30 days: the second order does not start another upsell run this month
    assert await Enrollment.filter(journey__key="upsell-cross-sell").count() == 1


async def test_replenishment_reminds_after_150_days_then_offers_a_refill_code(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox
) -> None:
    await go_live("replenishment")
    await pool("refill5", "5% off your refill", ["REFILL-5511"])
    email = "hana.sato@example.com"
    await shopify(client, services, "orders/create", order(5560193704243, email, clock.now(), "#1042"))
    await drive()
    clock.advance(149 * DAY)
    await drive()
    assert await outbox() == []
    clock.advance(DAY)
    await drive()
    (reminder,) = await mails_to(outbox, email)
    assert subject_of(reminder) == "Running low, Hana? Time to restock"
    assert "Daily Contact Lenses (30 pack)" in text_of(reminder) and "#1042" in text_of(reminder)
    assert "REFILL-5511" not in text_of(reminder)
    clock.advance(14 * DAY)
    await drive()
    last = (await mails_to(outbox, email))[-1]
    assert subject_of(last) == "Don't run out: 5% off your refill"
    assert "REFILL-5511" in text_of(last) and "Daily Contact Lenses (30 pack)" in text_of(last)
    assert (await run_of(email, "replenishment")).state == EnrollmentState.COMPLETED


async def test_birthday_coupon_goes_out_at_nine_and_reminds_once(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox
) -> None:
    await go_live("birthday-anniversary")
    await pool("birthday", "20% off, our birthday gift", prefix="BDAY-")
    email = "amira.demir@example.com"
    await subscribers(email)
    await track(client, services, {"type": "identify", "email": email, "traits": {
        "first_name": "Amira", "timezone": "Europe/Istanbul", "birthday": "1991-03-12"},
        "timestamp": clock.now().isoformat()})
    await drive()
    assert await scan_time_triggers(services, clock.now()) == 0  # 10 March: not yet
    clock.set(dt.datetime(2026, 3, 12, 3, 0, tzinfo=dt.UTC))  # 06:00 in Istanbul
    assert await scan_time_triggers(services, clock.now()) == 1
    assert await scan_time_triggers(services, clock.now()) == 0  # once a year
    await drive()
    assert await outbox() == []
    clock.set(dt.datetime(2026, 3, 12, 6, 0, tzinfo=dt.UTC))  # 09:00 in Istanbul
    await drive()
    (wish,) = await mails_to(outbox, email)
    assert subject_of(wish) == "Happy birthday, Amira! A gift from us inside"
    code = re.search(r"BDAY-[0-9A-F]{8}", text_of(wish))
    assert code is not None and "20% off, our birthday gift" in text_of(wish)
    clock.advance(6 * DAY)
    await drive()
    reminder = (await mails_to(outbox, email))[-1]
    assert subject_of(reminder) == f"Amira, your gift code {code.group(0)} hasn't been used yet"
    assert (await run_of(email, "birthday-anniversary")).state == EnrollmentState.COMPLETED


# ------------------------------------------------------------------------------------------ events and feedback


async def test_event_series_confirms_reminds_sends_the_link_and_follows_up(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox, forms: None
) -> None:
    await go_live("event-series")
    email = "kenji.tanaka@example.com"
    await submit_form(client, "event-registration", {
        "email": email, "first_name": "Kenji", "event_name": "Home Studio Acoustics Live",
        "event_date": "2026-03-20T16:00:00+00:00", "event_url": "https://acme-audio.example/live/acoustics",
        "location": "Online"})
    await drive()
    (confirmation,) = await mails_to(outbox, email)
    assert subject_of(confirmation) == "You're registered: Home Studio Acoustics Live"
    assert "Friday 20 March 2026, 16:00 UTC" in text_of(confirmation)
    assert "List-Unsubscribe" not in confirmation  # logistics the registrant asked for: transactional
    clock.set(dt.datetime(2026, 3, 19, 9, 0, tzinfo=dt.UTC))
    await drive()
    assert subjects(await mails_to(outbox, email))[-1] == "Tomorrow: Home Studio Acoustics Live"
    clock.set(dt.datetime(2026, 3, 20, 15, 0, tzinfo=dt.UTC))
    await drive()
    starting = (await mails_to(outbox, email))[-1]
    assert subject_of(starting) == "Starting in one hour: Home Studio Acoustics Live"
    assert "Join now" in text_of(starting)
    clock.set(dt.datetime(2026, 3, 21, 10, 0, tzinfo=dt.UTC))
    await drive()
    follow_up = (await mails_to(outbox, email))[-1]
    assert subject_of(follow_up) == "Thanks for joining Home Studio Acoustics Live: the recording and what's next"
    assert len(await mails_to(outbox, email)) == 4
    assert "event-attendee" in (await Contact.get(email=email)).tags
    assert (await run_of(email, "event-series")).state == EnrollmentState.COMPLETED


async def test_post_purchase_feedback_asks_after_seven_days_and_thanks_on_submit(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox, forms: None
) -> None:
    await go_live("post-purchase-feedback")
    email = "hana.sato@example.com"
    await shopify(client, services, "orders/create", order(5560193704243, email, clock.now(), "#1042"))
    await drive()
    clock.advance(6 * DAY)
    await drive()
    assert await outbox() == []
    clock.advance(DAY)
    await drive()
    (ask,) = await mails_to(outbox, email)
    assert subject_of(ask) == "How are you getting on with your order, Hana?"
    assert "Daily Contact Lenses (30 pack)" in text_of(ask) and "#1042" in text_of(ask)
    clock.advance(2 * DAY)
    await submit_form(client, "feedback", {"email": email, "message": "Lenses are great, delivery was fast."})
    await drive()
    thanks = (await mails_to(outbox, email))[-1]
    assert subject_of(thanks) == "Thank you for your feedback, Hana"
    assert "gave-feedback" in (await Contact.get(email=email)).tags
    run = await run_of(email, "post-purchase-feedback")
    assert run.state == EnrollmentState.COMPLETED
    clock.advance(10 * DAY)
    await drive()
    assert len(await mails_to(outbox, email)) == 2  # no reminder after answering


async def test_nps_follow_up_answers_each_category(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox,
    slack: SlackApiDouble
) -> None:
    await go_live("nps-follow-up")
    await pool("sorry15", "15% off, with our apologies", ["SORRY15-K9"])
    await Contact.create(email="oliver.brown@example.com", first_name="Oliver", owner="UREP1",
                         consent=Consent.SUBSCRIBED)
    await subscribers("hana.sato@example.com", "ravi.kumar@example.com")
    answers = [("hana.sato@example.com", 10, "Love it"), ("ravi.kumar@example.com", 8, "Fine"),
               ("oliver.brown@example.com", 3, "The case arrived cracked and nobody answered my email")]
    for number, (email, score, comment) in enumerate(answers):
        await survey(client, services, {"email": email, "score": score, "comment": comment,
                                        "survey": "post-purchase-nps", "response_id": f"resp_{number}",
                                        "answered_at": clock.now().isoformat()})
    await drive()
    (promoter,) = await mails_to(outbox, "hana.sato@example.com")
    assert subject_of(promoter).startswith("Thank you, ") and "Write a review" in text_of(promoter)
    (passive,) = await mails_to(outbox, "ravi.kumar@example.com")
    assert subject_of(passive).endswith("a few tips inside")
    (apology,) = await mails_to(outbox, "oliver.brown@example.com")
    assert subject_of(apology) == "Oliver, we're sorry, and we want to put it right"
    assert "SORRY15-K9" in text_of(apology)
    # The buttons lead to the brand's pages (workspace brand section, defaulted from brand.url).
    for mail in (promoter, passive, apology):
        assert 'href=""' not in mail.get_body(("html",)).get_content()
    assert await button_target(client, promoter, "Write a review") == "https://acme-audio.example/pages/reviews"
    assert await button_target(client, passive, "Tell us what would help") == \
        "https://acme-audio.example/pages/feedback"
    assert await button_target(client, apology, "Book a call with me") == \
        "https://acme-audio.example/pages/book-a-call"
    task = await Task.get(kind=TaskKind.FEEDBACK)
    assert task.assignee == "UREP1"
    (posted,) = slack.called("chat.postMessage")
    assert posted.params["channel"] == "DREP1"  # a DM to the account manager
    assert "nobody answered my email" in json.dumps(posted.params["blocks"])
    assert "promoter" in (await Contact.get(email="hana.sato@example.com")).tags
    assert {e.state for e in await Enrollment.all()} == {EnrollmentState.COMPLETED}


async def test_feedback_task_thanks_posts_a_task_and_checks_in_later(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox,
    slack: SlackApiDouble, forms: None
) -> None:
    await go_live("feedback-task")
    email = "maria.rossi@example.com"
    await submit_form(client, "feedback", {"email": email, "first_name": "Maria",
                                           "message": "The invoice shows the wrong VAT number."})
    await drive()
    (thanks,) = await mails_to(outbox, email)
    assert subject_of(thanks) == "We got your message, Maria: thank you"
    assert "The invoice shows the wrong VAT number." in text_of(thanks)
    task = await Task.get(kind=TaskKind.FEEDBACK)
    assert task.assignee is None and task.slack_channel == "C0SALES"  # no owner: the sales channel
    (posted,) = slack.called("chat.postMessage")
    assert "Feedback from Maria" in json.dumps(posted.params["blocks"])
    assert "wrong VAT number" in json.dumps(posted.params["blocks"])
    clock.advance(10 * DAY)
    await drive()
    check_in = (await mails_to(outbox, email))[-1]
    assert subject_of(check_in) == "Is there anything else we can do, Maria?"
    assert "feedback-received" in (await Contact.get(email=email)).tags
    assert (await run_of(email, "feedback-task")).state == EnrollmentState.COMPLETED


async def test_power_user_survey_invites_and_thanks(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox, forms: None
) -> None:
    await go_live("power-user-survey")
    customer = sample_json("shopify/customers-create.json")
    customer.update(tags="wholesale, power-user", updated_at=clock.now().isoformat(),
                    email_marketing_consent=SUBSCRIBED)
    await shopify(client, services, "customers/create", customer)
    await drive()
    email = "amira.demir@example.com"
    assert await outbox() == []  # waits for the best send hour (10:00 by default)
    clock.advance(HOUR)
    await drive()
    (invite,) = await mails_to(outbox, email)
    assert subject_of(invite) == "Amira, you know us better than most: help shape what's next?"
    assert "Take the 3-minute survey" in text_of(invite)
    clock.advance(2 * DAY)
    await submit_form(client, "power-user-survey", {"email": email, "favourite_feature": "reorder",
                                                    "missing": "bulk export"})
    await drive()
    thanks = (await mails_to(outbox, email))[-1]
    assert subject_of(thanks) == "Thank you for your answers, Amira"
    assert "power-user-surveyed" in (await Contact.get(email=email)).tags
    assert (await run_of(email, "power-user-survey")).state == EnrollmentState.COMPLETED


async def test_inactive_user_survey_asks_what_went_wrong(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox, forms: None
) -> None:
    await go_live("inactive-user-survey")
    await pool("comeback10", "10% off when you come back", ["BACK10-ZZ"])
    email = "wei.chen@example.com"
    await subscribers(email)
    await track(client, services, page(email, "/", "Home", clock.now()))
    await drive()
    clock.advance(91 * DAY)
    assert await refresh_contacts(services) == 1  # engagement.tag_changed active -> inactive
    await drive()
    (ask,) = await mails_to(outbox, email)
    assert subject_of(ask) == "Hi, did we get something wrong?"
    await submit_form(client, "inactive-survey", {"email": email, "reason": "too expensive"})
    await drive()
    thanks = (await mails_to(outbox, email))[-1]
    assert "BACK10-ZZ" in text_of(thanks) and subject_of(thanks).startswith("Thank you for being honest")
    assert (await run_of(email, "inactive-user-survey")).state == EnrollmentState.COMPLETED


# ------------------------------------------------------------------------------------------ engagement


async def test_customer_engagement_by_usage(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox
) -> None:
    await go_live("customer-engagement")
    usage = {"heavy@example.com": 26, "light@example.com": 2, "steady@example.com": 12}
    await subscribers(*usage)
    for email, days in usage.items():
        await track(client, services, {"type": "track", "email": email, "event": "usage.summary",
                                       "properties": {"active_days_30d": days, "features_used": days // 2},
                                       "timestamp": clock.now().isoformat()})
    await drive()
    (story,) = await mails_to(outbox, "heavy@example.com")
    assert subject_of(story) == "Hi, would you share your story?"
    assert "active on 26 of the last 30 days" in text_of(story)
    assert "power-user" in (await Contact.get(email="heavy@example.com")).tags
    (tips,) = await mails_to(outbox, "light@example.com")
    assert subject_of(tips) == "Three features that save our customers hours, friend"
    assert await mails_to(outbox, "steady@example.com") == []
    steady = await run_of("steady@example.com", "customer-engagement")
    assert (steady.state, steady.exit_reason) == (EnrollmentState.EXITED, "usage is healthy, nothing to send")
    clock.advance(7 * DAY)
    await drive()
    second = (await mails_to(outbox, "light@example.com"))[-1]
    assert subject_of(second) == "One more shortcut worth knowing, there"
    assert "Set up my first automation" in text_of(second) and "Saved templates" not in text_of(second)
    assert (await run_of("light@example.com", "customer-engagement")).state == EnrollmentState.COMPLETED


async def test_evangelist_asks_for_a_testimonial_and_keeps_in_touch_quarterly(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox
) -> None:
    await go_live("evangelist")
    await pool("friends15", "15% off for a friend", ["FRIEND-A1", "FRIEND-B2"])
    email = "hana.sato@example.com"
    for number in range(3):
        at = clock.now() + number * 20 * DAY
        clock.set(at)
        await shopify(client, services, "orders/create", order(5560193704243 + number, email, at))
        await drive()
        assert await Enrollment.filter(journey__key="evangelist").count() == (1 if number == 2 else 0)
    hana = await Contact.get(email=email)
    assert hana.lifecycle_stage == LifecycleStage.EVANGELIST and "evangelist" in hana.tags
    clock.advance(2 * DAY)
    await drive()
    (ask,) = await mails_to(outbox, email)
    assert subject_of(ask) == "Hana, you're one of our favourite customers"
    assert "FRIEND-A1" in text_of(ask) and "3 times" in text_of(ask)
    clock.advance(90 * DAY)
    await drive()
    quarterly = (await mails_to(outbox, email))[-1]
    assert subject_of(quarterly) == "Your quarterly thank-you, Hana"
    run = await run_of(email, "evangelist")
    assert run.state == EnrollmentState.WAITING  # the next quarterly touch is three months away
    assert run.next_run_at == clock.now() + 90 * DAY


async def test_engagement_split_sends_openers_and_ignorers_different_sequences(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox
) -> None:
    await go_live("engagement-split")
    opener = sample_json("shopify/customers-create.json") | {"email_marketing_consent": SUBSCRIBED}
    ignorer = {**opener, "id": 7812233366666, "email": "jonas.berg@example.com", "first_name": "Jonas",
               "last_name": "Berg", "phone": None}
    for customer in (opener, ignorer):
        await shopify(client, services, "customers/create", customer)
    await drive()
    (intro,) = await mails_to(outbox, "amira.demir@example.com")
    assert subject_of(intro) == "Welcome to Acme Audio, Amira"
    assert len(await mails_to(outbox, "jonas.berg@example.com")) == 1
    html = intro.get_body(("html",)).get_content()
    pixel = re.search(rf'{re.escape(services.settings.public_url)}(/o/[^"]+)"', html)
    assert pixel is not None
    assert (await client.get(pixel.group(1))).status == 200  # Amira opens the email
    await drive()
    assert "split-opened" in (await Contact.get(email="amira.demir@example.com")).tags
    clock.advance(DAY)
    await drive()
    assert subjects(await mails_to(outbox, "amira.demir@example.com"))[-1] == (
        "The story behind Acme Audio, Amira")
    clock.advance(2 * DAY)
    await drive()
    assert subjects(await mails_to(outbox, "jonas.berg@example.com")) == [
        "Welcome to Acme Audio, Jonas", "Jonas, one link worth your time"]
    assert "split-ignored" in (await Contact.get(email="jonas.berg@example.com")).tags
    clock.advance(2 * DAY)
    await drive()
    assert subjects(await mails_to(outbox, "amira.demir@example.com")) == [
        "Welcome to Acme Audio, Amira", "The story behind Acme Audio, Amira",
        "Our customers' favourites, picked for you"]
    assert {e.state for e in await Enrollment.all()} == {EnrollmentState.COMPLETED}


async def test_lead_scoring_sends_hot_leads_offers_more_often(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox
) -> None:
    await go_live("lead-scoring")
    await pool("lead15", "15% off your first order", ["LEAD15-HOT1", "LEAD15-HOT2"])
    hot, cold = "maria.rossi@example.com", "tom.walker@example.com"
    await subscribers(hot, cold)
    now = clock.now()
    await track(client, services, page(hot, "/pricing", "Pricing", now), page(hot, "/demo", "Book a demo", now),
                page(hot, "/pricing/teams", "Team pricing", now),
                page(hot, "/pricing#faq", "Pricing FAQ", now), page(cold, "/pricing", "Pricing", now),
                page(cold, "/blog/room-acoustics", "Room acoustics 101", now))
    await submit_form(client, "contact-sales", sample_json("forms/contact-sales.json"))
    await drive()
    assert (await Contact.get(email=hot)).lead_score >= 50
    assert 10 <= (await Contact.get(email=cold)).lead_score < 25
    for address in (hot, cold):
        assert subjects(await mails_to(outbox, address))[0].endswith(", a guide you might find useful")
    clock.advance(3 * DAY)
    await drive()
    offer = (await mails_to(outbox, hot))[-1]
    assert subject_of(offer) == "Maria, 15% off your first order to get you started"
    assert "LEAD15-HOT1" in text_of(offer)
    assert len(await mails_to(outbox, cold)) == 1
    for _ in range(2):
        clock.advance(7 * DAY)
        await drive()
    assert subjects(await mails_to(outbox, hot))[1:] == [
        "Maria, 15% off your first order to get you started",
        "Your code LEAD15-HOT1 is still waiting, Maria",
        "Last chance for your code LEAD15-HOT1, Maria"]
    assert subjects(await mails_to(outbox, cold)) == [
        "Hi, a guide you might find useful", "More ideas you can use, there"]
    assert "lead-hot" in (await Contact.get(email=hot)).tags
    assert "lead-cold" in (await Contact.get(email=cold)).tags
    assert {e.state for e in await Enrollment.all()} == {EnrollmentState.COMPLETED}


__all__ = ["sample"]
