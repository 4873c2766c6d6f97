"""Links inside sent emails: open pixel, click redirect, unsubscribe page and RFC 8058 one-click.

Every URL carries a token signed for its purpose (emails/tokens.py). A click redirects only
to the target recorded in Message.links when the email was rendered, so a tampered token
can never turn this host into an open redirect. Opens, clicks and unsubscribes become
events through pipeline.ingest.ingest, like every other event, so journeys see them.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import uuid
from typing import Any

from aiohttp import web

from contacts.events import NormalizedEvent
from contacts.models import Consent, Contact, SuppressionReason
from contacts.suppression import suppress
from core.errors import BadRequest, NotFound
from core.services import Services
from emails.i18n import html_lang
from emails.library import shared_library
from emails.models import Message
from emails.tokens import TokenError, verify
from pipeline.consent import confirmation, contact_to_confirm
from pipeline.ingest import ingest
from webhooks.keys import SERVICES

log = logging.getLogger(__name__)

# The smallest transparent GIF (43 bytes).
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
NO_STORE = {"Cache-Control": "no-store, max-age=0"}


def token_data(services: Services, purpose: str, token: str) -> dict[str, Any]:
    try:
        data = verify(services.settings.secret_key, purpose, token)
    except TokenError as error:
        raise BadRequest(f"invalid link: {error}") from None
    if not isinstance(data.get("m"), int):
        raise BadRequest("invalid link: no message")
    return data


async def _ingest(services: Services, event: NormalizedEvent) -> None:

    await ingest(services, [event])


def _email_event(kind: str, key: str, message: Message, contact: Contact, at: dt.datetime,
                 **properties: Any) -> NormalizedEvent:
    return NormalizedEvent(
        type=kind, source="email", idempotency_key=key, occurred_at=at,
        email=contact.email,
        properties={"message_id": message.message_id, "provider": "nurture", "recipient": message.to_email,
                    **properties},
    )


async def _record(services: Services, message: Message, kind: str, key: str, **properties: Any) -> None:
    """The event (once per key) and the message's first-open/first-click time."""
    now = services.clock.now()
    contact: Contact | None = message.contact
    if contact is not None and contact.email:  # an erased contact has no email: nothing to record on
        await _ingest(services, _email_event(kind, key, message, contact, now, **properties))
    await Message.filter(id=message.id, opened_at__isnull=True).update(opened_at=now)
    if kind == "email.clicked":
        await Message.filter(id=message.id, clicked_at__isnull=True).update(clicked_at=now)


async def open_pixel(request: web.Request) -> web.Response:
    """Always the GIF: a broken image in someone's inbox helps nobody, whatever the token."""
    services = request.app[SERVICES]
    try:
        data = token_data(services, "open", request.match_info["token"])
        message = await Message.get_or_none(id=data["m"]).prefetch_related("contact")
        if message is not None:
            await _record(services, message, "email.opened", f"email.opened:{message.id}")
    except BadRequest:
        pass
    except Exception:  # recording is best effort here; the image must still load
        log.exception("recording an open failed")
    return web.Response(body=PIXEL, content_type="image/gif", headers=NO_STORE)


async def click(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    data = token_data(services, "click", request.match_info["token"])
    index = data.get("i")
    message = await Message.get_or_none(id=data["m"]).prefetch_related("contact")
    if message is None or not isinstance(index, int) or not 0 <= index < len(message.links):
        raise NotFound("this link is no longer available")
    target = str(message.links[index])
    try:
        await _record(services, message, "email.clicked", f"email.clicked:{message.id}:{index}",
                      url=target, link_index=index)
    except Exception:  # the reader still gets where they clicked
        log.exception("recording a click failed")
    raise web.HTTPFound(target, headers=NO_STORE)


async def _unsubscribe_target(services: Services, token: str) -> tuple[Message | None, Contact | None, str]:
    data = token_data(services, "unsub", token)
    message = await Message.get_or_none(id=data["m"])
    contact_id = data.get("c")
    contact = await Contact.get_or_none(id=contact_id) if isinstance(contact_id, int) else None
    address = (contact.email if contact is not None else None) or (message.to_email if message else "")
    if not address:
        raise NotFound("this unsubscribe link is no longer valid")
    return message, contact, address


def tr(language: str, message: str, **values: str) -> str:
    """A page's `message` in `language`, from the emails' catalogs (extracted as `tr` calls), with
    `values` escaped into its `%(name)s` places."""
    translated = shared_library().translate(message, language)
    return translated % {key: html.escape(value) for key, value in values.items()} if values else translated


def page_language(services: Services, message: Message | None, contact: Contact | None) -> str:
    """The language of the email the link came from, else the contact's (as its emails would be)."""
    if message is not None and message.locale:
        return message.locale
    return shared_library().language_for(contact.locale if contact else "", services.workspace.languages.default)


def page(title: str, body: str, language: str = "en") -> web.Response:
    document = (
        f"<!doctype html><html lang='{html.escape(html_lang(language))}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;max-width:32rem;"
        "margin:4rem auto;padding:0 1rem;color:#2d2a26}button{font-size:1rem;padding:.6rem 1.4rem}"
        f"</style></head><body>{body}</body></html>"
    )
    return web.Response(text=document, content_type="text/html", headers=NO_STORE)


def brand_name(services: Services) -> str:
    return services.workspace.brand.get("name") or "our emails"


async def unsubscribe_page(request: web.Request) -> web.Response:
    """GET never unsubscribes: link scanners fetch every URL in a message."""
    services = request.app[SERVICES]
    message, contact, address = await _unsubscribe_target(services, request.match_info["token"])
    lang, brand = page_language(services, message, contact), brand_name(services)
    label = tr(lang, "Unsubscribe")
    return page(tr(lang, "Unsubscribe from %(brand)s", brand=brand), (
        f"<h1>{label}</h1><p>"
        + tr(lang, "You're about to unsubscribe <b>%(address)s</b> from %(brand)s marketing emails.",
             address=address, brand=brand)
        + f"</p><form method='post' action='{html.escape(request.path)}'>"
        "<input type='hidden' name='List-Unsubscribe' value='One-Click'>"
        f"<button type='submit'>{label}</button></form>"
    ), lang)


async def unsubscribe(request: web.Request) -> web.Response:
    """RFC 8058 one-click (body `List-Unsubscribe=One-Click`) and the page's form post."""
    services = request.app[SERVICES]
    message, contact, address = await _unsubscribe_target(services, request.match_info["token"])
    await unsubscribe_from_marketing(services, message, contact, address)
    return unsubscribed_page(services, page_language(services, message, contact), address)


def unsubscribed_page(services: Services, lang: str, address: str) -> web.Response:
    return page(tr(lang, "Unsubscribed"), (
        "<h1>" + tr(lang, "You're unsubscribed") + "</h1><p>"
        + tr(lang, "%(address)s will no longer receive marketing emails from %(brand)s.", address=address,
             brand=brand_name(services)) + "</p>"
    ), lang)


async def unsubscribe_from_marketing(services: Services, message: Message | None, contact: Contact | None,
                                     address: str) -> None:
    """All marketing stops for the address: the contact's consent (an event journeys see) and a suppression."""
    if contact is not None and contact.email and contact.consent != Consent.UNSUBSCRIBED:
        await _ingest(services, NormalizedEvent(
            type="consent.updated", source="email",
            # Unique per unsubscribe action: a later re-subscribe and unsubscribe must count again.
            idempotency_key=f"email.unsubscribe:{message.id if message else 0}:{uuid.uuid4().hex}",
            occurred_at=services.clock.now(), email=contact.email, consent=Consent.UNSUBSCRIBED,
            properties={"state": Consent.UNSUBSCRIBED.value, "source": "email",
                        "message_id": message.message_id if message else ""},
        ))
    await suppress(services.settings.secret_key, address, SuppressionReason.UNSUBSCRIBE,
                   f"unsubscribe link of message {message.id if message else '?'}")


async def _to_confirm(services: Services, request: web.Request) -> Contact:
    contact = await contact_to_confirm(services, request.match_info["token"])
    if contact is None:
        raise NotFound("this confirmation link is no longer valid")
    return contact


async def confirm_page(request: web.Request) -> web.Response:
    """GET never subscribes anyone (link scanners fetch every URL): the button posts."""
    services = request.app[SERVICES]
    contact = await _to_confirm(services, request)
    lang, brand = page_language(services, None, contact), brand_name(services)
    return page(tr(lang, "Confirm your subscription to %(brand)s", brand=brand), (
        "<h1>" + tr(lang, "Subscribe again?") + "</h1><p>"
        + tr(lang, "Confirm that <b>%(address)s</b> would like %(brand)s emails again.", address=contact.email or "",
             brand=brand)
        + f"</p><form method='post' action='{html.escape(request.path)}'><button type='submit'>"
        + tr(lang, "Yes, subscribe me") + "</button></form>"
    ), lang)


async def confirm(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    contact = await _to_confirm(services, request)
    if contact.consent != Consent.SUBSCRIBED:
        await _ingest(services, confirmation(services, contact))
    lang = page_language(services, None, contact)
    return page(tr(lang, "Subscribed"), (
        "<h1>" + tr(lang, "You're subscribed") + "</h1><p>"
        + tr(lang, "%(address)s will get emails from %(brand)s again. Every email has a link to stop them.",
             address=contact.email or "", brand=brand_name(services)) + "</p>"
    ), lang)


def register(app: web.Application) -> None:
    app.router.add_get("/o/{token}.gif", open_pixel)
    app.router.add_get("/c/{token}", click)
    app.router.add_get("/u/{token}", unsubscribe_page)
    app.router.add_post("/u/{token}", unsubscribe)
    app.router.add_get("/confirm/{token}", confirm_page)
    app.router.add_post("/confirm/{token}", confirm)
