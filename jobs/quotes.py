"""What follows a customer accepting a quote: a draft order in the shop (when one is connected),
an email with its invoice link, and a word to the rep in the approval's thread."""

from __future__ import annotations

from typing import Any

from arq import Retry
from slack_sdk.errors import SlackApiError

from contacts.models import Contact
from core.errors import ShopUnavailable
from core.services import Services
from emails.filters import money
from journeys.delivery import queue_email
from journeys.models import Task
from journeys.quote_models import Quote, QuoteStatus
from journeys.quotes import context_of
from journeys.shop_drafts import make_draft_order

RETRY_IN = 60.0  # seconds: a throttled or unreachable shop is asked again a minute later


async def complete_accepted_quote(ctx: dict[str, Any], *, quote_id: int) -> str:
    services: Services = ctx["services"]
    quote = await Quote.get_or_none(id=quote_id)
    if quote is None or quote.status != QuoteStatus.ACCEPTED:
        return "not accepted"
    if quote.completed_at:
        return "done already"
    try:
        done = await make_draft_order(services, quote)
    except ShopUnavailable:
        raise Retry(defer=RETRY_IN) from None
    task = await Task.get_or_none(id=quote.task_id) if quote.task_id else None
    if quote.invoice_url:
        await _send_invoice(services, quote, task)
    await _tell_rep(services, quote, task, done)
    await Quote.filter(id=quote.id).update(completed_at=services.clock.now())
    return done


async def _send_invoice(services: Services, quote: Quote, task: Task | None) -> None:
    contact = await Contact.get(id=quote.contact_id)
    if not contact.email:
        return
    context = {"quote": context_of(services, quote), "invoice_url": quote.invoice_url,
               "owner_id": (task.decided_by or task.assignee or "") if task else ""}
    await queue_email(services, send_key=f"quote-invoice:{quote.id}", contact=contact, template="quote-invoice",
                      context=context, marketing=False, queued_at=services.clock.now())


async def _tell_rep(services: Services, quote: Quote, task: Task | None, done: str) -> None:
    if task is None or not task.slack_channel or not task.slack_ts or not services.settings.slack_bot_token:
        return
    total = money(quote.total, quote.currency) if quote.total is not None else ""
    text = f":tada: The customer accepted quote {quote.number} ({total}). {done[:1].upper()}{done[1:]}."
    try:
        await services.slack.chat_postMessage(channel=task.slack_channel, thread_ts=task.slack_ts, text=text)
    except SlackApiError:
        return  # the acceptance stands; the rep sees it in the quote's status
