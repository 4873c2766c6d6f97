"""Template library, part A: every template installed from journeys/templates/ and driven end to end.

Events come in through the signed webhooks (Shopify, forms, site tracking, the open pixel,
Slack interactions); the workers run on the virtual clock; the assertions look at what reached
the SMTP sink, what was posted to the Slack Web API double, and how the enrollments ended.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import itertools
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from contacts.models import Consent, Contact, LifecycleStage
from core.clock import ManualClock
from core.services import Services
from core.workspace import FormConfig, Workspace
from emails.models import Message
from emails.tokens import sign
from jobs.intelligence import refresh_contacts
from journeys import library
from journeys.coupons import add_codes, upsert_pool
from journeys.models import Enrollment, EnrollmentState, Task, TaskKind, TaskStatus
from journeys.store import publish
from journeys.time_triggers import scan_time_triggers
from tests.doubles.slack_api import SlackApiDouble
from tests.scenarios.slack_support import click, eventually, interact, price_quote
from tests.support import IDENTITY_SECRET, sample, sample_json, shopify_headers, signed_in
from webhooks.providers.tracking import user_hash

Drive = Callable[[], Awaitable[int]]
Outbox = Callable[[], Awaitable[list[Any]]]
DAY = dt.timedelta(days=1)
FORM_SECRET = "form-secret-templates"
ORIGIN = {"Origin": "https://acme-audio.example", "Content-Type": "application/x-www-form-urlencoded"}
_order_ids = itertools.count(7000001)


# --------------------------------------------------------------------------------- helpers


@pytest.fixture
def workspace(services: Services) -> Iterator[Workspace]:
    """The test workspace plus the content and quote forms, and a loyalty programme that announces
    the first tier (so the loyalty journey can welcome new members)."""
    original = services.workspace
    extra = {key: FormConfig(secret=FORM_SECRET, tags=(key,))
             for key in ("content-download", "ebook", "webinar", "quote-request")}
    loyalty = original.intelligence.loyalty.model_copy(update={"announce_first_tier": True})
    intelligence = original.intelligence.model_copy(update={"loyalty": loyalty})
    services.workspace = original.model_copy(update={"forms": {**original.forms, **extra},
                                                     "intelligence": intelligence})
    yield services.workspace
    services.workspace = original


async def install(*keys: str) -> None:
    for key in keys:
        await library.install(key)
        await publish(key)


async def post_form(client: TestClient, key: str, fields: dict[str, Any], secret: str = FORM_SECRET) -> None:
    # The people in these stories tick the form's marketing box (consent policy opt_in, the default).
    fields = {"consent": "yes", **fields}
    headers = {"Content-Type": "application/json", "X-Nurture-Form-Secret": secret}
    response = await client.post(f"/webhooks/forms/{key}", data=json.dumps(fields), headers=headers)
    assert response.status == 200, await response.text()


async def newsletter_signup(client: TestClient, body: bytes | None = None) -> None:
    body = body or sample("forms/newsletter-signup.urlencoded").strip()
    response = await client.post("/webhooks/forms/newsletter", data=body, headers=ORIGIN)
    assert response.status == 200


async def track(client: TestClient, services: Services, *events: dict[str, Any]) -> None:
    headers = {"X-Nurture-Write-Key": services.settings.tracking_write_key, "Content-Type": "application/json"}
    response = await client.post("/track", data=json.dumps({"batch": [signed_in(e) for e in events]}), headers=headers)
    assert response.status == 200


def page(email: str, path: str, at: dt.datetime, title: str = "") -> dict[str, Any]:
    """A page view by a signed-in visitor: the store's snippet proves who it is (user_hash)."""
    return {"type": "page", "email": email, "url": f"https://acme-audio.example{path}", "title": title or path,
            "timestamp": at.isoformat(), "user_hash": user_hash(email, IDENTITY_SECRET)}


def _customer_id(email: str) -> int:
    return int(hashlib.sha256(email.encode()).hexdigest()[:10], 16)


async def shopify_order(client: TestClient, services: Services, email: str, first_name: str, at: dt.datetime,
                        total: str = "120.00") -> int:
    """orders/create for `email`, shaped like the real sample (two line items), placed at `at`."""
    order = copy.deepcopy(sample_json("shopify/orders-create.json"))
    number = next(_order_ids)
    stamp = at.isoformat()
    order.update(id=number, name=f"#{number % 10000}", order_number=number % 10000, email=email,
                 contact_email=email, created_at=stamp, processed_at=stamp, updated_at=stamp, currency="EUR",
                 total_price=total, current_total_price=total, subtotal_price=total, checkout_token=None,
                 checkout_id=None, cart_token=None, customer_locale="en")
    order["customer"] = {**order["customer"], "id": _customer_id(email), "email": email, "first_name": first_name,
                         "last_name": "Tester"}
    body = json.dumps(order).encode()
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, "orders/create")
    response = await client.post("/webhooks/shopify", data=body, headers=headers)
    assert response.status == 200
    return number


async def open_email(client: TestClient, services: Services, message: Message) -> None:
    """The recipient's mail client loads the signed open pixel."""
    token = sign(services.settings.secret_key, "open", {"m": message.id})
    response = await client.get(f"/o/{token}.gif")
    assert response.status == 200


async def click_first_link(client: TestClient, sent: Any) -> None:
    """The recipient clicks the first tracked link of a received email."""
    html = sent.get_body(preferencelist=("html",)).get_content()
    path = re.search(r'href="https?://[^/"]+(/c/[^"]+)"', html)
    assert path, "no tracked link in the email"
    response = await client.get(path.group(1), allow_redirects=False)
    assert response.status in (302, 303, 307)


def text_of(sent: Any) -> str:
    return str(sent.get_body(preferencelist=("plain",)).get_content())


def to_of(sent: Any) -> str:
    return str(sent["To"].addresses[0].addr_spec)


async def received(outbox: Outbox, email: str) -> list[Any]:
    return [m for m in await outbox() if to_of(m) == email]


async def subjects(outbox: Outbox, email: str) -> list[str]:
    return [str(m["Subject"]) for m in await received(outbox, email)]


async def enrollment(key: str, email: str) -> Enrollment:
    """The contact's latest run of journey `key`."""
    found = await Enrollment.filter(journey__key=key, contact__email=email).order_by("-id").first()
    assert found is not None, f"{email} never entered {key}"
    return found


async def advance(clock: ManualClock, drive: Drive, days: float) -> None:
    clock.advance(dt.timedelta(days=days))
    await drive()


def posted(slack: SlackApiDouble) -> list[tuple[str, str]]:
    """(channel, everything said) for each chat.postMessage."""
    return [(str(c.params.get("channel")), json.dumps(c.params.get("blocks") or c.params.get("text")))
            for c in slack.called("chat.postMessage")]


# --------------------------------------------------------------------------------- acquisition


async def test_welcome_series(client: TestClient, services: Services, clock: ManualClock, drive: Drive,
                              outbox: Outbox) -> None:
    await install("welcome-series")
    await newsletter_signup(client)  # Ravi, interest=blog
    await newsletter_signup(client, b"email=ana.lima%40example.com&first_name=Ana&consent=yes&website=")
    await drive()
    assert await subjects(outbox, "ravi.kumar@example.com") == ["Welcome to Acme Audio, Ravi"]
    assert await subjects(outbox, "ana.lima@example.com") == ["Welcome to Acme Audio, Ana"]
    await advance(clock, drive, 2)
    ravi = await received(outbox, "ravi.kumar@example.com")
    assert [str(m["Subject"]) for m in ravi][1] == "Ravi, our five most-read posts to start with"
    assert "Read the blog" in text_of(ravi[1])
    assert (await subjects(outbox, "ana.lima@example.com"))[1] == "Ana, meet the pieces people come back for"
    await shopify_order(client, services, "ana.lima@example.com", "Ana", clock.now())
    await drive()
    await advance(clock, drive, 5)
    ana = await enrollment("welcome-series", "ana.lima@example.com")
    assert (ana.state, ana.exit_reason) == (EnrollmentState.EXITED, "converted")
    ravi_run = await enrollment("welcome-series", "ravi.kumar@example.com")
    assert ravi_run.state == EnrollmentState.COMPLETED
    tags = (await Contact.get(email="ravi.kumar@example.com")).tags
    assert {"blog-subscriber", "welcome-no-purchase", "newsletter"} <= set(tags)
    assert len(await outbox()) == 4


async def test_topic_follow_up(client: TestClient, services: Services, clock: ManualClock, drive: Drive,
                               outbox: Outbox, workspace: Workspace) -> None:
    await install("topic-follow-up")
    await post_form(client, "content-download", {"email": "leo.martin@example.com", "first_name": "Leo",
                                                 "topic": "cold-brew", "consent": True})
    await drive()
    first = await received(outbox, "leo.martin@example.com")
    assert [str(m["Subject"]) for m in first] == ["Your guide to cold brew is ready"]
    download = await Message.get(template="topic-follow-up-1")
    assert "https://acme-audio.example/guides/cold-brew" in download.links
    assert not download.marketing  # the requested download: no List-Unsubscribe, no cap
    await advance(clock, drive, 3)
    second = (await received(outbox, "leo.martin@example.com"))[1]
    assert str(second["Subject"]) == "More on cold brew: three reads worth your time"
    await click_first_link(client, second)  # he keeps reading: tagged engaged
    await drive()
    assert "engaged" in (await Contact.get(email="leo.martin@example.com")).tags
    await advance(clock, drive, 7)
    assert (await subjects(outbox, "leo.martin@example.com"))[2] == "Ready to put cold brew into practice, Leo?"
    run = await enrollment("topic-follow-up", "leo.martin@example.com")
    assert run.state == EnrollmentState.COMPLETED
    person = await Contact.get(email="leo.martin@example.com")
    assert "content-reader" in person.tags and person.lifecycle_stage == LifecycleStage.LEAD


async def test_industry_track_stops_the_welcome(client: TestClient, services: Services, clock: ManualClock,
                                               drive: Drive, outbox: Outbox) -> None:
    await install("welcome-series", "industry-track")
    await newsletter_signup(client)
    await drive()
    assert await subjects(outbox, "ravi.kumar@example.com") == ["Welcome to Acme Audio, Ravi"]
    clock.advance(dt.timedelta(hours=2))
    await track(client, services, {"type": "track", "email": "ravi.kumar@example.com", "event": "link.clicked",
                                   "properties": {"href": "https://acme-audio.example/industries/healthcare"},
                                   "timestamp": clock.now().isoformat()})
    await drive()
    welcome = await enrollment("welcome-series", "ravi.kumar@example.com")
    assert (welcome.state, welcome.exit_reason) == (EnrollmentState.EXITED, "stopped by industry-track")
    # industry-track (priority 20) outranks the welcome series: the welcome sent two hours ago does
    # not count against its cap, so industry-1 goes now rather than a day later.
    assert len(await outbox()) == 2
    first = (await received(outbox, "ravi.kumar@example.com"))[1]
    assert str(first["Subject"]) == "How Acme Audio works for healthcare"
    assert "how we work with healthcare" in text_of(first)
    await advance(clock, drive, 3)
    story = (await subjects(outbox, "ravi.kumar@example.com"))[2]
    assert story == "A healthcare story: what changed after they switched"
    await post_form(client, "contact-sales", {"email": "ravi.kumar@example.com", "message": "Call me"},
                    secret="form-secret-contact-sales")
    await drive()
    await advance(clock, drive, 10)
    run = await enrollment("industry-track", "ravi.kumar@example.com")
    assert (run.state, run.exit_reason) == (EnrollmentState.EXITED, "converted")
    assert len(await outbox()) == 3  # no welcome-2 and no third industry email
    assert "industry-track" in (await Contact.get(email="ravi.kumar@example.com")).tags


async def test_lead_nurture_to_mql(client: TestClient, services: Services, clock: ManualClock, drive: Drive,
                                   outbox: Outbox, slack: SlackApiDouble, workspace: Workspace) -> None:
    await install("lead-nurture")
    email = "maria.rossi@example.com"
    await Contact.create(email=email, first_name="Maria", owner="UREP1", consent=Consent.SUBSCRIBED)
    await post_form(client, "ebook", {"email": email, "topic": "logistics"})
    await drive()
    first_run = await enrollment("lead-nurture", email)
    assert (first_run.state, first_run.exit_reason) == (EnrollmentState.EXITED, "first conversion recorded")
    person = await Contact.get(email=email)
    assert "offer-converted" in person.tags and person.lifecycle_stage == LifecycleStage.LEAD
    assert await outbox() == []
    clock.advance(DAY)
    await post_form(client, "webinar", {"email": email, "session": "spring"})
    await drive()
    assert await subjects(outbox, email) == ["Maria, how three customers got results in their first month"]
    await track(client, services, page(email, "/pricing", clock.now(), "Pricing"),
                page(email, "/pricing/teams", clock.now(), "Pricing for teams"))
    await drive()
    await advance(clock, drive, 4)
    await advance(clock, drive, 5)
    await advance(clock, drive, 3)
    assert await subjects(outbox, email) == [
        "Maria, how three customers got results in their first month",
        "The buyer's checklist: 7 questions to ask before you choose",
        "See it with your own use case, Maria"]
    person = await Contact.get(email=email)
    assert person.lifecycle_stage == LifecycleStage.MQL and "mql" in person.tags
    channel, said = posted(slack)[-1]
    assert channel == "DREP1" and "Maria is now a marketing-qualified lead" in said
    runs = await Enrollment.filter(journey__key="lead-nurture").order_by("id")
    assert [r.state for r in runs] == [EnrollmentState.EXITED, EnrollmentState.COMPLETED]
    await post_form(client, "ebook", {"email": email, "topic": "again"})
    await drive()
    assert await Enrollment.filter(journey__key="lead-nurture").count() == 2  # in nurture once


async def test_hot_lead_alert(client: TestClient, services: Services, clock: ManualClock, drive: Drive,
                              slack: SlackApiDouble) -> None:
    await install("hot-lead-alert")
    await Contact.create(email="wei.chen@example.com", first_name="Wei", owner="UREP2", consent=Consent.SUBSCRIBED)
    await track(client, services, page("wei.chen@example.com", "/demo", clock.now(), "Book a demo"))
    await drive()
    task = await Task.get(kind=TaskKind.HOT_LEAD)
    assert task.assignee == "UREP2"
    channel, said = posted(slack)[0]
    assert channel == "DREP2" and "Wei is looking at Book a demo (lead score 31)" in said
    person = await Contact.get(email="wei.chen@example.com")
    assert person.lifecycle_stage == LifecycleStage.MQL and "hot-lead" in person.tags and person.lead_score >= 31
    clock.advance(dt.timedelta(days=2))
    await track(client, services, page("wei.chen@example.com", "/pricing", clock.now(), "Pricing"))
    await drive()
    assert await Task.filter(kind=TaskKind.HOT_LEAD).count() == 1  # once a week at most
    assert (await enrollment("hot-lead-alert", "wei.chen@example.com")).state == EnrollmentState.COMPLETED


async def test_hot_lead_alert_when_the_score_crosses_the_threshold(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, slack: SlackApiDouble
) -> None:
    await install("hot-lead-alert")
    await Contact.create(email="omar.haddad@example.com", first_name="Omar", owner="UREP1", lead_score=49,
                         consent=Consent.SUBSCRIBED)
    await track(client, services, page("omar.haddad@example.com", "/blog/room-acoustics", clock.now(), "Acoustics"))
    await drive()  # +1 for the page: the built-in hot-lead segment is entered
    task = await Task.get(kind=TaskKind.HOT_LEAD)
    assert task.assignee == "UREP1" and await Task.filter(kind=TaskKind.HOT_LEAD).count() == 1
    channel, said = posted(slack)[0]
    assert channel == "DREP1" and "Omar crossed the hot-lead threshold (lead score 70)" in said


async def test_hot_lead_alert_on_a_contact_sales_form(
    client: TestClient, services: Services, drive: Drive, slack: SlackApiDouble
) -> None:
    await install("hot-lead-alert")
    await post_form(client, "contact-sales", {"email": "maria.rossi@example.com", "first_name": "Maria",
                                              "message": "Pricing for 25 units?"}, secret="form-secret-contact-sales")
    await drive()
    assert await Task.filter(kind=TaskKind.HOT_LEAD).count() == 1
    channel, said = posted(slack)[0]
    assert channel == "C0SALES"  # no owner yet: the sales channel
    assert "Maria asked sales to get in touch (contact-sales form) (lead score 35)" in said


async def _approved_quote(client: TestClient, services: Services, drive: Drive, slack: SlackApiDouble,
                          email: str) -> Task:
    await Contact.create(email=email, first_name="Maria", owner="UREP1", consent=Consent.SUBSCRIBED)
    await post_form(client, "quote-request", {"email": email, "company": "Rossi Logistica", "units": 25})
    await drive()
    task = await Task.get(kind=TaskKind.QUOTE_APPROVAL)
    assert task.assignee == "UREP1"
    assert "Your quote from Acme Audio" in json.dumps(slack.called("chat.postMessage")[0].params["blocks"])
    await price_quote(client, services, slack, task.id, task.slack_ts or "",
                      {"l0_title": "Studio monitors (pair)", "l0_price": "430"})
    await interact(client, services, click("quote_approve", f"task:{task.id}", "UREP1", "DREP1", task.slack_ts or ""))
    # The builder's save updated the message already: wait for the approval itself.
    await eventually(lambda: Task.exists(id=task.id, status=TaskStatus.APPROVED))
    await drive()
    return task


async def test_quote_request(client: TestClient, services: Services, clock: ManualClock, drive: Drive,
                             outbox: Outbox, slack: SlackApiDouble, workspace: Workspace) -> None:
    await install("quote-request")
    email = "maria.rossi@example.com"
    await _approved_quote(client, services, drive, slack, email)
    quote = (await received(outbox, email))[0]
    assert str(quote["Subject"]) == "Your quote from Acme Audio"
    assert quote["From"].addresses[0].display_name == "Kenji Sato"
    text = text_of(quote)
    assert "Studio monitors (pair) | 25 | $430.00 | $10,750.00" in text and "Kenji Sato" in text  # priced, signed
    assert re.search(r"Accept this quote \(https?://\S+\)", text)
    await advance(clock, drive, 3)
    await advance(clock, drive, 7)
    assert await subjects(outbox, email) == ["Your quote from Acme Audio", "Following up on your quote, Maria",
                                             "Any questions about your quote, Maria?"]
    await advance(clock, drive, 14)
    run = await enrollment("quote-request", email)
    assert run.state == EnrollmentState.COMPLETED  # quote-no-purchase is not live: nothing started
    person = await Contact.get(email=email)
    assert person.lifecycle_stage == LifecycleStage.SQL and "quote-requested" in person.tags


async def test_quote_no_purchase_quarterly_touch(client: TestClient, services: Services, clock: ManualClock,
                                                 drive: Drive, outbox: Outbox, slack: SlackApiDouble,
                                                 workspace: Workspace) -> None:
    await install("quote-request", "quote-no-purchase")
    email = "maria.rossi@example.com"
    await _approved_quote(client, services, drive, slack, email)
    for days in (3, 7, 14):
        await advance(clock, drive, days)
    touch = await enrollment("quote-no-purchase", email)
    assert touch.state == EnrollmentState.WAITING
    assert "quoted-no-purchase" in (await Contact.get(email=email)).tags
    await advance(clock, drive, 30)
    assert (await subjects(outbox, email))[3:] == ["A quick check-in from Acme Audio, Maria"]
    await advance(clock, drive, 90)
    assert (await subjects(outbox, email))[4:] == ["What's new at Acme Audio this quarter"]
    call = await Task.get(kind=TaskKind.CALL)
    assert call.assignee == "UREP1"
    channel, said = posted(slack)[-1]
    assert channel == "DREP1" and "asked for a quote six months ago" in said
    await shopify_order(client, services, email, "Maria", clock.now(), total="2400.00")
    await drive()
    touch = await enrollment("quote-no-purchase", email)
    assert (touch.state, touch.exit_reason) == (EnrollmentState.EXITED, "converted")
    await advance(clock, drive, 90)
    assert len(await received(outbox, email)) == 5


# --------------------------------------------------------------------------------- customers


async def test_new_customer_onboarding(client: TestClient, services: Services, clock: ManualClock, drive: Drive,
                                       outbox: Outbox) -> None:
    await install("new-customer-onboarding")
    email = "hana.sato@example.com"
    number = await shopify_order(client, services, email, "Hana", clock.now())
    await drive()
    assert await outbox() == []
    person = await Contact.get(email=email)
    assert person.lifecycle_stage == LifecycleStage.CUSTOMER and "onboarding" in person.tags
    await advance(clock, drive, 1)
    welcome = (await received(outbox, email))[0]
    assert str(welcome["Subject"]) == "Welcome to the Acme Audio family, Hana"
    assert f"#{number % 10000}" in text_of(welcome) and "Daily Contact Lenses (30 pack)" in text_of(welcome)
    for days in (4, 7, 10):
        await advance(clock, drive, days)
    assert await subjects(outbox, email) == [
        "Welcome to the Acme Audio family, Hana", "Getting the most from your new things, Hana",
        "Help is always close by, Hana", "What customers pair with their first order"]
    run = await enrollment("new-customer-onboarding", email)
    assert run.state == EnrollmentState.COMPLETED
    tags = (await Contact.get(email=email)).tags
    assert "onboarded" in tags and "onboarding" not in tags


async def test_first_purchase_coupon(client: TestClient, services: Services, clock: ManualClock, drive: Drive,
                                     outbox: Outbox) -> None:
    await install("first-purchase-coupon")
    pool = await upsert_pool("first-order-thanks", "15% off your next order")
    await add_codes(pool, ["THANKS-A1", "THANKS-B2"])
    await shopify_order(client, services, "hana.sato@example.com", "Hana", clock.now())
    await shopify_order(client, services, "leo.martin@example.com", "Leo", clock.now() + dt.timedelta(minutes=5))
    await drive()
    hana = (await received(outbox, "hana.sato@example.com"))[0]
    leo = (await received(outbox, "leo.martin@example.com"))[0]
    assert str(hana["Subject"]) == "Thank you for your order, Hana: here's something for next time"
    # Both orders are worked concurrently, so which contact draws which code is not fixed: each
    # gets one code of the pool, and never the same one.
    hana_code, leo_code = (next(c for c in ("THANKS-A1", "THANKS-B2") if c in text_of(m)) for m in (hana, leo))
    assert {hana_code, leo_code} == {"THANKS-A1", "THANKS-B2"}
    assert "15% off your next order" in text_of(hana)
    await advance(clock, drive, 10)
    await shopify_order(client, services, "hana.sato@example.com", "Hana", clock.now())
    await drive()
    run = await enrollment("first-purchase-coupon", "hana.sato@example.com")
    assert (run.state, run.exit_reason) == (EnrollmentState.EXITED, "converted")
    await advance(clock, drive, 11)
    reminder = (await received(outbox, "leo.martin@example.com"))[1]
    assert str(reminder["Subject"]) == "Your thank-you code is still waiting, Leo"
    assert leo_code in text_of(reminder)
    assert len(await received(outbox, "hana.sato@example.com")) == 1
    assert (await enrollment("first-purchase-coupon", "leo.martin@example.com")).state == EnrollmentState.COMPLETED


async def test_loyalty_program(client: TestClient, services: Services, clock: ManualClock, drive: Drive,
                               outbox: Outbox, slack: SlackApiDouble, workspace: Workspace) -> None:
    await install("loyalty-program")
    pool = await upsert_pool("loyalty-tier-up", "Free delivery on your next order")
    await add_codes(pool, ["TIERUP-1", "TIERUP-2"])  # handed out in code order
    email = "hana.sato@example.com"
    await shopify_order(client, services, email, "Hana", clock.now(), total="120.00")
    await drive()
    welcome = (await received(outbox, email))[0]
    assert str(welcome["Subject"]) == "You've earned your first 120 points, Hana"
    assert "Bronze" in text_of(welcome)
    clock.advance(2 * DAY)
    await shopify_order(client, services, email, "Hana", clock.now(), total="400.00")
    await drive()
    silver = (await received(outbox, email))[1]
    assert str(silver["Subject"]) == "Welcome to Silver, Hana: your new perks are live"
    assert "TIERUP-1" in text_of(silver) and "520 points" in text_of(silver)
    assert posted(slack) == []
    clock.advance(2 * DAY)
    await shopify_order(client, services, email, "Hana", clock.now(), total="1500.00")
    await drive()
    gold = (await received(outbox, email))[2]
    assert str(gold["Subject"]) == "Welcome to Gold, Hana: your new perks are live" and "TIERUP-2" in text_of(gold)
    channel, said = posted(slack)[0]
    assert channel == "C0SALES" and "Hana just reached gold" in said and "2020 points" in said
    person = await Contact.get(email=email)
    assert (person.loyalty_tier, person.loyalty_points) == ("gold", 2020)
    assert {"loyalty-member", "loyalty-upgraded"} <= set(person.tags)
    runs = await Enrollment.filter(journey__key="loyalty-program")
    assert len(runs) == 3 and all(r.state == EnrollmentState.COMPLETED for r in runs)


async def test_milestone_rewards(client: TestClient, services: Services, clock: ManualClock, drive: Drive,
                                 outbox: Outbox, slack: SlackApiDouble) -> None:
    await install("milestone-rewards")
    await add_codes(await upsert_pool("milestone-5", "10% off, for your 5th order"), ["FIVE-ORDERS-1"])
    await add_codes(await upsert_pool("milestone-10", "25% off, for your 10th order"), ["TEN-ORDERS-1"])
    email = "hana.sato@example.com"
    for number in range(1, 11):
        await shopify_order(client, services, email, "Hana", clock.now(), total="30.00")
        await advance(clock, drive, 1)
        if number == 4:
            assert await outbox() == []
        if number == 5:
            fifth = await received(outbox, email)
            assert [str(m["Subject"]) for m in fifth] == ["Order number 5! A thank-you from all of us, Hana"]
            assert "FIVE-ORDERS-1" in text_of(fifth[0]) and posted(slack) == []
    tenth = (await received(outbox, email))[1]
    assert str(tenth["Subject"]) == "Order number 10! A thank-you from all of us, Hana"
    assert "TEN-ORDERS-1" in text_of(tenth) and "25% off, for your 10th order" in text_of(tenth)
    channel, said = posted(slack)[0]
    assert channel == "C0SALES" and "Hana just placed order number 10" in said
    assert {"five-orders", "ten-orders"} <= set((await Contact.get(email=email)).tags)
    assert len(await outbox()) == 2


# --------------------------------------------------------------------------------- engagement


async def test_engagement_tags(client: TestClient, services: Services, clock: ManualClock, drive: Drive,
                               slack: SlackApiDouble) -> None:
    await install("engagement-tags")
    email = "hana.sato@example.com"
    await shopify_order(client, services, email, "Hana", clock.now(), total="80.00")
    await drive()
    assert "engaged" in (await Contact.get(email=email)).tags
    clock.advance(31 * DAY)
    await refresh_contacts(services)  # engaged -> active: tagged by intelligence, nothing to say
    await drive()
    assert posted(slack) == []
    clock.advance(60 * DAY)
    await refresh_contacts(services)  # active -> inactive
    await drive()
    person = await Contact.get(email=email)
    assert {"inactive", "went-inactive"} <= set(person.tags)
    channel, said = posted(slack)[0]
    assert channel == "C0SALES" and "Hana has gone quiet" in said and "orders: 1" in said
    await track(client, services, page(email, "/collections/new", clock.now()))
    await drive()
    person = await Contact.get(email=email)
    assert "re-engaged" in person.tags and "went-inactive" not in person.tags and "active" in person.tags
    assert "Hana is back: active again" in posted(slack)[1][1]
    runs = await Enrollment.filter(journey__key="engagement-tags")
    assert len(runs) == 3 and all(r.state == EnrollmentState.COMPLETED for r in runs)


async def test_engagement_reward(client: TestClient, services: Services, clock: ManualClock, drive: Drive,
                                 outbox: Outbox) -> None:
    await install("engagement-reward")
    await add_codes(await upsert_pool("engagement-reward", "A free gift with your next order"), ["ENGAGED-42"])
    email = "hana.sato@example.com"
    for _ in range(3):  # 10 engagement points per order
        await shopify_order(client, services, email, "Hana", clock.now())
    await drive()
    assert await Enrollment.all().count() == 0
    views = [page(email, f"/blog/post-{i}", clock.now() + dt.timedelta(minutes=i)) for i in range(25)]
    await track(client, services, *views)
    await drive()
    sent = await received(outbox, email)
    assert [str(m["Subject"]) for m in sent] == ["You're one of our most engaged readers, Hana: this is for you"]
    assert "ENGAGED-42" in text_of(sent[0]) and "A free gift with your next order" in text_of(sent[0])
    person = await Contact.get(email=email)
    assert person.engagement_score == 0 and "engagement-rewarded" in person.tags  # the score starts again
    run = await enrollment("engagement-reward", email)
    assert run.state == EnrollmentState.COMPLETED
    clock.advance(DAY)
    await track(client, services, *[page(email, f"/blog/more-{i}", clock.now()) for i in range(60)])
    await drive()
    assert await Enrollment.all().count() == 1  # earned again, but at most once per 90 days


async def test_unengaged_reset_pauses_other_journeys(client: TestClient, services: Services, clock: ManualClock,
                                                     drive: Drive, outbox: Outbox) -> None:
    await install("welcome-series", "unengaged-reset")
    await upsert_pool("reset-welcome-back", "10% off, welcome back", generate_prefix="BACK-")
    email, quiet = "ravi.kumar@example.com", "ana.lima@example.com"
    # Three earlier campaigns went unopened for both; the two welcome emails make five.
    await Contact.create(email=email, first_name="Ravi", consecutive_unopened=3, consent=Consent.SUBSCRIBED)
    await Contact.create(email=quiet, first_name="Ana", consecutive_unopened=3, consent=Consent.SUBSCRIBED)
    await newsletter_signup(client)
    await newsletter_signup(client, b"email=ana.lima%40example.com&first_name=Ana&consent=yes&website=")
    await drive()
    await advance(clock, drive, 2)
    assert len(await received(outbox, email)) == 2
    assert (await Contact.get(email=email)).consecutive_unopened == 5
    assert await scan_time_triggers(services, clock.now()) == 2
    await drive()
    welcome = await enrollment("welcome-series", email)
    assert welcome.state == EnrollmentState.PAUSED
    await advance(clock, drive, 1)  # the reset email waited for the one-a-day cap
    sent = await received(outbox, email)
    assert str(sent[2]["Subject"]) == "Ravi, do you still want to hear from us?"
    assert "Choose what I get" in text_of(sent[2])
    await advance(clock, drive, 7)
    second = (await received(outbox, email))[3]
    assert str(second["Subject"]) == "What you missed at Acme Audio (and a little welcome back)"
    assert "BACK-" in text_of(second) and "10% off, welcome back" in text_of(second)
    reset_mail = await Message.get(template="unengaged-reset-2", contact__email=email)
    await open_email(client, services, reset_mail)
    await drive()
    reset = await enrollment("unengaged-reset", email)
    # An open ends the series but is no conversion (privacy proxies open every image): a click is.
    assert (reset.state, reset.exit_reason) == (EnrollmentState.EXITED, "exit_on: email.opened")
    welcome = await enrollment("welcome-series", email)
    assert welcome.state in (EnrollmentState.WAITING, EnrollmentState.COMPLETED)  # the paused run goes on
    await advance(clock, drive, 5)
    assert (await enrollment("welcome-series", email)).state == EnrollmentState.COMPLETED
    assert (await Contact.get(email=email)).consecutive_unopened == 0
    # Ana never opens anything: after the last check she is tagged and her other journeys stop.
    await advance(clock, drive, 5)
    await advance(clock, drive, 7)
    assert (await subjects(outbox, quiet))[2:] == [
        "Ana, do you still want to hear from us?", "What you missed at Acme Audio (and a little welcome back)",
        "We'll write less often, Ana"]
    stopped = await enrollment("welcome-series", quiet)
    assert (stopped.state, stopped.exit_reason) == (EnrollmentState.EXITED, "stopped by unengaged-reset")
    assert (await enrollment("unengaged-reset", quiet)).state == EnrollmentState.COMPLETED
    tags = (await Contact.get(email=quiet)).tags
    assert "unengaged" in tags and "reset-series" not in tags
    assert len(await received(outbox, email)) == 4


async def test_win_back(client: TestClient, services: Services, clock: ManualClock, drive: Drive,
                        outbox: Outbox) -> None:
    await install("win-back")
    await shopify_order(client, services, "hana.sato@example.com", "Hana", clock.now())
    await shopify_order(client, services, "leo.martin@example.com", "Leo", clock.now())
    await drive()
    clock.advance(89 * DAY)
    assert await scan_time_triggers(services, clock.now()) == 0
    clock.advance(2 * DAY)
    assert await scan_time_triggers(services, clock.now()) == 2
    await drive()
    assert await subjects(outbox, "hana.sato@example.com") == ["It's been a while, Hana"]
    await open_email(client, services, await Message.get(contact__email="leo.martin@example.com"))
    await drive()
    leo = await enrollment("win-back", "leo.martin@example.com")
    # Re-engaged, which ends the drip; only an order would count as the win-back's conversion.
    assert (leo.state, leo.exit_reason) == (EnrollmentState.EXITED, "exit_on: email.opened")
    for _ in range(3):
        await advance(clock, drive, 60)
    assert await subjects(outbox, "hana.sato@example.com") == [
        "It's been a while, Hana", "Still here for you, Hana: what's new", "A few favourites we think you'd like",
        "Should we stop writing, Hana?"]
    headings = ["We've missed you", "A lot has changed since your last visit", "Our customers' favourites",
                "Is this goodbye?"]
    for mail, heading in zip(await received(outbox, "hana.sato@example.com"), headings, strict=True):
        assert heading in text_of(mail)  # four different emails, not one body under four subjects
    await advance(clock, drive, 14)
    hana = await Contact.get(email="hana.sato@example.com")
    assert hana.consent == Consent.UNSUBSCRIBED and "winback-unsubscribed" in hana.tags
    assert (await enrollment("win-back", "hana.sato@example.com")).state == EnrollmentState.COMPLETED
    assert len(await received(outbox, "leo.martin@example.com")) == 1
