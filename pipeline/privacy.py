"""GDPR: export everything we hold about a person, and erase it everywhere.

Erasure removes the contact with its events, messages, tasks, enrollments and
outbox files; only a keyed hash stays on the suppression list, so the address is
never emailed again and cannot be read back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tortoise.expressions import Q, Subquery

from contacts.events import NormalizedEvent
from contacts.export import contact_profile
from contacts.models import Checkout, Contact, Order, ProductInterest, Suppression, SuppressionReason
from contacts.suppression import email_hash, suppress
from core.errors import UnprocessablePayload
from core.files import private_dir, write_private
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
            "(NURTURE_SHOPIFY_SHOP_DOMAIN): refused, nothing erased")


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


async def _scrub_inbox(needles: list[bytes]) -> None:
    """Raw deliveries hold the person's data too: blank the bodies that mention them."""
    last_id = 0
    while needles:
        rows = await InboundDelivery.filter(id__gt=last_id).order_by("id").limit(500)
        if not rows:
            return
        for row in rows:
            body = bytes(row.body).lower()
            if any(needle in body for needle in needles):
                row.body, row.headers = b"{}", {}
                row.error = (row.error + " [personal data erased]").strip()
                await row.save(update_fields=["body", "headers", "error"])
        last_id = rows[-1].id


def _remove_exports(services: Services, needles: list[bytes]) -> None:
    """Earlier data-request exports hold the person's data too."""
    directory = services.settings.var_dir / "exports"
    for path in directory.glob("*.json") if needles and directory.is_dir() else []:
        if any(needle in path.read_bytes().lower() for needle in needles):
            path.unlink(missing_ok=True)


async def erase_contact(services: Services, contact: Contact) -> None:
    needles = [n.encode() for n in (contact.email, contact.anonymous_id) if n]
    if contact.shopify_customer_id is not None:
        needles.append(str(contact.shopify_customer_id).encode())
    await _scrub_inbox(needles)
    _remove_exports(services, [n for n in needles if not n.isdigit()] or needles)
    if contact.email:
        await suppress(services.settings.secret_key, contact.email, SuppressionReason.ERASED)
        digest = email_hash(services.settings.secret_key, contact.email)
        await Suppression.filter(email_hash=digest).update(email=None, detail="")
    messages = await Message.filter(contact=contact)
    await _remove_outbox_files(messages)
    await Message.filter(contact=contact).delete()
    await Order.filter(contact=contact).delete()
    await Checkout.filter(contact=contact).delete()
    await Task.filter(contact=contact).delete()
    await TraceEntry.filter(contact=contact).delete()
    await Enrollment.filter(contact=contact).delete()
    await contact.delete()


async def redact_requested(services: Services, event: NormalizedEvent) -> None:
    _check_shop(services, event)
    for contact in await _find(event):
        await erase_contact(services, contact)
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
        await erase_contact(services, contact)
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
