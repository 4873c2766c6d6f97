"""The page a quote's "Accept" button opens: a signed link, no login.

GET shows the quote and an Accept button (link scanners fetch every URL in an email: a GET never
accepts); POST accepts it once, records `quote.accepted` through the pipeline (a journey goal, in
the contact's trace) and queues what follows: a Shopify draft order and its invoice, and a word
to the rep (jobs/quotes.py).
"""

from __future__ import annotations

import html

from aiohttp import web

from contacts.events import NormalizedEvent
from core.errors import BadRequest
from core.queue import enqueue_many
from core.services import Services
from emails.filters import format_date, money
from emails.tokens import TokenError, verify
from journeys.quote_models import Quote, QuoteStatus
from journeys.quotes import QuoteExpired, accept, context_of, quote_of_token, today
from pipeline.ingest import ingest
from webhooks.email_links import brand_name, page
from webhooks.keys import SERVICES


def quote_id_of(services: Services, token: str) -> object:
    try:
        return verify(services.settings.secret_key, "quote", token).get("q")
    except TokenError as error:
        raise BadRequest(f"invalid link: {error}") from None


def _off(discount: str) -> str:
    return f" (\N{MINUS SIGN}{html.escape(discount)}%)" if discount else ""


def _table(services: Services, quote: Quote) -> str:
    shown = context_of(services, quote)
    currency = shown["currency"]
    rows = "".join(
        f"<tr><td>{html.escape(str(item['title']))}{_off(item['discount'])}"
        f"</td><td style='text-align:center'>{item['quantity']}</td>"
        f"<td style='text-align:right'>{html.escape(money(item['amount'], currency))}</td></tr>"
        for item in shown["items"])
    tax = (f"<tr><td colspan='2'>{html.escape(shown['tax_label'])} {html.escape(shown['tax_rate'])}%"
           f"{' included' if shown['tax_included'] else ''}</td><td style='text-align:right'>"
           f"{html.escape(money(shown['tax'], currency))}</td></tr>" if shown["tax"] else "")
    return (f"<table style='width:100%;border-collapse:collapse'><tr><th align='left'>Item</th><th>Qty</th>"
            f"<th align='right'>Amount</th></tr>{rows}{tax}<tr><td colspan='2'><b>Total</b></td>"
            f"<td style='text-align:right'><b>{html.escape(money(shown['total'], currency))}</b></td></tr></table>")


def _quote_page(services: Services, quote: Quote, action: str, note: str = "") -> web.Response:
    title = f"Quote {quote.number} from {brand_name(services)}"
    head = f"<h1>{html.escape(title)}</h1>{note}{_table(services, quote)}"
    if quote.status == QuoteStatus.ACCEPTED:
        if quote.invoice_url.startswith("https://"):  # from the shop's Admin API, never from a request
            pay = f"<p><a href='{html.escape(quote.invoice_url)}'>Complete your order</a></p>"
        elif services.shop is not None:
            pay = "<p>We'll email you the link to complete your order in a moment.</p>"
        else:
            pay = "<p>We'll be in touch shortly to arrange delivery and payment.</p>"
        return page(title, f"{head}<p><b>Accepted on {format_date(quote.accepted_at)}.</b> Thank you!</p>{pay}")
    if today(services) > quote.valid_until:
        return page(title, f"{head}<p>This quote expired on {format_date(quote.valid_until)}. Reply to the email "
                           "it came with and we'll send you a new one.</p>")
    return page(title, f"{head}<p>Prices held until {format_date(quote.valid_until)}.</p>"
                       f"<form method='post' action='{html.escape(action)}'>"
                       "<button type='submit'>Accept this quote</button></form>")


async def quote_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    quote = await quote_of_token(quote_id_of(services, request.match_info["token"]))
    return _quote_page(services, quote, request.path)


async def accept_quote(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    found = await quote_of_token(quote_id_of(services, request.match_info["token"]))
    try:
        quote, accepted = await accept(services, found.id)
    except QuoteExpired:
        return _quote_page(services, found, request.path)
    # Recorded on every accepting POST: a POST retried after a crash between the acceptance and
    # the event still records it, and the keys below keep it to one event and one job.
    await _record(services, quote, found.contact.email or "")
    return _quote_page(services, quote, request.path, "" if accepted else "<p>You accepted this quote already.</p>")


async def _record(services: Services, quote: Quote, email: str) -> None:
    shown = context_of(services, quote)
    await ingest(services, [NormalizedEvent(
        type="quote.accepted", source="quote", idempotency_key=f"quote-accepted:{quote.id}",
        occurred_at=quote.accepted_at or services.clock.now(), email=email,
        properties={"quote_id": quote.id, "number": quote.number, "total": shown["total"],
                    "currency": quote.currency, "items": len(shown["items"])})])
    await enqueue_many(services.redis, [("complete_accepted_quote", {"quote_id": quote.id},
                                         f"quote-accepted:{quote.id}")])


def register(app: web.Application) -> None:
    app.router.add_get("/q/{token}", quote_page)
    app.router.add_post("/q/{token}", accept_quote)
