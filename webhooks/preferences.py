"""The "Email preferences" page every marketing email links to: a signed link, no login.

The contact switches email topics (workspace `topics`) on and off, or unsubscribes from all
marketing. GET only shows the form (link scanners fetch every URL); POST saves, as an event
(`preferences.updated`) through the pipeline like every other change, so the trace shows it.
"""

from __future__ import annotations

import html
import uuid

from aiohttp import web

from contacts.derived import TOPICS_OFF
from contacts.events import NormalizedEvent
from contacts.models import Contact
from core.errors import NotFound
from core.services import Services
from emails.models import Message
from pipeline.ingest import ingest
from webhooks.email_links import (
    brand_name,
    page,
    page_language,
    token_data,
    tr,
    unsubscribe_from_marketing,
    unsubscribed_page,
)
from webhooks.keys import SERVICES

UNSUBSCRIBE_ALL = "unsubscribe_all"


async def _target(services: Services, token: str) -> tuple[Message | None, Contact]:
    data = token_data(services, "prefs", token)
    contact = await Contact.get_or_none(id=data.get("c")) if isinstance(data.get("c"), int) else None
    if contact is None or not contact.email:
        raise NotFound("this preferences link is no longer valid")
    message = await Message.get_or_none(id=data["m"]) if isinstance(data.get("m"), int) else None
    return message, contact


def _form(services: Services, contact: Contact, action: str, lang: str, saved: bool = False) -> str:
    """Topic labels are the store's words (workspace file), shown as written."""
    off = set(contact.attributes.get(TOPICS_OFF) or [])
    boxes = "".join(
        f"<p><label><input type='checkbox' name='topic' value='{html.escape(key)}'"
        f"{'' if key in off else ' checked'}> {html.escape(label)}</label></p>"
        for key, label in services.workspace.topics.items())
    note = "<p><b>" + tr(lang, "Saved.") + "</b></p>" if saved else ""
    return ("<h1>" + tr(lang, "Email preferences") + f"</h1>{note}<p>"
            + tr(lang, "For <b>%(address)s</b>: choose what %(brand)s may send you.", address=contact.email or "",
                 brand=brand_name(services))
            + f"</p><form method='post' action='{html.escape(action)}'>{boxes}"
            f"<p><label><input type='checkbox' name='{UNSUBSCRIBE_ALL}' value='1'> "
            + tr(lang, "Unsubscribe from all marketing emails")
            + "</label></p><button type='submit'>" + tr(lang, "Save") + "</button></form>")


async def preferences_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    message, contact = await _target(services, request.match_info["token"])
    lang = page_language(services, message, contact)
    return page(tr(lang, "Email preferences"), _form(services, contact, request.path, lang), lang)


async def save_preferences(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    message, contact = await _target(services, request.match_info["token"])
    lang = page_language(services, message, contact)
    form = await request.post()
    if form.get(UNSUBSCRIBE_ALL):
        await unsubscribe_from_marketing(services, message, contact, contact.email or "")
        return unsubscribed_page(services, lang, contact.email or "")
    wanted = {str(value) for value in form.getall("topic", [])}
    switched_off = sorted(key for key in services.workspace.topics if key not in wanted)
    await ingest(services, [NormalizedEvent(
        type="preferences.updated", source="email", idempotency_key=f"preferences:{contact.id}:{uuid.uuid4().hex}",
        occurred_at=services.clock.now(), email=contact.email,
        properties={"topics_off": switched_off, "message_id": message.message_id if message else ""})])
    await contact.refresh_from_db()
    return page(tr(lang, "Email preferences"), _form(services, contact, request.path, lang, saved=True), lang)


def register(app: web.Application) -> None:
    app.router.add_get("/p/{token}", preferences_page)
    app.router.add_post("/p/{token}", save_preferences)
