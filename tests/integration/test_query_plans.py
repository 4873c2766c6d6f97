"""Every query of the hot paths reads a large table through an index, never by scanning it.

The queries are the ones the code really sends (captured from Tortoise's query log while an
order webhook is applied, journeys run, an email event finds its message and a funnel is
counted); each is then explained by the database: PostgreSQL with sequential scans priced out
(so a missing index shows up even on a small table), SQLite with EXPLAIN QUERY PLAN.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from aiohttp.test_utils import TestClient
from tortoise import connections

from contacts.events import NormalizedEvent
from contacts.models import Contact
from core.services import Services
from emails.models import Message
from journeys import library
from journeys.analytics import funnel
from journeys.models import Journey
from journeys.store import publish
from pipeline.ingest import ingest
from tests.support import QueryLog, sample_json, shopify_headers

LARGE = {"contacts", "events", "orders", "checkouts", "messages", "enrollments", "step_runs", "trace_entries",
         "inbound_deliveries", "tasks", "coupons", "product_interests", "suppressions", "outbox"}
# Scans that are the point of the query, not a missing index.
ALLOWED = (
    re.compile(r"^DELETE FROM \"?\w+\"?;?$"),  # the suite's own cleanup
)


def _explainable(sql: str) -> bool:
    head = sql.lstrip().split(None, 1)[0].upper()
    return head in ("SELECT", "UPDATE", "DELETE", "WITH") and not any(p.match(sql.strip()) for p in ALLOWED)


def _pg_full_scans(plan: dict[str, Any]) -> list[str]:
    found = []
    relation = plan.get("Relation Name")
    kind = plan.get("Node Type", "")
    if relation in LARGE and (kind == "Seq Scan" or (kind in ("Index Scan", "Index Only Scan")
                                                     and "Index Cond" not in plan)):
        found.append(f"{kind} on {relation}")
    for child in plan.get("Plans", []):
        found += _pg_full_scans(child)
    return found


async def _full_scans(sql: str, values: list[Any]) -> list[str]:
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        async with connection._in_transaction() as transaction:  # SET LOCAL lives as long as it
            await transaction.execute_script("SET LOCAL enable_seqscan = off")
            _, rows = await transaction.execute_query(f"EXPLAIN (FORMAT JSON) {sql}", values)
        plan = rows[0]["QUERY PLAN"]
        return _pg_full_scans((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
    _, rows = await connection.execute_query(f"EXPLAIN QUERY PLAN {sql}", values)
    scans = [re.match(r"SCAN (\w+)", str(row["detail"])) for row in rows]
    return [f"scan of {m.group(1)}" for m in scans if m and m.group(1) in LARGE]


async def _order(client: TestClient, services: Services, email: str) -> None:
    order = sample_json("shopify/orders-create.json")
    order.update(id=int(uuid.uuid4().int % 10**12), email=email, contact_email=email, checkout_token=None)
    order["customer"] = {**order["customer"], "id": int(uuid.uuid4().int % 10**12), "email": email}
    body = json.dumps(order).encode()
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, "orders/create")
    assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200


async def test_hot_path_queries_use_indexes(client: TestClient, services: Services, drive: Any, clock: Any,
                                            query_log: QueryLog) -> None:
    for key in ("post-purchase-feedback", "first-purchase-coupon", "win-back"):
        await library.install(key)
        await publish(key)
    await _order(client, services, "first@example.com")  # creates the contact, enrolls, sends
    await drive()
    query_log.queries.clear()
    await _order(client, services, "first@example.com")  # the hot path: a known contact's event
    await _order(client, services, "second@example.com")
    await drive()
    message = await Message.filter(contact__email="first@example.com").first()
    assert message is not None
    for kind, key in (("email.opened", "message_id"), ("email.clicked", "message_id")):
        await ingest(services, [NormalizedEvent(
            type=kind, source="test", idempotency_key=uuid.uuid4().hex, occurred_at=clock.now(),
            email="first@example.com", properties={key: message.message_id, "url": "https://x.test/"})])
    await ingest(services, [NormalizedEvent(  # a provider's own id (SES, SendGrid) finds the message too
        type="email.delivered", source="test", idempotency_key=uuid.uuid4().hex,
        occurred_at=clock.now(), email="first@example.com",
        properties={"message_id": "provider-" + uuid.uuid4().hex})])
    for journey in await Journey.all():
        await funnel(journey)
    captured = [(sql, values) for sql, values in query_log.queries if _explainable(sql)]
    assert len(captured) > 50  # the log really captured the paths
    scans = {}
    for sql, values in captured:
        found = await _full_scans(sql, values)
        if found:
            scans[sql[:300]] = found
    assert not scans, "full scans of large tables:\n" + "\n".join(f"{v}: {k}" for k, v in scans.items())


async def test_console_pages_read_through_indexes(client: TestClient, services: Services, drive: Any,
                                                  query_log: QueryLog) -> None:
    """The console's pages at any size: its lists page by the last id seen, its searches use prefix
    indexes (PostgreSQL; migration 0012), a contact's story reads by contact."""
    from console.auth import login_link

    await library.install("win-back")
    await publish("win-back")
    await _order(client, services, "first@example.com")
    await drive()
    link = "/console/login/" + login_link(services, "UADMIN").rsplit("/console/login/", 1)[1]
    assert (await client.post(link, allow_redirects=False)).status == 303
    contact_id = (await Contact.get(email="first@example.com")).id
    query_log.queries.clear()
    searches = ["/console/contacts?q=first@", "/console/contacts?q=Firs"]
    for path in ("/console/contacts", f"/console/contacts/{contact_id}", "/console/inbox?status=failed",
                 "/console/inbox?before=5", "/console/journeys/win-back", "/console/", *searches):
        assert (await client.get(path)).status == 200, path
    postgres = connections.get("default").capabilities.dialect == "postgres"
    scans = {}
    for sql, values in query_log.queries:
        # SQLite (a small store's first steps) scans for a name, and without statistics walks an index
        # for the inbox's counts; PostgreSQL, where stores grow, must not.
        sqlite_only = ("LIKE" in sql and '"contacts"' in sql) or 'FROM "inbound_deliveries" WHERE "received_at"' in sql
        # The newest page of a list reads the primary key's index backwards, LIMIT rows and no more.
        newest_first = " WHERE " not in sql and re.search(r'ORDER BY "id" DESC LIMIT', sql)
        if _explainable(sql) and not newest_first and (postgres or not sqlite_only):
            found = await _full_scans(sql, values)
            if found:
                scans[sql[:300]] = found
    assert not scans, "full scans of large tables:\n" + "\n".join(f"{v}: {k}" for k, v in scans.items())
