"""Outages of the things around us: the SMTP relay and the Slack Web API go away and come back."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiosmtpd.smtp import SMTP, Envelope, Session

from contacts.models import Consent, Contact, SuppressionReason
from contacts.suppression import is_suppressed
from core.clock import ManualClock
from core.services import Services
from emails.models import Message, MessageStatus
from emails.samples import sample_context
from emails.transport import SmtpTarget, SmtpTransport
from journeys.delivery import MAX_BACKOFF, RETRY_FOR, deliver, enqueue_send, queue_email
from journeys.library import TEMPLATES
from journeys.models import Task, TaskKind
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from tests.doubles.slack_api import SlackApiDouble

Drive = Callable[[], Awaitable[int]]
BAD = "no.such.user@example.com"


class Relay:
    """An aiosmtpd relay on a fixed port that can be stopped and started again; refuses BAD with 550."""

    def __init__(self) -> None:
        self.accepted: list[tuple[list[str], bytes]] = []
        self.server: asyncio.Server | None = None
        self.port = 0
        self.sessions: list[SMTP] = []

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          options: list[str]) -> str:
        if address == BAD:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.accepted.append(([str(r) for r in envelope.rcpt_tos], envelope.original_content or b""))
        return "250 OK queued"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        def session() -> SMTP:
            self.sessions.append(SMTP(self, hostname="relay"))
            return self.sessions[-1]

        self.server = await loop.create_server(session, host="127.0.0.1", port=self.port, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for session in self.sessions:  # the relay is gone: open connections die with it
            if session.transport is not None:
                session.transport.close()
        self.sessions.clear()
        await self.server.wait_closed()
        self.server = None


@pytest.fixture
async def relay(services: Services) -> AsyncIterator[Relay]:
    started = Relay()
    await started.start()
    original = services.mailer
    services.mailer = SmtpTransport(SmtpTarget(host="127.0.0.1", port=started.port), pool_size=2, timeout=3)
    yield started
    await services.mailer.close()
    services.mailer = original
    if started.server is not None:
        await started.stop()


async def _pending_in_due_order() -> list[Message]:
    return await Message.filter(status=MessageStatus.QUEUED).order_by("queued_at", "id")


async def test_smtp_relay_down_then_back_delivers_each_once_in_due_order(
    services: Services, relay: Relay, clock: ManualClock
) -> None:
    start = clock.now()  # queued_at and the retry deadline are on the same clock
    people = [await Contact.create(email=f"reader{i}@example.com", first_name=f"R{i}", consent=Consent.SUBSCRIBED)
              for i in range(40)]
    people.append(await Contact.create(email=BAD, first_name="Nobody", consent=Consent.SUBSCRIBED))
    # Queued in reverse creation order: due-time order is not id order.
    for n, contact in enumerate(reversed(people)):
        await queue_email(services, send_key=f"outage:{contact.id}", contact=contact, template="cart-reminder",
                          context=sample_context(), queued_at=start + dt.timedelta(seconds=n))
    half = await _pending_in_due_order()
    for message in half[:10]:  # the relay works for a while
        assert (await deliver(services, message.id)).status != MessageStatus.QUEUED
    await relay.stop()  # relay down: every attempt is transient, nothing is lost or failed
    for _ in range(2):
        for message in await _pending_in_due_order():
            outcome = await deliver(services, message.id)
            assert outcome.status == MessageStatus.QUEUED and outcome.retry_in, outcome
    await relay.start()  # back on the same port
    for message in await _pending_in_due_order():
        await deliver(services, message.id)
    for message in await _pending_in_due_order():  # a second pass finds nothing left to send
        await deliver(services, message.id)
    rows = await Message.all()
    assert sorted(m.status for m in rows).count(MessageStatus.SENT) == 40
    (failed,) = [m for m in rows if m.status != MessageStatus.SENT]
    assert failed.to_email == BAD and failed.status == MessageStatus.FAILED and "550" in failed.error
    hit = await is_suppressed(services.settings.secret_key, BAD)
    assert hit is not None and hit.reason == SuppressionReason.HARD_BOUNCE
    recipients = [r for rs, _ in relay.accepted for r in rs]
    assert len(recipients) == len(set(recipients)) == 40 and BAD not in recipients
    message_ids = [email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"]
                   for _, raw in relay.accepted]
    assert len(set(message_ids)) == 40
    by_due = [m.to_email for m in sorted(rows, key=lambda m: m.queued_at) if m.to_email != BAD]
    assert recipients == by_due  # delivered in order of due time


async def _retry_through(services: Services, clock: ManualClock, message: Message, outage: dt.timedelta) -> int:
    """Run every retry arq would run while the relay is down, moving the clock by each backoff."""
    tries, end = 0, clock.now() + outage
    while clock.now() < end:
        outcome = await deliver(services, message.id)
        assert outcome.status == MessageStatus.QUEUED, outcome  # never given up on during the outage
        assert outcome.retry_in is not None and 0 < outcome.retry_in <= MAX_BACKOFF
        clock.advance(dt.timedelta(seconds=outcome.retry_in))
        tries += 1
    return tries


async def test_relay_down_for_hours_keeps_retrying_then_delivers_once(
    services: Services, relay: Relay, clock: ManualClock, run_worker: Callable[[], Awaitable[int]]
) -> None:
    contact = await Contact.create(email="patient@example.com", first_name="Pat", consent=Consent.SUBSCRIBED)
    message = await queue_email(services, send_key="long-outage:1", contact=contact, template="cart-reminder",
                                context=sample_context(), queued_at=clock.now())
    await relay.stop()
    tries = await _retry_through(services, clock, message, dt.timedelta(hours=6))
    assert tries > 20  # the old limit gave up after 8 tries (about an hour)
    await relay.start()
    await enqueue_send(services, message.id)  # the job arq still holds (or the sweeper's) runs again
    await run_worker()
    sent = await Message.get(id=message.id)
    assert sent.status == MessageStatus.SENT and sent.attempts == tries + 1
    await enqueue_send(services, message.id)  # a late sweep finds nothing left to send
    await run_worker()
    assert [rcpts for rcpts, _ in relay.accepted] == [["patient@example.com"]]
    received: Any = email.message_from_bytes(relay.accepted[0][1], policy=email.policy.default)
    assert received["Message-ID"] == sent.message_id


async def test_transient_failures_past_the_deadline_fail_without_suppressing(
    services: Services, relay: Relay, clock: ManualClock
) -> None:
    contact = await Contact.create(email="gone@example.com", first_name="Gus", consent=Consent.SUBSCRIBED)
    message = await queue_email(services, send_key="long-outage:2", contact=contact, template="cart-reminder",
                                context=sample_context(), queued_at=clock.now())
    await relay.stop()
    await _retry_through(services, clock, message, RETRY_FOR - dt.timedelta(minutes=20))
    clock.advance(dt.timedelta(minutes=20))
    outcome = await deliver(services, message.id)
    assert outcome.status == MessageStatus.FAILED and outcome.retry_in is None
    assert "3 days" in (await Message.get(id=message.id)).error
    assert await is_suppressed(services.settings.secret_key, "gone@example.com") is None  # the relay, not the address


async def test_550_at_rcpt_is_a_permanent_failure_not_a_retry(services: Services, relay: Relay) -> None:
    contact = await Contact.create(email=BAD, first_name="Nobody", consent=Consent.SUBSCRIBED)
    message = await queue_email(services, send_key="bad:1", contact=contact, template="cart-reminder",
                                context=sample_context())
    outcome = await deliver(services, message.id)
    assert outcome.status == MessageStatus.FAILED and outcome.retry_in is None
    assert relay.accepted == []


async def test_slack_429_and_500_still_deliver_alerts_and_tasks_once(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive
) -> None:
    spec = load_spec((TEMPLATES / "hot-lead-alert.yml").read_text())
    await import_spec(spec)
    await publish(spec.key)
    leads = 4
    for i in range(leads):
        await Contact.create(email=f"lead{i}@example.com", first_name=f"Lead{i}", anonymous_id=f"anon-lead-{i}",
                             owner="UREP1" if i % 2 else None)
    # Every other Web API call fails at first: rate limits with Retry-After and server errors.
    slack.faults.extend([(429, {"Retry-After": "1"}), (500, {}), (503, {}), (429, {"Retry-After": "1"}),
                         (502, {}), (429, {"Retry-After": "1"})])
    headers = {"X-Nurture-Write-Key": services.settings.tracking_write_key, "Content-Type": "application/json"}
    for i in range(leads):
        page = {"type": "page", "anonymous_id": f"anon-lead-{i}", "url": "https://acme-audio.example/pricing",
                "title": "Pricing", "timestamp": "2026-03-10T08:59:00Z"}
        assert (await client.post("/track", data=json.dumps(page), headers=headers)).status == 200
    await drive()
    assert slack.faults == []  # every fault was served
    tasks = await Task.filter(kind=TaskKind.HOT_LEAD)
    assert len(tasks) == leads and all(t.slack_ts for t in tasks)
    posted = slack.called("chat.postMessage")
    assert len(posted) == leads  # once each, despite the retries
    texts = [json.dumps(p.params.get("blocks")) for p in posted]
    for i in range(leads):
        assert sum(f"Lead{i} is looking at Pricing" in t for t in texts) == 1
    assert len({(p.params["channel"], json.dumps(p.params.get("blocks"))) for p in posted}) == leads

