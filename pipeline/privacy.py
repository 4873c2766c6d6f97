"""GDPR: export everything we hold about a person, and erase it everywhere.

Erasure removes the contact with its events, messages, tasks, enrollments and
outbox files; only a keyed hash stays on the suppression list, so the address is
never emailed again and cannot be read back.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from tortoise.expressions import Q, Subquery

from contacts.events import NormalizedEvent
from contacts.export import contact_profile
from contacts.models import (
    Checkout,
    Contact,
    Erasure,
    Event,
    Order,
    ProductInterest,
    Suppression,
    SuppressionReason,
)
from contacts.suppression import email_hash, suppress
from core.errors import UnprocessablePayload
from core.files import private_dir, write_private
from core.queue import enqueue_many
from core.services import Services
from emails.models import Message, OutboxMessage
from inbox.models import InboundDelivery
from journeys.models import Enrollment, Task, TraceEntry

log = logging.getLogger(__name__)


async def _find(event: NormalizedEvent) -> list[Contact]:
    found: dict[int, Contact] = {}
    if event.email:
        for contact in await Contact.filter(email=event.email):
            found[contact.id] = contact
    if event.shopify_customer_id is not None:
        for contact in await Contact.filter(shopify_customer_id=event.shopify_customer_id):
            found[contact.id] = contact
    return list(found.values())


async def export_contact(contact: Contact) -> dict[str, Any]:
    profile = await contact_profile(contact, events=100_000)
    profile["orders"] = [
        {"id": o.shopify_id, "name": o.name, "total_price": str(o.total_price), "currency": o.currency,
         "line_items": o.line_items, "placed_at": o.placed_at.isoformat()}
        for o in await Order.filter(contact=contact)
    ]
    profile["messages"] = [
        {"template": m.template, "subject": m.subject, "status": m.status.value,
         "sent_at": m.sent_at.isoformat() if m.sent_at else None}
        for m in await Message.filter(contact=contact)
    ]
    profile["interests"] = [
        {"product": i.product_key, "views": i.views, "purchases": i.purchases}
        for i in await ProductInterest.filter(contact=contact)
    ]
    profile["tasks"] = [
        {"kind": t.kind.value, "status": t.status.value, "payload": t.payload}
        for t in await Task.filter(contact=contact)
    ]
    profile["checkouts"] = [
        {"token": c.token, "total_price": str(c.total_price), "currency": c.currency, "line_items": c.line_items,
         "recovery_url": c.recovery_url, "completed_at": c.completed_at.isoformat() if c.completed_at else None}
        for c in await Checkout.filter(contact=contact)
    ]
    profile["enrollments"] = [
        {"journey": e.journey_id, "state": e.state.value, "cursor": e.cursor,  # type: ignore[attr-defined]
         "entered_at": e.entered_at.isoformat() if e.entered_at else None, "exit_reason": e.exit_reason}
        for e in await Enrollment.filter(contact=contact)
    ]
    profile["trace"] = [
        {"at": t.at.isoformat(), "journey": t.journey_key, "kind": t.kind, "message": t.message}
        for t in await TraceEntry.filter(contact=contact).order_by("at", "id")
    ]
    return profile


def _check_shop(services: Services, event: NormalizedEvent) -> None:
    """A privacy request for another shop than the one this workspace serves erases and exports nothing."""
    ours = services.settings.shopify_shop_domain.strip().lower()
    named = str(event.properties.get("shop_domain") or "").strip().lower()
    if ours and named != ours:
        raise UnprocessablePayload(
            f"privacy request for shop {named!r}, but this workspace serves {ours!r} "
            "(NURTURE_SHOPIFY_SHOP): refused, nothing erased")


async def data_requested(services: Services, event: NormalizedEvent) -> None:
    _check_shop(services, event)
    contacts = await _find(event)
    export = {"request": event.properties, "contacts": [await export_contact(c) for c in contacts]}
    directory = services.settings.var_dir / "exports"
    private_dir(directory)
    name = f"{event.idempotency_key.replace(':', '_').replace('/', '_')}.json"
    write_private(directory / name, json.dumps(export, indent=2, default=str).encode())
    log.info("privacy export written to %s", directory / name)


async def _remove_outbox_files(messages: list[Message]) -> None:
    ids = [m.message_id for m in messages if m.message_id]
    for row in await OutboxMessage.filter(message_id__in=ids):
        Path(row.path).unlink(missing_ok=True)
        await row.delete()


def _readable(body: bytes) -> str:
    """The body as a person would read it, whatever its encoding: raw, URL-decoded (form posts),
    JSON with its escapes undone, gunzipped; lower case, for finding an address or an id in it."""
    if body[:2] == b"\x1f\x8b":
        with contextlib.suppress(OSError, EOFError, zlib.error):
            body = gzip.decompress(body)
    text = body.decode("utf-8", "replace")
    forms = [text, unquote_plus(text)]
    with contextlib.suppress(ValueError, RecursionError):
        forms.append(json.dumps(json.loads(text), ensure_ascii=False))
    return "\n".join(forms).lower()


async def _blank(rows: list[InboundDelivery]) -> int:
    for row in rows:
        row.body, row.headers = b"{}", {}
        row.error = (row.error + " [personal data erased]").strip()
        await row.save(update_fields=["body", "headers", "error"])
    return len(rows)


async def _scrub_inbox(contact: Contact, needles: list[str]) -> int:
    """Raw deliveries hold the person's data too. Those their events came from are found through
    the events; any other (failed, or a duplicate of an applied one) when it mentions them in any
    encoding. Returns how many were blanked."""
    linked = await Event.filter(contact=contact, delivery_id__not_isnull=True).values_list("delivery_id", flat=True)
    blanked = await _blank(await InboundDelivery.filter(id__in=set(linked)).exclude(body=b"{}"))
    last_id = 0
    while needles:
        rows = await InboundDelivery.filter(id__gt=last_id).order_by("id").limit(500)
        if not rows:
            break
        blanked += await _blank([r for r in rows if any(n in _readable(bytes(r.body)) for n in needles)])
        last_id = rows[-1].id
    return blanked


def _remove_exports(services: Services, needles: list[bytes]) -> None:
    """Earlier data-request exports hold the person's data too."""
    directory = services.settings.var_dir / "exports"
    for path in directory.glob("*.json") if needles and directory.is_dir() else []:
        if any(needle in path.read_bytes().lower() for needle in needles):
            path.unlink(missing_ok=True)


ERASE_SLACK_JOB = "erase_slack_message"


async def _erase_slack_messages(services: Services, contact: Contact) -> int:
    """The bot's task messages about the person are edited to say so (bot/jobs.py, retried)."""
    posted = await Task.filter(contact=contact, slack_ts__not_isnull=True).exclude(slack_ts="").values_list(
        "slack_channel", "slack_ts")
    jobs = [(ERASE_SLACK_JOB, {"channel": channel, "ts": ts}, f"slack-erase:{channel}:{ts}")
            for channel, ts in posted if channel and ts]
    await enqueue_many(services.redis, jobs)
    return len(jobs)


async def erase_contact(services: Services, contact: Contact, request: str = "") -> None:
    needles = [n.lower() for n in (contact.email, contact.anonymous_id) if n]
    if contact.shopify_customer_id is not None:
        needles.append(str(contact.shopify_customer_id))
    removed = {"slack_messages": await _erase_slack_messages(services, contact),
               "deliveries": await _scrub_inbox(contact, needles)}
    # A bare customer id would match unrelated numbers in other exports: only when nothing else names them.
    named = [n for n in needles if not n.isdigit()] or needles
    _remove_exports(services, [n.encode() for n in named])
    if contact.email:
        await suppress(services.settings.secret_key, contact.email, SuppressionReason.ERASED)
        digest = email_hash(services.settings.secret_key, contact.email)
        await Suppression.filter(email_hash=digest).update(email=None, detail="")
    messages = await Message.filter(contact=contact)
    await _remove_outbox_files(messages)
    removed["messages"] = await Message.filter(contact=contact).delete()
    removed["events"] = await Event.filter(contact=contact).count()
    removed["orders"] = await Order.filter(contact=contact).delete()
    await Checkout.filter(contact=contact).delete()
    removed["tasks"] = await Task.filter(contact=contact).delete()
    await TraceEntry.filter(contact=contact).delete()
    await Enrollment.filter(contact=contact).delete()
    await contact.delete()
    await Erasure.create(request=request[:200], contact_ref=contact.id, removed=removed)
    log.info("erased contact %s: %s", contact.id, removed)


async def redact_requested(services: Services, event: NormalizedEvent) -> None:
    _check_shop(services, event)
    for contact in await _find(event):
        await erase_contact(services, contact, event.idempotency_key)
    orders = [o for o in event.properties.get("orders_to_redact", []) if isinstance(o, int)]
    if orders:
        await Order.filter(shopify_id__in=orders).delete()


def _sent_by_shop() -> Q:
    """Contacts the shop told us about. Guest buyers have no Shopify customer id: only their orders
    and checkouts tie them to the shop."""
    buyers = Order.filter(contact_id__not_isnull=True).values("contact_id")
    carts = Checkout.filter(contact_id__not_isnull=True).values("contact_id")
    return Q(shopify_customer_id__not_isnull=True) | Q(id__in=Subquery(buyers)) | Q(id__in=Subquery(carts))


async def shop_redact(services: Services, event: NormalizedEvent) -> None:
    """The store uninstalled us 48 h ago: erase every customer it sent, guests included."""
    _check_shop(services, event)
    for contact in await Contact.filter(_sent_by_shop()).order_by("id"):
        await erase_contact(services, contact, event.idempotency_key)
    await Order.all().delete()
    await Checkout.all().delete()
    await _blank_shop_deliveries()


async def _blank_shop_deliveries() -> None:
    """Every raw Shopify delivery came from the shop, including guests with no email to search for."""
    await InboundDelivery.filter(provider="shopify").update(body=b"{}", headers={})


HANDLERS: dict[str, Callable[[Services, NormalizedEvent], Awaitable[None]]] = {
    "privacy.data_requested": data_requested,
    "privacy.redact_requested": redact_requested,
    "privacy.shop_redact": shop_redact,
}
