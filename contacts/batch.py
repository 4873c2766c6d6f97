"""What a batch of events reads, loaded once for all of them, and the writes they share, done once at its end.

Every event is applied through a Batch (an event alone is a batch of one), so there is one code path:
- contacts: every contact the events name is read and locked by one query (in id order, as every
  locker of contacts does). The batch is their identity map: two events about one person change one
  object, and each changed contact is written once, at the end, all in one prepared statement.
- orders: which of the batch's orders exist already, in the same pass.
- product interests: the batch's contacts' rows in one query; purchases and product views change
  them in memory, and they are written at the end (new rows in one insert, changed ones in one
  prepared statement).
- checkouts the batch's orders completed: one prepared statement at the end.

Nothing outside the transaction sees the difference: everything is written before it commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tortoise.expressions import Q

from contacts.events import NormalizedEvent
from contacts.models import Checkout, Contact, Event, Order, ProductInterest
from contacts.rows import IdBlock, insert_all, write_all

IDENTITIES = ("email", "shopify_customer_id", "anonymous_id")


def stored_key(event: NormalizedEvent) -> str:
    """The idempotency key as the events table holds it (storable() drops NUL; the column is 200 long)."""
    return event.idempotency_key.replace("\x00", "")[:200]


MAX_ID = 2**63 - 1


def _order_id(event: NormalizedEvent) -> int | None:
    """The Shopify order an order event is about (other events' `order_id` is anyone's text)."""
    value = event.properties.get("order_id")
    if not event.type.startswith("order.") or isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value)
    return int(text) if text.isascii() and text.isdecimal() and 0 < int(text) <= MAX_ID else None


@dataclass
class Batch:
    new_keys: set[str] = field(default_factory=set)  # the events' keys no stored event had
    contacts: dict[int, Contact] = field(default_factory=dict)
    # (identity, value) -> contact id, for the contacts loaded or created in this batch
    holders: dict[tuple[str, Any], int] = field(default_factory=dict)
    known_orders: set[int] = field(default_factory=set)
    interests: dict[int, dict[str, ProductInterest]] = field(default_factory=dict)
    changed_interests: dict[int, ProductInterest] = field(default_factory=dict)  # by id() of the row
    completed_checkouts: dict[str, dt.datetime] = field(default_factory=dict)
    touched: dict[int, Contact] = field(default_factory=dict)
    forgotten: set[int] = field(default_factory=set)  # contacts merged away during the batch
    new_events: list[Event] = field(default_factory=list)  # inserted when the batch ends
    new_orders: list[Order] = field(default_factory=list)  # inserted before anything reads orders
    event_ids: IdBlock = field(default_factory=lambda: IdBlock(Event))

    @classmethod
    async def load(cls, events: Iterable[NormalizedEvent]) -> Batch:
        """Read (and lock) what the events need: four queries, however many events."""
        events = list(events)
        named = await _named_contacts(events)  # locked first: what is read next cannot change under us
        batch = cls(new_keys=await _new_keys(events), known_orders=await _known_orders(events))
        for contact in named:
            batch.remember(contact)
        await batch._load_interests(list(batch.contacts))
        return batch

    async def _load_interests(self, contact_ids: list[int]) -> None:
        for contact_id in contact_ids:
            self.interests.setdefault(contact_id, {})
        if contact_ids:
            for row in await ProductInterest.filter(contact_id__in=contact_ids):
                self.interests[row.contact_id][row.product_key] = row

    def claim(self, event: NormalizedEvent) -> bool:
        """Whether the event is new, the first time it is asked (a copy later in the batch is not)."""
        key = stored_key(event)
        if key not in self.new_keys:
            return False
        self.new_keys.discard(key)
        return True

    # Contacts

    def holder(self, name: str, value: Any) -> Contact | None:
        """The contact of this batch holding `value` as its `name` (email, Shopify id, anonymous id)."""
        contact_id = self.holders.get((name, value)) if value not in (None, "") else None
        contact = self.contacts.get(contact_id) if contact_id is not None else None
        return contact if contact is not None and getattr(contact, name) == value else None

    def remember(self, contact: Contact) -> Contact:
        """Index a contact read or created by this batch; the copy already held wins (one object per row)."""
        held = self.contacts.setdefault(contact.id, contact)
        for name in IDENTITIES:
            if (value := getattr(held, name)) not in (None, ""):
                self.holders[(name, value)] = held.id
        return held

    async def adopt(self, contact: Contact | None) -> Contact | None:
        """A contact read outside `load` (through an order): the batch's own object for it, interests loaded."""
        if contact is None or contact.id in self.contacts:
            return self.contacts.get(contact.id) if contact is not None else None
        held = self.remember(contact)
        await self._load_interests([held.id])
        return held

    def created(self, contact: Contact) -> None:
        self.remember(contact)
        self.interests.setdefault(contact.id, {})

    def forget(self, contact: Contact, into: Contact) -> None:
        """A contact deleted, merged `into` another: its product interests become that one's (the
        database rows go with the contact), and nothing of it is written at the end."""
        for row in self.interests.pop(contact.id, {}).values():
            self.changed_interests.pop(id(row), None)
            kept = self.interest(into, row.product_key, row.title, row.last_seen_at)
            kept.views, kept.purchases = kept.views + row.views, kept.purchases + row.purchases
            kept.last_seen_at = max(kept.last_seen_at, row.last_seen_at)
        unwritten: list[Event | Order] = [*self.new_events, *self.new_orders]
        for new in unwritten:  # moved as the stored ones are
            if new.contact_id == contact.id:
                new.contact_id = into.id
        self.contacts.pop(contact.id, None)
        self.touched.pop(contact.id, None)
        self.forgotten.add(contact.id)
        self.holders = {key: held for key, held in self.holders.items() if held != contact.id}

    def touch(self, contact: Contact) -> None:
        self.touched[contact.id] = contact

    # Events

    async def new_event(self, contact: Contact, **values: Any) -> Event:
        """An event row with its id, written when the batch ends."""
        # The keys not claimed yet: at most that many more events in this batch.
        row = Event(id=await self.event_ids.take(len(self.new_keys) + 1), contact_id=contact.id, **values)
        self.new_events.append(row)
        return row

    # Orders and checkouts

    def order_exists(self, shopify_id: int) -> bool:
        """Whether the order is recorded (the batch read which of its orders were before it began)."""
        return int(shopify_id) in self.known_orders

    def new_order(self, row: Order) -> Order:
        """An order recorded by this batch: inserted with the others before anything reads orders."""
        self.known_orders.add(int(row.shopify_id))
        self.new_orders.append(row)
        return row

    async def write_orders(self) -> None:
        """Insert the orders recorded so far: every reader of orders in a batch calls this first."""
        rows, self.new_orders = self.new_orders, []
        await insert_all(rows)

    def complete_checkout(self, token: str, at: dt.datetime) -> None:
        """Marked completed at the end, unless it is by then (the first order from it wins)."""
        self.completed_checkouts.setdefault(token, at)

    # Product interests

    def interest(self, contact: Contact, key: str, title: str, at: dt.datetime) -> ProductInterest:
        """The contact's interest in a product (new when none), to change: written at the end."""
        rows = self.interests.setdefault(contact.id, {})
        row = rows.get(key)
        if row is None:
            row = rows[key] = ProductInterest(contact_id=contact.id, product_key=key, title=title, last_seen_at=at)
        self.changed_interests[id(row)] = row
        return row

    def interest_counts(self, contact_id: int) -> list[tuple[str, int, int]]:
        """(product, views, purchases) for each product the contact showed interest in."""
        return [(row.product_key, row.views, row.purchases) for row in self.interests.get(contact_id, {}).values()]

    # The end

    async def flush(self) -> None:
        """Write what the batch changed (before its transaction commits)."""
        await write_all(list(self.touched.values()))
        await self.write_orders()
        await insert_all(self.new_events)
        rows = list(self.changed_interests.values())
        await ProductInterest.bulk_create([row for row in rows if row.id is None])
        await write_all([row for row in rows if row.id is not None], ("views", "purchases", "last_seen_at", "title"))
        await _complete_checkouts(self.completed_checkouts)
        self.touched, self.changed_interests, self.completed_checkouts, self.new_events = {}, {}, {}, []


async def _new_keys(events: list[NormalizedEvent]) -> set[str]:
    keys = {stored_key(event) for event in events}
    stored = await Event.filter(idempotency_key__in=sorted(keys)).values_list("idempotency_key", flat=True)
    return keys - {str(key) for key in stored}


async def _known_orders(events: list[NormalizedEvent]) -> set[int]:
    orders = sorted({order for event in events if (order := _order_id(event)) is not None})
    if not orders:
        return set()
    stored = await Order.filter(shopify_id__in=orders).values_list("shopify_id", flat=True)
    return {int(str(order)) for order in stored}


def _stored(value: Any) -> Any:
    """As storable() writes it: text without NUL (PostgreSQL refuses it even in a parameter)."""
    return value.replace("\x00", "") if isinstance(value, str) else value


async def _named_contacts(events: list[NormalizedEvent]) -> list[Contact]:
    """The contacts holding any email, Shopify customer id or anonymous id the events name, locked
    for the caller's transaction in id order (as every locker of contacts does)."""
    wanted = []
    for name in IDENTITIES:
        found = {_stored(value) for event in events if (value := getattr(event, name)) not in (None, "")}
        if values := sorted(found, key=str):
            wanted.append(Q(**{f"{name}__in": values}))  # type: ignore[arg-type] # a lookup by keyword
    if not wanted:
        return []
    return await Contact.filter(Q(*wanted, join_type="OR")).order_by("id").select_for_update()


async def _complete_checkouts(completed: dict[str, dt.datetime]) -> None:
    if len(completed) <= 1:
        for token, at in completed.items():
            await Checkout.filter(token=token, completed_at=None).update(completed_at=at)
        return
    db = Checkout._meta.db
    first, second = ("$1", "$2") if db.capabilities.dialect == "postgres" else ("?", "?")
    field = Checkout._meta.fields_map["completed_at"]
    sql = f"UPDATE checkouts SET completed_at = {first} WHERE token = {second} AND completed_at IS NULL"
    await db.execute_many(sql, [[field.to_db_value(at, Checkout), token] for token, at in completed.items()])
