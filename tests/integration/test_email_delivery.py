"""Sending through real SMTP: the embedded sink via the worker, and in-test aiosmtpd servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from contacts.models import Consent, Contact, SuppressionReason
from contacts.suppression import is_suppressed, suppress
from core.services import Services
from emails.models import Message, MessageStatus
from emails.samples import sample_context
from emails.transport import SmtpTarget, SmtpTransport
from journeys.delivery import deliver, queue_email

Outbox = Callable[[], Awaitable[list[Any]]]


class ScriptedHandler:
    """Answers DATA with the scripted replies in order, then 250; keeps what it accepted."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.accepted: list[bytes] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        reply = self.replies.pop(0) if self.replies else "250 OK queued as T1"
        if reply.startswith("250"):
            self.accepted.append(envelope.original_content or b"")
        return reply


async def _serve(handler: ScriptedHandler) -> tuple[asyncio.Server, SmtpTransport]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="scripted"), host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    return server, SmtpTransport(SmtpTarget(host="127.0.0.1", port=port), pool_size=1, timeout=5)


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[..., Awaitable[tuple[ScriptedHandler, SmtpTransport]]]]:
    started: list[tuple[asyncio.Server, SmtpTransport]] = []

    async def start(*replies: str) -> tuple[ScriptedHandler, SmtpTransport]:
        handler = ScriptedHandler(*replies)
        server, transport = await _serve(handler)
        started.append((server, transport))
        return handler, transport

    yield start
    for server, transport in started:
        await transport.close()
        server.close()
        await server.wait_closed()


async def _contact(email: str = "ravi.kumar@example.com", **fields: Any) -> Contact:
    defaults: dict[str, Any] = {"first_name": "Ravi", "last_name": "Kumar", "consent": Consent.SUBSCRIBED}
    return await Contact.create(email=email, **{**defaults, **fields})


async def _queue(services: Services, contact: Contact, key: str = "enr:1:1", **fields: Any) -> Message:
    return await queue_email(services, send_key=key, contact=contact, template="cart-reminder",
                             context=sample_context(), **fields)


async def test_a_queued_message_becomes_exactly_one_email(
    services: Services, run_worker: Callable[[], Awaitable[int]], outbox: Outbox
) -> None:
    contact = await _contact()
    first = await _queue(services, contact, from_name="Sam Patel", reply_to="Sam Patel <sam@acme-audio.example>")
    again = await _queue(services, contact)  # same send key: same row, no second email
    assert again.id == first.id
    await run_worker()
    received = await outbox()
    assert len(received) == 1
    mail = received[0]
    message = await Message.get(id=first.id)
    assert message.status == MessageStatus.SENT and message.sent_at is not None and message.attempts == 1
    assert mail["Message-ID"] == message.message_id
    assert mail["To"].addresses[0].addr_spec == "ravi.kumar@example.com"
    assert mail["From"].addresses[0].display_name == "Sam Patel"
    assert mail["From"].addresses[0].addr_spec == "hello@nurture.invalid"  # the configured sender
    assert str(mail["Reply-To"]) == "Sam Patel <sam@acme-audio.example>"
    public = services.settings.public_url
    assert mail["List-Unsubscribe"].startswith(f"<{public}/u/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = mail.get_body(("html",)).get_content()
    assert html.count(f'href="{public}/c/') == len(message.links) > 0
    assert "https://shop.example.com/cart/recover/c7f3a9" in message.links
    assert "Ravi" in mail["Subject"]


async def test_a_sent_message_is_not_sent_again(services: Services, outbox: Outbox) -> None:
    message = await _queue(services, await _contact())
    assert (await deliver(services, message.id)).status == MessageStatus.SENT
    assert (await deliver(services, message.id)).status == MessageStatus.SENT  # idempotent
    assert len(await outbox()) == 1


async def test_451_then_250_delivers_once_after_a_retry(services: Services, scripted: Any) -> None:
    handler, transport = await scripted("451 4.3.0 Try again later")
    message = await _queue(services, await _contact())
    first = await deliver(services, message.id, mailer=transport)
    assert first.status == MessageStatus.QUEUED and first.retry_in is not None and first.retry_in > 0
    after_first = await Message.get(id=message.id)
    assert after_first.attempts == 1 and "451" in after_first.error and after_first.message_id
    second = await deliver(services, message.id, mailer=transport)  # what arq's Retry would run
    assert second.status == MessageStatus.SENT
    sent = await Message.get(id=message.id)
    assert sent.status == MessageStatus.SENT and sent.attempts == 2
    assert sent.message_id == after_first.message_id  # the retry reused the stored Message-ID
    assert len(handler.accepted) == 1
    assert f"Message-ID: {sent.message_id}".encode() in handler.accepted[0]


async def test_550_fails_and_suppresses_the_address(services: Services, scripted: Any) -> None:
    handler, transport = await scripted("550 5.1.1 No such user here")
    message = await _queue(services, await _contact())
    outcome = await deliver(services, message.id, mailer=transport)
    assert outcome.status == MessageStatus.FAILED
    failed = await Message.get(id=message.id)
    assert failed.status == MessageStatus.FAILED and "550" in failed.error
    hit = await is_suppressed(services.settings.secret_key, "ravi.kumar@example.com")
    assert hit is not None and hit.reason == SuppressionReason.HARD_BOUNCE
    assert handler.accepted == []


@pytest.mark.parametrize("how", ["suppressed", "unsubscribed"])
async def test_blocked_contacts_are_skipped_never_sent(
    services: Services, run_worker: Callable[[], Awaitable[int]], outbox: Outbox, how: str
) -> None:
    contact = await _contact(consent=Consent.UNSUBSCRIBED if how == "unsubscribed" else Consent.SUBSCRIBED)
    if how == "suppressed":
        await suppress(services.settings.secret_key, contact.email or "", SuppressionReason.COMPLAINT)
    message = await _queue(services, contact)
    await run_worker()
    skipped = await Message.get(id=message.id)
    assert skipped.status == MessageStatus.SKIPPED
    assert ("unsubscribed" if how == "unsubscribed" else "suppressed") in skipped.error
    assert await outbox() == []


async def test_names_with_commas_quotes_and_brackets_keep_one_address_per_header(
    services: Services, run_worker: Callable[[], Awaitable[int]], outbox: Outbox
) -> None:
    # Long enough to be folded: the stock folder wrote such names unquoted, several addresses.
    first = 'Rossi, Maria "The Boss" <boss@evil.example>, and friends of a very long company name'
    contact = await _contact("maria.rossi@example.com", first_name=first, last_name="Ltd., <x@evil.example>")
    rep = 'Patel, Sam "Sales" <sam@evil.example>, Team Lead for the North-East region and more'
    await _queue(services, contact, key="names:1", from_name=rep, reply_to="sam.patel@acme-audio.example")
    kana = await _contact("kenji@example.com", first_name="佐藤, 健二 <sales@evil.example>" * 3, last_name="")
    await _queue(services, kana, key="names:2", from_name="営業, チーム <x@evil.example>" * 3)
    await run_worker()
    received = {mail["To"].addresses[0].addr_spec: mail for mail in await outbox()}
    assert set(received) == {"maria.rossi@example.com", "kenji@example.com"}
    for to, mail in received.items():
        for header, spec in (("To", to), ("From", "hello@nurture.invalid")):
            (only,) = mail[header].addresses
            assert only.addr_spec == spec
    assert received["maria.rossi@example.com"]["To"].addresses[0].display_name == f"{first} Ltd., <x@evil.example>"
    assert received["maria.rossi@example.com"]["From"].addresses[0].display_name == rep
    (reply,) = received["maria.rossi@example.com"]["Reply-To"].addresses
    assert reply.addr_spec == "sam.patel@acme-audio.example"
