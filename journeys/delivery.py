"""Sending one Message row: skip rules, personalisation, the transport, and what each outcome records.

Every send is a Message row first (unique send_key), so a journey step or a retried job can
ask for the same email twice and one email goes out. `deliver` is what the arq job runs;
it returns an Outcome instead of raising arq's Retry so it can be called directly (CLI,
tests) and the job layer decides how to retry.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError

from contacts.consent import why_not_marketable
from contacts.models import Contact, SuppressionReason
from contacts.suppression import is_suppressed, suppress
from core.queue import enqueue_many
from core.services import Mailer, OutgoingEmail, Services
from emails.compose import parse_address
from emails.drafts import Draft, Sender, personalise
from emails.errors import TemplateError
from emails.library import shared_library
from emails.models import Message, MessageStatus
from emails.render import TemplateLibrary
from emails.transport import PermanentSendError, TransientSendError
from journeys.shop_codes import code_problem

# Transient failures (connection errors, 4xx) are retried until this long after queued_at, as
# MTAs do (RFC 5321 4.5.4.1 suggests 4-5 days): a relay outage of hours or a weekend delays
# mail, it does not lose it. Only a permanent 5xx, or this deadline, fails a message.
RETRY_FOR = dt.timedelta(days=3)
# Backoff doubles from 30 s up to this cap, so mail flows again within minutes of a recovery.
MAX_BACKOFF = 15 * 60
# Suppressions that stop even transactional mail: sending to them hurts every later send.
BLOCKS_ALL_MAIL = {SuppressionReason.HARD_BOUNCE, SuppressionReason.COMPLAINT, SuppressionReason.ERASED}
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "locale", "timezone", "owner",
                  "lifecycle_stage", "loyalty_points", "loyalty_tier", "orders_count")


@dataclass(frozen=True)
class Outcome:
    status: MessageStatus
    detail: str = ""
    retry_in: float | None = None  # set when a transient failure should be retried


def backoff(attempts: int) -> float:
    """Seconds before retry number `attempts`: 30 s, 1 min, 2 min ... capped at 15 min.

    The exponent is bounded too: three days of retries are a few hundred attempts."""
    return float(min(MAX_BACKOFF, 30 * 2 ** min(max(0, attempts - 1), 16)))


def sender_for(services: Services) -> Sender:
    settings = services.settings
    return Sender(public_url=settings.public_url, secret_key=settings.secret_key,
                  mail_from=settings.mail_from, brand=dict(services.workspace.brand))


def contact_fields(contact: Contact | None) -> dict[str, Any]:
    if contact is None:
        return {}
    fields = {name: getattr(contact, name) for name in CONTACT_FIELDS}
    fields["lifecycle_stage"] = str(contact.lifecycle_stage)
    return {**fields, "attributes": dict(contact.attributes), "tags": list(contact.tags)}


def draft_for(message: Message, contact: Contact | None, locale: str = "en") -> Draft:
    return Draft(
        id=message.id, message_id=message.message_id, to=message.to_email, template=message.template,
        context=message.context, contact=contact_fields(contact), contact_id=message.contact_id,  # type: ignore[attr-defined]
        subject=message.subject, marketing=message.marketing, from_name=message.from_name,
        reply_to=message.reply_to, locale=locale,
    )


def language_of(services: Services, message: Message, contact: Contact | None, library: TemplateLibrary) -> str:
    """The journey's language, else the contact's, else the workspace's, else English: the first the
    templates are written in (emails/i18n.py)."""
    return library.language_for(message.locale, contact.locale if contact else "",
                                services.workspace.languages.default)


def new_message_id(mail_from: str) -> str:
    # Our sending domain on the right-hand side, as RFC 5322 recommends for uniqueness.
    try:
        domain = parse_address(mail_from).domain
    except ValueError:
        domain = "nurture"
    return f"<{uuid.uuid4().hex}@{domain}>"


async def skip_reason(services: Services, message: Message, contact: Contact | None) -> str | None:
    """Why this message must not go out, or None."""
    if message.is_test and message.enrollment_ref is not None:
        # A journey test run (/journey test, simulations): recorded, never delivered. A manual
        # `nurture emails send-test` has no enrollment and is meant to reach its inbox.
        return "test run"
    suppressed = await is_suppressed(services.settings.secret_key, message.to_email)
    if message.marketing:
        if contact is not None and (why := why_not_marketable(contact.consent, services.workspace.consent.policy)):
            return why.removeprefix("the ")
        if suppressed is not None:
            return f"address suppressed ({suppressed.reason.value})"
    elif suppressed is not None and suppressed.reason in BLOCKS_ALL_MAIL:
        return f"address suppressed ({suppressed.reason.value})"
    return None


async def _finish(services: Services, message: Message, status: MessageStatus, error: str = "",
                  **changes: Any) -> Outcome:
    # Conditional on `queued`: a concurrent copy of this job that finished first wins.
    await Message.filter(id=message.id, status=MessageStatus.QUEUED).update(
        status=status, error=error[:2000], **changes)
    services.metrics.emails.labels(result=status.value).inc()
    if status == MessageStatus.SENT and message.journey_ref is not None:
        services.metrics.journey_emails.labels(str(message.context.get("journey", ""))).inc()
    return Outcome(status, error)


async def _prepare(services: Services, message: Message, contact: Contact | None,
                   library: TemplateLibrary) -> OutgoingEmail:
    """Personalise, and store the Message-ID and link targets before anything is sent."""
    if not message.message_id:
        message.message_id = new_message_id(services.settings.mail_from)  # reused by every retry
    message.locale = language_of(services, message, contact, library)
    mime, links = personalise(library, draft_for(message, contact, message.locale), sender_for(services))
    message.links = links
    await message.save(update_fields=["message_id", "links", "locale"])
    return mime


async def deliver(services: Services, message_id: int, *, mailer: Mailer | None = None,
                  library: TemplateLibrary | None = None) -> Outcome:
    """Send Message `message_id` once; a message that is not queued is left alone."""
    message = await Message.get_or_none(id=message_id).prefetch_related("contact")
    if message is None:
        return Outcome(MessageStatus.FAILED, "no such message")
    if message.status != MessageStatus.QUEUED:
        return Outcome(message.status, "already handled")
    transport = mailer or services.mailer
    if message.message_id and transport.receipts and await transport.receipts(message.message_id):
        # An earlier attempt was accepted by the relay but died before recording it.
        return await _finish(services, message, MessageStatus.SENT, "accepted before a crash (relay receipt)",
                             attempts=message.attempts + 1, sent_at=dt.datetime.now(dt.UTC))
    contact: Contact | None = message.contact
    reason = await skip_reason(services, message, contact)
    if reason is not None:
        return await _finish(services, message, MessageStatus.SKIPPED, reason)
    if (problem := await code_problem(services, message.context)) is not None:
        if problem.transient:
            return await _transient(services, message, problem.text)
        return await _finish(services, message, MessageStatus.FAILED, problem.text)
    try:
        mime = await _prepare(services, message, contact, library or shared_library())
    except (TemplateError, ValueError) as error:
        return await _finish(services, message, MessageStatus.FAILED, f"cannot render: {error}")
    return await _send(services, message, mime, transport)


async def _send(services: Services, message: Message, mime: OutgoingEmail, mailer: Mailer) -> Outcome:
    try:
        answer = await mailer.send(mime)
    except TransientSendError as error:
        return await _transient(services, message, str(error))
    except PermanentSendError as error:
        if error.bad_mailbox:
            await suppress(services.settings.secret_key, message.to_email, SuppressionReason.HARD_BOUNCE, str(error))
        return await _finish(services, message, MessageStatus.FAILED, str(error), attempts=message.attempts + 1)
    return await _finish(services, message, MessageStatus.SENT, attempts=message.attempts + 1,
                         sent_at=dt.datetime.now(dt.UTC), provider_id=str(answer)[:300])


def _waited(services: Services, message: Message) -> dt.timedelta:
    """How long the message has been queued, on the clock that stamped queued_at."""
    queued_at = message.queued_at
    if queued_at.tzinfo is None:  # stored naive on some backends: always UTC
        queued_at = queued_at.replace(tzinfo=dt.UTC)
    return services.clock.now() - queued_at


async def _transient(services: Services, message: Message, error: str) -> Outcome:
    attempts = message.attempts + 1
    if _waited(services, message) >= RETRY_FOR:
        return await _finish(services, message, MessageStatus.FAILED,
                             f"gave up after {attempts} tries over {RETRY_FOR.days} days: {error}", attempts=attempts)
    await Message.filter(id=message.id).update(attempts=attempts, error=error[:2000])
    services.metrics.emails.labels(result="retry").inc()
    return Outcome(MessageStatus.QUEUED, error, retry_in=backoff(attempts))


async def enqueue_send(services: Services, *message_ids: int) -> int:
    # The job id makes a second enqueue of the same message a no-op while the first exists. Through
    # the atomic script, as arq's enqueue_job drops a job without a word if its connection dies.
    jobs = [("send_email", {"message_id": message_id}, f"email:{message_id}") for message_id in message_ids]
    return await enqueue_many(services.redis, jobs)


async def create_message(*, send_key: str, contact: Contact | None, to_email: str, template: str,
                         context: dict[str, Any], **fields: Any) -> Message:
    """The Message for `send_key`, created once; a second call returns the first row."""
    existing = await Message.get_or_none(send_key=send_key)
    if existing is not None:
        return existing
    fields.setdefault("queued_at", dt.datetime.now(dt.UTC))
    try:
        return await Message.create(send_key=send_key, contact=contact, to_email=to_email,
                                    template=template, context=context, **fields)
    except IntegrityError:
        return await Message.get(send_key=send_key)  # created concurrently: same send


async def queue_email(services: Services, *, send_key: str, contact: Contact, template: str,
                      context: dict[str, Any], marketing: bool = True, subject: str = "",
                      from_name: str = "", reply_to: str = "", queued_at: dt.datetime | None = None) -> Message:
    """Record the send (idempotent on send_key) and enqueue it. `queued_at` is the caller's clock
    (journeys run on virtual time in simulations); default now."""
    if not contact.email:
        raise ValueError(f"contact {contact.id} has no email address")
    message = await create_message(
        send_key=send_key, contact=contact, to_email=contact.email, template=template, context=context,
        marketing=marketing, subject=subject, from_name=from_name, reply_to=reply_to,
        queued_at=queued_at or dt.datetime.now(dt.UTC),
    )
    if message.status == MessageStatus.QUEUED:
        await enqueue_send(services, message.id)
    return message
