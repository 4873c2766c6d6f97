"""Quotes: drafted from the request an approval task holds, priced by the rep, sent on approval,
accepted by the customer through a signed link.

The approval task's quote is made the first time anyone looks at it (the Slack message, the
builder, the approval) from the request's lines, priced from the catalog where the request names
a product exactly. What the email shows is a snapshot taken at approval: a later edit cannot
change a quote the customer already holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from catalog.search import variant_named
from catalog.shops import current_shop
from core.errors import BadRequest, NotFound
from core.services import Services
from emails.quotes import (
    QuoteLine,
    QuoteTerms,
    TaxRule,
    lines_from_request,
    note_from_request,
    price,
    quote_context,
    request_fields,
)
from emails.tokens import sign
from journeys.engine import zone
from journeys.models import Task
from journeys.quote_models import Quote, QuoteStatus

MAX_LINES = 15  # what one Slack modal holds (100 blocks)


@dataclass(frozen=True)
class QuoteDraft:
    """What the rep set in the builder."""

    lines: tuple[QuoteLine, ...]
    currency: str
    tax_rate: Decimal
    valid_until: dt.date
    note: str


class QuoteExpired(BadRequest):
    """Accepting after valid_until."""


def lines_of(quote: Quote) -> list[QuoteLine]:
    return [QuoteLine.from_json(line) for line in quote.lines]


def terms_of(services: Services, quote: Quote) -> QuoteTerms:
    return QuoteTerms(number=quote.number, currency=quote.currency,
                      tax=TaxRule(Decimal(quote.tax_rate), quote.tax_label, quote.tax_included),
                      valid_until=quote.valid_until, note=quote.note, url=accept_url(services, quote.id),
                      company=quote.company)


def context_of(services: Services, quote: Quote) -> dict[str, Any]:
    """The `quote` an email renders for this quote, with its signed accept link."""
    return quote_context(lines_of(quote), terms_of(services, quote))


def accept_url(services: Services, quote_id: int) -> str:
    token = sign(services.settings.secret_key, "quote", {"q": quote_id})
    return f"{services.settings.public_url.rstrip('/')}/q/{token}"


def today(services: Services) -> dt.date:
    return services.clock.now().astimezone(zone(services.workspace.slack.business_timezone)).date()


async def _currency(services: Services, fields: dict[str, Any]) -> str:
    asked = str(fields.get("currency") or "").strip().upper()
    if len(asked) == 3 and asked.isalpha():
        return asked
    shop = await current_shop()
    return shop.currency.upper() if shop and shop.currency else services.workspace.quotes.currency


async def _priced_from_catalog(lines: list[QuoteLine]) -> list[QuoteLine]:
    priced = []
    for line in lines:
        found = await variant_named(line.title) if line.unit_price is None else None
        priced.append(replace(line, unit_price=found.price, variant_id=found.variant_id) if found else line)
    return priced


async def quote_for_task(services: Services, task: Task) -> Quote:
    """The task's quote, drafted from its request the first time it is asked for."""
    existing = await Quote.get_or_none(task_id=task.id)
    if existing is not None:
        return existing
    event = (task.payload.get("context") or {}).get("event") or {}
    fields = dict(request_fields(event))
    config = services.workspace.quotes
    lines = await _priced_from_catalog(lines_from_request(fields)[:MAX_LINES])
    values: dict[str, Any] = {"contact_id": task.contact_id, "enrollment_ref": task.enrollment_id,
              "currency": await _currency(services, fields), "lines": [line.as_json() for line in lines],
              "tax_rate": config.tax_rate, "tax_label": config.tax_label, "tax_included": config.prices_include_tax,
              "valid_until": today(services) + dt.timedelta(days=max(1, config.valid_for.days)),
              "note": note_from_request(fields), "company": str(fields.get("company") or "")[:255]}
    try:
        quote = await Quote.create(task_id=task.id, **values)
    except IntegrityError:  # drafted at the same moment by another listener: one quote per task
        return await Quote.get(task_id=task.id)
    return await _with_total(quote)


async def _with_total(quote: Quote) -> Quote:
    totals = price(lines_of(quote), quote.currency, TaxRule(Decimal(quote.tax_rate), quote.tax_label,
                                                            quote.tax_included))
    quote.total = totals.total
    await quote.save(update_fields=["total", "updated_at"])
    return quote


async def save_draft(quote_id: int, draft: QuoteDraft, user: str) -> Quote:
    quote = await Quote.get_or_none(id=quote_id)
    if quote is None:
        raise NotFound(f"quote {quote_id} does not exist")
    if quote.status != QuoteStatus.DRAFT:
        raise BadRequest(f"quote {quote.number} was already {quote.status.value}: it can no longer change")
    quote.lines = [line.as_json() for line in draft.lines]
    quote.currency, quote.tax_rate, quote.valid_until = draft.currency, draft.tax_rate, draft.valid_until
    quote.note, quote.priced_by = draft.note, user
    await quote.save()
    return await _with_total(quote)


def unpriced(quote: Quote) -> list[str]:
    return [line.title for line in lines_of(quote) if line.unit_price is None]


async def mark_sent(quote_id: int, now: dt.datetime) -> None:
    await Quote.filter(id=quote_id, status=QuoteStatus.DRAFT).update(status=QuoteStatus.SENT, sent_at=now)


async def mark_rejected(task_id: int) -> None:
    await Quote.filter(task_id=task_id, status=QuoteStatus.DRAFT).update(status=QuoteStatus.REJECTED)


async def quote_of_token(quote_id: object) -> Quote:
    quote = await Quote.get_or_none(id=quote_id).prefetch_related("contact") if isinstance(quote_id, int) else None
    if quote is None or quote.status in (QuoteStatus.DRAFT, QuoteStatus.REJECTED):
        raise NotFound("this quote link is no longer valid")
    return quote


async def accept(services: Services, quote_id: int) -> tuple[Quote, bool]:
    """(the quote, True when this call accepted it); accepting twice is one acceptance."""
    async with in_transaction():
        quote = await Quote.filter(id=quote_id).select_for_update().first()
        if quote is None or quote.status not in (QuoteStatus.SENT, QuoteStatus.ACCEPTED):
            raise NotFound("this quote link is no longer valid")
        if quote.status == QuoteStatus.ACCEPTED:
            return quote, False
        if today(services) > quote.valid_until:
            raise QuoteExpired(f"quote {quote.number} expired on {quote.valid_until:%d %B %Y}")
        quote.status, quote.accepted_at = QuoteStatus.ACCEPTED, services.clock.now()
        await quote.save(update_fields=["status", "accepted_at", "updated_at"])
    return quote, True
