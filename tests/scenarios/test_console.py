"""The console in a browser's place (aiohttp's client keeps the cookie): sign in by a single-use link,
journeys with their numbers, a journey drawn by Graphviz with live counts on its steps, and the
buttons only editors may press, each form with its CSRF token."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlparse

import yaml
from aiohttp.test_utils import TestClient

from console.auth import login_link, logout_all
from contacts.events import NormalizedEvent
from contacts.models import Consent, Contact, Event
from core.clock import ManualClock
from core.services import Services
from emails.samples import sample_context
from inbox.models import DeliveryStatus, InboundDelivery
from journeys import library
from journeys.delivery import queue_email
from journeys.models import Journey, JourneyStatus, TraceEntry
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from pipeline.ingest import ingest
from tests.doubles.slack_api import SlackApiDouble
from tests.scenarios.slack_support import calls, click, command, eventually, interact

Drive = Callable[[], Awaitable[int]]


def _path(url: str) -> str:
    return urlparse(url).path


async def _sign_in(client: TestClient, services: Services, user: str, link: str = "") -> None:
    link = link or _path(login_link(services, user))
    shown = await client.get(link)
    assert shown.status == 200 and "Sign in" in await shown.text()
    signed = await client.post(link, allow_redirects=False)
    assert signed.status == 303 and signed.headers["Location"] == "/console/"
    cookie = signed.cookies["nurture_console"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/console"


async def _carts(services: Services, drive: Drive, clock: ManualClock, people: int) -> None:
    await library.install("abandoned-cart")
    await publish("abandoned-cart")
    for n in range(people):
        await ingest(services, [NormalizedEvent(
            type="checkout.abandoned", source="shopify", idempotency_key=f"cart-{n}", occurred_at=clock.now(),
            email=f"buyer{n}@example.com", object_key=f"checkout:c{n}",
            properties={"token": f"c{n}", "line_items": [], "total_price": "20.00", "currency": "EUR"})])
    await drive()


async def test_a_single_use_link_signs_in_and_the_journeys_show_their_numbers(
    client: TestClient, services: Services, drive: Drive, clock: ManualClock,
) -> None:
    await _carts(services, drive, clock, 3)
    anonymous = await client.get("/console/")
    assert anonymous.status == 401 and "nurture console link" in await anonymous.text()
    link = _path(login_link(services, "UREP1"))
    await _sign_in(client, services, "UREP1", link)
    again = await client.post(link, allow_redirects=False)
    assert again.status == 400 and "used already" in await again.text()
    listed = await client.get("/console/")
    html = await listed.text()
    assert listed.status == 200 and "Abandoned cart recovery" in html
    row = re.search(r'<tr data-journey="abandoned-cart">(.*?)</tr>', html, re.S)
    assert row and re.findall(r'<td class="num">(\d+|–)</td>', row.group(1)) == ["1", "3", "3", "0"]
    assert listed.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert listed.headers["X-Frame-Options"] == "DENY"


async def test_an_expired_or_forged_link_is_refused(client: TestClient, services: Services,
                                                    clock: ManualClock) -> None:
    link = _path(login_link(services, "UREP1"))
    forged = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    assert (await client.post(forged, allow_redirects=False)).status == 400
    clock.advance(dt.timedelta(minutes=11))
    late = await client.post(link, allow_redirects=False)
    assert late.status == 400 and "expired" in await late.text()
    assert (await client.get("/console/")).status == 401


async def test_the_journey_is_drawn_with_its_live_counts(client: TestClient, services: Services, drive: Drive,
                                                        clock: ManualClock) -> None:
    await _carts(services, drive, clock, 2)
    clock.advance(dt.timedelta(hours=2))
    await drive()  # the reminders went out: both wait for a click now
    await _sign_in(client, services, "UREP1")
    html = await (await client.get("/console/journeys/abandoned-cart")).text()
    if shutil.which("dot"):  # Graphviz (`.ci/run` installs Debian's package where apt is available)
        assert '<div class="diagram" id="diagram">\n<svg' in html
        drawn = html[html.index("<svg"):html.index("</svg>")]
        assert 'id="step_1"' in drawn and 'xlink:href="#step-1"' in drawn
    else:  # without it the page says how to get the drawing and shows the DOT source
        assert "apt install graphviz" in html
        drawn = html[html.index("<pre>digraph"):]
    assert "Email: cart reminder" in drawn and "passed 2" in drawn
    assert "waiting 2" in drawn and "entered 2" in drawn  # the trigger box, and the wait for a click
    assert re.search(r'id="step-1" data-passed="2" data-waiting="0"', html)
    assert 'href="/console/emails/cart-reminder"' in html and "Pause" not in html  # not an editor


async def test_a_step_s_words_cannot_put_markup_in_the_page(client: TestClient, services: Services) -> None:
    document = yaml.safe_load((library.TEMPLATES / "abandoned-cart.yml").read_text())
    document["steps"][0] = {**document["steps"][0], "name": "<script>alert(1)</script> & co"}
    spec = load_spec(yaml.safe_dump(document))
    await import_spec(spec)
    await publish(spec.key)
    await _sign_in(client, services, "UREP1")
    html = await (await client.get("/console/journeys/abandoned-cart")).text()
    assert "<script>" not in html and "&lt;script&gt;" in html


async def test_only_editors_publish_pause_and_resume_and_every_form_needs_its_token(
    client: TestClient, services: Services,
) -> None:
    await library.install("abandoned-cart")
    await publish("abandoned-cart")
    await _sign_in(client, services, "UREP1")
    page = await (await client.get("/console/journeys/abandoned-cart")).text()
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert token and 'id="pause"' not in page
    for action in ("pause", "publish"):  # crafted by someone who may not: refused, whatever the token
        crafted = await client.post(f"/console/journeys/abandoned-cart/{action}",
                                    data={"csrf": token.group(1), "policy": "exit"}, allow_redirects=False)
        assert crafted.status == 403
    assert (await Journey.get(key="abandoned-cart")).status == JourneyStatus.LIVE
    client.session.cookie_jar.clear()
    await _sign_in(client, services, "UADMIN")
    page = await (await client.get("/console/journeys/abandoned-cart")).text()
    assert 'id="pause"' in page
    without = await client.post("/console/journeys/abandoned-cart/pause", data={}, allow_redirects=False)
    assert without.status == 403 and "security token" in await without.text()
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert token
    paused = await client.post("/console/journeys/abandoned-cart/pause", data={"csrf": token.group(1)},
                               allow_redirects=False)
    assert paused.status == 303 and (await Journey.get(key="abandoned-cart")).status == JourneyStatus.PAUSED
    page = await (await client.get("/console/journeys/abandoned-cart")).text()
    assert 'id="resume"' in page


async def test_logout_all_ends_every_session(client: TestClient, services: Services) -> None:
    await _sign_in(client, services, "UREP1")
    assert (await client.get("/console/")).status == 200
    await logout_all(services)
    ended = await client.get("/console/")
    assert ended.status == 401 and "signed out" in await ended.text()


async def test_slack_sends_a_sign_in_link_to_whoever_asks(client: TestClient, services: Services,
                                                         slack: SlackApiDouble) -> None:
    answer = await command(client, services, "/nurture", "console", user="UREP2")
    said = await answer.json()
    assert said["response_type"] == "ephemeral" and said["unfurl_links"] is False
    link = re.search(r"<(https?://[^|>]+)\|Open the Nurture console>", said["text"])
    assert link
    await _sign_in(client, services, "UREP2", _path(link.group(1)))
    assert "UREP2" in await (await client.get("/console/")).text()
    wrong = await (await command(client, services, "/nurture", "consol")).json()
    assert "`/nurture console`" in wrong["text"]
    await interact(client, services, click("console_open", "console", "UREP1", "DREP1"))
    dm = (await eventually(calls(slack, "chat.postMessage")))[0].params
    assert dm["channel"] == "UREP1" and "/console/login/" in dm["text"]


async def test_a_contact_s_story_and_the_email_they_got(client: TestClient, services: Services, outbox: Any) -> None:
    person = await Contact.create(email="ilkay@example.com", first_name="İlkay", last_name="Yılmaz", lead_score=40,
                                  consent=Consent.SUBSCRIBED, tags=["vip"], attributes={"segments": ["big-spenders"]})
    await Event.create(contact=person, type="page.viewed", source="tracking", occurred_at=services.clock.now(),
                       idempotency_key="console-test-1",
                       properties={"path": "/pricing"})
    await TraceEntry.create(contact=person, journey_key="welcome-series", at=services.clock.now(), kind="email",
                            message="sent welcome-1")
    sent = await queue_email(services, send_key="console:1", contact=person, template="welcome-1",
                             context=sample_context())
    await Contact.create(email="someone.else@example.com", first_name="Other")
    await _sign_in(client, services, "UREP1")
    by_name = await (await client.get("/console/contacts?q=İlk")).text()
    assert "ilkay@example.com" in by_name and "someone.else" not in by_name
    by_email = await (await client.get("/console/contacts?q=ILKAY@")).text()
    assert f'href="/console/contacts/{person.id}"' in by_email
    story = await (await client.get(f"/console/contacts/{person.id}")).text()
    assert "sent welcome-1" in story and "big-spenders" in story and "vip" in story and "page.viewed" in story
    assert f'href="/console/messages/{sent.id}"' in story and "lead 40" in story
    shown = await client.get(f"/console/messages/{sent.id}")
    assert shown.status == 200 and "<html" in await shown.text()
    assert (await client.get("/console/contacts/999999")).status == 404


async def test_failed_deliveries_are_replayed_by_editors(client: TestClient, services: Services, drive: Drive) -> None:
    headers = {"Content-Type": "application/json", "X-Nurture-Form-Secret": "form-secret-contact-sales"}
    for _ in range(2):  # no email: stored, failed with its error
        await client.post("/webhooks/forms/contact-sales", data=json.dumps({"name": f"x{_}"}), headers=headers)
    await drive()
    failed = await InboundDelivery.filter(status=DeliveryStatus.FAILED).order_by("id")
    assert len(failed) == 2
    await _sign_in(client, services, "UREP1")
    listed = await (await client.get("/console/inbox?status=failed")).text()
    assert "has no valid `email` field" in listed and "Replay" not in listed  # not an editor
    client.session.cookie_jar.clear()
    await _sign_in(client, services, "UADMIN")
    listed = await (await client.get("/console/inbox?provider=forms&status=failed")).text()
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', listed)
    assert token and 'id="replay-all"' in listed
    refused = await client.post(f"/console/inbox/{failed[0].id}/replay", data={}, allow_redirects=False)
    assert refused.status == 403
    one = await client.post(f"/console/inbox/{failed[0].id}/replay", data={"csrf": token.group(1)},
                            allow_redirects=False)
    assert one.status == 303 and one.headers["Location"] == "/console/inbox?replayed=1"
    assert (await InboundDelivery.get(id=failed[0].id)).status == DeliveryStatus.PENDING
    everything = await client.post("/console/inbox/replay", data={"csrf": token.group(1), "provider": "forms"},
                                   allow_redirects=False)
    assert everything.headers["Location"] == "/console/inbox?replayed=1"  # the other one; the first is pending
    await drive()
    again = await InboundDelivery.filter(id__in=[d.id for d in failed])
    assert all(d.status == DeliveryStatus.FAILED and d.attempts > 1 for d in again)  # processed again, still no email
    assert (await client.get("/console/inbox?status=nonsense")).status == 400


async def test_every_email_at_two_widths_in_every_language(client: TestClient, services: Services) -> None:
    await _sign_in(client, services, "UREP1")
    gallery = await client.get("/console/emails?locale=ja")
    html = await gallery.text()
    assert html.count('width="640"') == html.count('width="375"') == len(re.findall(r'<section class="step"', html))
    assert 'src="/console/emails/quote?locale=ja"' in html and "frame-src 'self'" in gallery.headers[
        "Content-Security-Policy"]
    framed = await client.get("/console/emails/quote?locale=ja")
    assert '<html lang="ja"' in await framed.text() and framed.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert (await client.get("/console/emails/no-such-email")).status == 404
