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
from webhooks.email_links import brand_name, page, page_language, tr
from webhooks.keys import SERVICES


def quote_id_of(services: Services, token: str) -> object:
    try:
        return verify(services.settings.secret_key, "quote", token).get("q")
    except TokenError as error:
        raise BadRequest(f"invalid link: {error}") from None


def _off(discount: str) -> str:
    return f" (\N{MINUS SIGN}{html.escape(discount)}%)" if discount else ""


def _table(services: Services, quote: Quote, lang: str) -> str:
    shown = context_of(services, quote)
    currency = shown["currency"]

    def cash(amount: str) -> str:
        return html.escape(money(amount, currency, lang))

    rows = "".join(
        f"<tr><td>{html.escape(str(item['title']))}{_off(item['discount'])}"
        f"</td><td style='text-align:center'>{item['quantity']}</td>"
        f"<td style='text-align:right'>{cash(item['amount'])}</td></tr>"
        for item in shown["items"])
    if shown["tax_included"]:
        label = tr(lang, "Including %(label)s %(rate)s%%", label=shown["tax_label"], rate=shown["tax_rate"])
    else:
        label = html.escape(f"{shown['tax_label']} {shown['tax_rate']}%")
    tax = f"<tr><td colspan='2'>{label}</td><td style='text-align:right'>{cash(shown['tax'])}</td></tr>" \
        if shown["tax"] else ""
    item, qty, amount, total = tr(lang, "Item"), tr(lang, "Qty"), tr(lang, "Amount"), tr(lang, "Total")
    return (f"<table style='width:100%;border-collapse:collapse'><tr><th align='left'>{item}</th>"
            f"<th>{qty}</th><th align='right'>{amount}</th></tr>{rows}{tax}<tr>"
            f"<td colspan='2'><b>{total}</b></td><td style='text-align:right'><b>{cash(shown['total'])}"
            "</b></td></tr></table>")


def _accepted(services: Services, quote: Quote, lang: str) -> str:
    if quote.invoice_url.startswith("https://"):  # from the shop's Admin API, never from a request
        pay = f"<a href='{html.escape(quote.invoice_url)}'>" + tr(lang, "Complete your order") + "</a>"
    elif services.shop is not None:
        pay = tr(lang, "We'll email you the link to complete your order in a moment.")
    else:
        pay = tr(lang, "We'll be in touch shortly to arrange delivery and payment.")
    when = format_date(quote.accepted_at, "", lang)
    return "<p><b>" + tr(lang, "Accepted on %(date)s. Thank you!", date=when) + f"</b></p><p>{pay}</p>"


def _quote_page(services: Services, quote: Quote, action: str, lang: str, note: str = "") -> web.Response:
    title = tr(lang, "Quote %(number)s from %(brand)s", number=quote.number, brand=brand_name(services))
    head = f"<h1>{title}</h1>{note}{_table(services, quote, lang)}"
    if quote.status == QuoteStatus.ACCEPTED:
        return page(title, head + _accepted(services, quote, lang), lang)
    if today(services) > quote.valid_until:
        expired = tr(lang, "This quote expired on %(date)s. Reply to the email it came with and we'll send you a "
                           "new one.", date=format_date(quote.valid_until, "", lang))
        return page(title, f"{head}<p>{expired}</p>", lang)
    held = tr(lang, "These prices are held for you until %(date)s.", date=format_date(quote.valid_until, "", lang))
    return page(title, f"{head}<p>{held}</p><form method='post' action='{html.escape(action)}'>"
                       "<button type='submit'>" + tr(lang, "Accept this quote") + "</button></form>", lang)


def _language(services: Services, quote: Quote) -> str:
    return page_language(services, None, quote.contact)


async def quote_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    quote = await quote_of_token(quote_id_of(services, request.match_info["token"]))
    return _quote_page(services, quote, request.path, _language(services, quote))


async def accept_quote(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    found = await quote_of_token(quote_id_of(services, request.match_info["token"]))
    lang = _language(services, found)
    try:
        quote, accepted = await accept(services, found.id)
    except QuoteExpired:
        return _quote_page(services, found, request.path, lang)
    # Recorded on every accepting POST: a POST retried after a crash between the acceptance and
    # the event still records it, and the keys below keep it to one event and one job.
    await _record(services, quote, found.contact.email or "")
    again = "" if accepted else "<p>" + tr(lang, "You accepted this quote already.") + "</p>"
    return _quote_page(services, quote, request.path, lang, again)


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
