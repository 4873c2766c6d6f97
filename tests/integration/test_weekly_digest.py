"""The weekly digest: posted once a week to the configured channel, with revenue per journey, the
best and worst emails, and what is failing."""

from __future__ import annotations

import dataclasses
import datetime as dt

from bot.digest import post_weekly_digest
from contacts.models import Contact
from core.clock import ManualClock
from core.services import Services
from core.workspace import SlackConfig
from emails.models import Message, MessageStatus
from inbox.models import DeliveryStatus, InboundDelivery
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from tests.doubles.slack_api import SlackApiDouble

JOURNEY = """
key: digested
name: Digested
trigger: {manual: true}
steps:
  - email: test-email
    name: Hello
  - wait: 1d
  - email: test-email
    name: Follow-up
"""


async def test_the_digest_is_posted_once_a_week_with_what_matters(
        services: Services, clock: ManualClock, slack: SlackApiDouble) -> None:
    journey, _ = await import_spec(load_spec(JOURNEY))
    await publish("digested")
    contact = await Contact.create(email="reader@example.com")
    now = clock.now()
    await Message.bulk_create([
        Message(send_key=f"{step}:{n}", journey_ref=journey.id, step_ref=step, contact=contact,
                to_email=contact.email, template="test-email", status=MessageStatus.SENT, queued_at=now,
                clicked_at=now if n < clicks else None)
        for step, clicks in (("0", 10), ("2", 1)) for n in range(25)])
    await Message.create(send_key="broken", contact=contact, to_email="x@example.com", template="test-email",
                         status=MessageStatus.FAILED, queued_at=now)
    await InboundDelivery.create(provider="shopify", external_id="bad", body=b"{}", status=DeliveryStatus.FAILED,
                                 received_at=now)

    quiet = {"services": services}
    assert await post_weekly_digest(quiet) == "no digest channel configured" and not slack.called("chat.postMessage")
    configured = {"services": dataclasses.replace(services, workspace=services.workspace.model_copy(
        update={"slack": SlackConfig(digest_channel="C0DIGEST")}))}
    assert await post_weekly_digest(configured) == "posted to C0DIGEST"
    assert (await post_weekly_digest(configured)).startswith("already posted for week")
    posts = slack.called("chat.postMessage")
    assert len(posts) == 1 and posts[0].params["channel"] == "C0DIGEST"
    text = posts[0].params["text"]
    assert "`digested`: 0 entered, 0 converted, 0 orders" in text
    assert text.index("*Best emails*") < text.index("• Hello (`digested`): 40.0% clicked of 25") \
        < text.index("*Worst emails*") < text.index("• Follow-up (`digested`): 4.0% clicked of 25")
    assert "1 webhook deliveries failed" in text and "1 emails failed to send" in text
    clock.advance(dt.timedelta(days=7))
    assert await post_weekly_digest(configured) == "posted to C0DIGEST"  # the next week's
