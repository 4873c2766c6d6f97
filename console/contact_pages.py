"""Contacts in the console: search by email or name, and one contact's whole story (profile,
consent, scores, tags, segments, events, emails, and the journey trace in words)."""

from __future__ import annotations

from aiohttp import web
from tortoise.expressions import Q

from console.pages import page, session_of
from contacts.models import Contact, Event
from core.addresses import fold_address
from core.errors import NotFound
from emails.library import shared_library
from emails.models import Message
from emails.render import render
from journeys.models import Enrollment, TraceEntry

PAGE = 50  # rows a list shows: newest first, the next page by the last id seen (index-backed)


async def search(text: str, before: int | None) -> list[Contact]:
    """By email (a whole address, or its beginning) or by first or last name (its beginning)."""
    query = Contact.all()
    words = text.strip()
    if "@" in words:
        query = query.filter(email__startswith=fold_address(words))
    elif words:
        query = query.filter(Q(first_name__istartswith=words) | Q(last_name__istartswith=words))
    if before:
        query = query.filter(id__lt=before)
    return await query.order_by("-id").limit(PAGE)


async def contacts(request: web.Request) -> web.Response:
    session = await session_of(request)
    text = request.query.get("q", "")[:200]
    before = int(request.query["before"]) if request.query.get("before", "").isdigit() else None
    found = await search(text, before)
    return page(request, "contacts.html", session, title="Contacts", q=text, contacts=found,
                more=found[-1].id if len(found) == PAGE else None)


async def _contact(request: web.Request) -> Contact:
    contact_id = request.match_info["id"]
    contact = await Contact.get_or_none(id=int(contact_id)) if contact_id.isdigit() else None
    if contact is None:
        raise NotFound("there is no such contact")
    return contact


async def contact(request: web.Request) -> web.Response:
    session = await session_of(request)
    person = await _contact(request)
    events = await Event.filter(contact_id=person.id).order_by("-occurred_at", "-id").limit(PAGE)
    messages = await Message.filter(contact_id=person.id).order_by("-id").limit(PAGE)
    trace = await TraceEntry.filter(contact_id=person.id).order_by("-at", "-id").limit(PAGE)
    runs = await Enrollment.filter(contact_id=person.id).order_by("-id").limit(PAGE).prefetch_related("journey")
    return page(request, "contact.html", session, title=person.email or f"contact {person.id}", contact=person,
                events=events, messages=messages, trace=trace, runs=runs,
                segments=(person.attributes or {}).get("segments") or [])


async def message(request: web.Request) -> web.Response:
    """An email as its contact got it (rendered again from what the message recorded, no tracking)."""
    await session_of(request)
    message_id = request.match_info["id"]
    found = await Message.get_or_none(id=int(message_id)) if message_id.isdigit() else None
    if found is None:
        raise NotFound("there is no such email")
    library = shared_library()
    context = {**found.context, "contact": {"email": found.to_email, **(found.context.get("contact") or {})}}
    rendered = render(library, found.template, context, subject=found.subject or None,
                      locale=found.locale if found.locale in library.languages() else "en")
    return web.Response(text=rendered.html, content_type="text/html")


def register(app: web.Application) -> None:
    app.router.add_get("/contacts", contacts)
    app.router.add_get("/contacts/{id}", contact)
    app.router.add_get("/messages/{id}", message)
