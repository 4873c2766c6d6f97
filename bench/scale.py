"""A store with 10k, 100k and 1M contacts on PostgreSQL: the periodic and per-request work at each size.

Each size gets a database of its own, seeded with set-based SQL as a live store would look:
5 events, 1 order and 1.6 messages per contact, three live journeys (welcome series, birthday,
win-back), half of the contacts enrolled in the welcome series with three step runs each, and
enrollments in the others. Then, each next to the single SQL statement that does the core of
the same work in the same run:

- the nightly refresh (whole run, chunked) and a second run right after it;
- the time-trigger scan (one run: one page of candidates per time-triggered journey);
- `journeys stats` for the journey with half the contacts enrolled, and its peak Python memory;
- a contact page (`nurture contacts show`: profile and latest events);
- one applied event (a page view of a known contact, through the pipeline).

    python -m bench.scale [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from tortoise import connections

from contacts.events import NormalizedEvent
from contacts.export import contact_profile
from contacts.models import Contact
from core.services import Services
from jobs.intelligence import refresh_contacts
from jobs.models import JobRun
from journeys import library
from journeys.analytics import funnel
from journeys.models import Journey
from journeys.store import latest_version, publish
from journeys.time_triggers import scan_time_triggers
from nurture.bootstrap import open_services
from nurture.migrate import apply_migrations
from nurture.scratch_db import create_database, drop_database
from nurture.settings import load_settings
from pipeline.ingest import ingest

SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
JOURNEYS = ("welcome-series", "birthday-anniversary", "win-back")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def seed_sql(n: int, hot_lead: int) -> list[str]:
    """Set-based seeding: generate_series, no row-by-row inserts. The derived state (decay bookkeeping,
    engagement tag, tier, segments) is what the pipeline would have left, so a refresh finds a store
    as it is every night, not one to rebuild."""
    now = f"'{NOW.isoformat()}'::timestamptz"
    iso = """'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'"""
    idle = "(g % 400) * interval '1 day'"
    zones = "(ARRAY['UTC','Europe/Berlin','America/Los_Angeles','Asia/Tokyo','Europe/Istanbul'])"
    return [
        f"""INSERT INTO contacts (email, first_name, last_name, timezone, locale, lifecycle_stage, attributes, tags,
            lead_score, engagement_score, loyalty_points, loyalty_tier, consent, consent_source, orders_count,
            total_spent, last_activity_at, consecutive_unopened, created_at, updated_at, first_order_at,
            last_order_at)
        SELECT 'c' || g || '@example.com', 'First' || g, 'Last', {zones}[1 + g % 5], 'en', 'customer',
            jsonb_build_object(
                'birthday', to_char(DATE '1980-01-01' + (g % 365), 'YYYY-MM-DD'),
                '_engagement', jsonb_build_object('value', (g % 50)::float,
                                                  'at', to_char(({now} - interval '1 day') AT TIME ZONE 'UTC', {iso})),
                '_lead_decay', jsonb_build_object('since', to_char(({now} - {idle}) AT TIME ZONE 'UTC', {iso}),
                                                  'periods', (g % 400) / 7),
                '_loyalty', jsonb_build_object('orders', 1),
                'segments', CASE WHEN g % 100 >= {hot_lead} THEN '["hot-lead"]'::jsonb ELSE '[]'::jsonb END),
            CASE WHEN g % 400 <= 90 THEN '["active"]'::jsonb ELSE '["inactive"]'::jsonb END,
            g % 100, g % 50, g % 700 * 4,
            CASE WHEN g % 700 * 4 >= 2000 THEN 'gold' WHEN g % 700 * 4 >= 500 THEN 'silver' ELSE 'bronze' END,
            'subscribed', 'seed', 1, 49.90, {now} - {idle}, g % 7, {now} - interval '500 days', {now},
            {now} - {idle}, {now} - {idle}
        FROM generate_series(1, {n}) AS g""",
        f"""INSERT INTO events (contact_id, type, properties, occurred_at, source, idempotency_key, object_key,
            recorded_at)
        SELECT c.id, (ARRAY['page.viewed','email.opened','email.clicked','order.created','page.viewed'])[k],
            jsonb_build_object('path', '/p/' || k), {now} - (c.id % 400 + k) * interval '1 day', 'seed',
            'seed:' || c.id || ':' || k, '', {now}
        FROM contacts c CROSS JOIN generate_series(1, 5) AS k""",
        f"""INSERT INTO orders (shopify_id, contact_id, name, email, currency, total_price, line_items,
            financial_status, refunded_total, placed_at)
        SELECT 100000000 + c.id, c.id, '#' || c.id, c.email, 'EUR', 49.90, '[]'::jsonb, 'paid', NULL,
            {now} - (c.id % 400) * interval '1 day'
        FROM contacts c""",
    ]


def enrollment_sql(n: int, journeys: dict[str, tuple[int, int]]) -> list[str]:
    """Enrollments as a live store has them; three step runs for each in the welcome series."""
    now = f"'{NOW.isoformat()}'::timestamptz"
    states = "(ARRAY['active','waiting','completed','exited','waiting','completed'])"
    statements = []
    # Who is in each journey: half the store in the welcome series, a tenth in the birthday journey,
    # and everyone idle for over 90 days in win-back (entered when the 90 days were up, as the scan does).
    for key, who, entered in (
        ("welcome-series", "c.id % 2 = 0", f"{now} - (c.id % 300) * interval '1 day'"),
        ("birthday-anniversary", "c.id % 10 = 0", f"{now} - (c.id % 300 + 3) * interval '1 day'"),
        ("win-back", f"c.last_activity_at < {now} - interval '90 days'", "c.last_activity_at + interval '90 days'"),
    ):
        journey_id, version_id = journeys[key]
        statements.append(
            f"""INSERT INTO enrollments (contact_id, journey_id, version_id, entry_key, object_key, state, cursor,
                seq, next_run_at, variant, context, is_test, entered_at, finished_at, exit_reason)
            SELECT c.id, {journey_id}, {version_id}, '{journey_id}:' || c.id || '::seed', '',
                {states}[1 + c.id % 6], '1', 3, {now} + interval '1 day', '', '{{}}'::jsonb, false,
                {entered}, NULL,
                CASE WHEN c.id % 6 = 3 THEN (ARRAY['converted','unsubscribed'])[1 + c.id % 2] ELSE '' END
            FROM contacts c WHERE {who}""")
    welcome = journeys["welcome-series"][0]
    statements.append(
        f"""INSERT INTO step_runs (enrollment_id, seq, journey_ref, step_id, kind, outcome, variant, started_at,
            finished_at, error)
        SELECT e.id, k - 1, e.journey_id, (k - 1)::text, (ARRAY['email','wait','email'])[k], 'done', '',
            e.entered_at, e.entered_at, ''
        FROM enrollments e CROSS JOIN generate_series(1, 3) AS k WHERE e.journey_id = {welcome}""")
    statements.append(  # 1.6 messages a contact; the first of each welcome-series member's is the journey's
        f"""INSERT INTO messages (send_key, enrollment_ref, journey_ref, contact_id, to_email, template, subject,
            marketing, from_name, reply_to, context, links, status, message_id, provider_id, attempts, error,
            is_test, queued_at, sent_at)
        SELECT 'seed:' || c.id || ':' || k, CASE WHEN k = 1 THEN e.id END, CASE WHEN k = 1 THEN e.journey_id END,
            c.id, c.email, 'welcome-1', 'Welcome', true, '', '', '{{}}'::jsonb, '[]'::jsonb, 'sent',
            '<seed.' || c.id || '.' || k || '@nurture>', 'provider-' || c.id || '-' || k, 1, '', false,
            {now} - (c.id % 400) * interval '1 day', {now} - (c.id % 400) * interval '1 day'
        FROM contacts c CROSS JOIN generate_series(1, 2) AS k
        LEFT JOIN enrollments e ON e.contact_id = c.id AND e.journey_id = {welcome}
        WHERE (c.id * 2 + k) % 5 <> 0""")
    return statements


async def seed(services: Services, n: int) -> dict[str, Journey]:
    journeys: dict[str, Journey] = {}
    for key in JOURNEYS:
        await library.install(key)
        await publish(key)
        journeys[key] = await Journey.get(key=key)
    ids = {key: (j.id, (await latest_version(j)).id) for key, j in journeys.items()}
    connection = connections.get("default")
    hot_lead = services.workspace.intelligence.scoring.hot_lead_threshold
    for statement in seed_sql(n, hot_lead) + enrollment_sql(n, ids):
        await connection.execute_script(statement)
    await connection.execute_script("VACUUM ANALYZE")  # what autovacuum has done in a store that is live
    return journeys


async def timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await work()
    return time.perf_counter() - started, result


async def sql_seconds(statement: str, *values: Any, rollback: bool = False) -> float:
    connection = connections.get("default")
    started = time.perf_counter()
    if rollback:
        async with connection._in_transaction() as transaction:
            await transaction.execute_query(statement, list(values))
            await transaction.execute_script("ROLLBACK")  # keep the store as it was
    else:
        await connection.execute_query(statement, list(values))
    return time.perf_counter() - started


def row(figure: str, ours: float, peer: str, peer_seconds: float, note: str = "") -> str:
    return (f"| {figure} | {fmt(ours)} | {peer} | {fmt(peer_seconds)} | "
            f"{ours / peer_seconds if peer_seconds else 0:,.1f}x{' ' + note if note else ''} |")


def fmt(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


async def refresh_rows(services: Services, n: int) -> list[str]:
    first, _ = await timed(lambda: refresh_contacts(services))
    done = await JobRun.all().order_by("-id").first()
    second, _ = await timed(lambda: refresh_contacts(services))
    again = await JobRun.all().order_by("-id").first()
    assert done is not None and again is not None
    peer = await sql_seconds(
        "UPDATE contacts SET engagement_score = round(engagement_score * 0.977) WHERE engagement_score > 0",
        rollback=True)
    return [
        row(f"{n:,}: nightly refresh, whole run ({done.chunks} chunks, {done.changed:,} contacts changed)", first,
            "one UPDATE fading every engagement score", peer),
        row(f"{n:,}: the same refresh run again right after ({again.changed:,} changed)", second,
            "one UPDATE fading every engagement score", peer),
    ]


async def scan_rows(services: Services, n: int) -> list[str]:
    """The first runs of the day enroll today's birthdays, a page of candidates per journey each;
    then the scan finds nothing new. Both are shown, and how many runs (a minute apart) it took."""
    peer = await sql_seconds("SELECT count(*) FROM contacts WHERE substr(attributes->>'birthday', 6, 5) = $1",
                             f"{NOW:%m-%d}")
    first, entered = await timed(lambda: scan_time_triggers(services, NOW))
    runs, total, seconds, found = 1, entered, 0.0, entered
    while found and runs < 50:
        seconds, found = await timed(lambda: scan_time_triggers(services, NOW))
        runs, total = runs + 1, total + found
    return [
        row(f"{n:,}: time-trigger scan of 2 journeys, first run of the day ({entered:,} entered)", first,
            "one SELECT counting today's birthdays", peer),
        row(f"{n:,}: the same once caught up (run {runs}; {total:,} entered in all)", seconds,
            "one SELECT counting today's birthdays", peer),
    ]


async def stats_rows(services: Services, n: int, journey: Journey) -> list[str]:
    tracemalloc.start()
    seconds, result = await timed(lambda: funnel(journey))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peer = await sql_seconds("SELECT state, count(*) FROM enrollments WHERE journey_id = $1 GROUP BY state",
                             journey.id)
    return [row(f"{n:,}: journeys stats, {result.entered:,} enrollments (peak Python memory "
                f"{peak / 1024:,.0f} KiB)", seconds, "one GROUP BY of the journey's enrollments", peer)]


async def contact_rows(services: Services, n: int) -> list[str]:
    ours, peers = [], []
    for k in range(50):
        email = f"c{1 + (k * 7919) % n}@example.com"
        seconds, _ = await timed(lambda email=email: _page(email))  # type: ignore[misc]
        ours.append(seconds)
        peers.append(await sql_seconds("SELECT * FROM contacts WHERE email = $1", email))
    return [row(f"{n:,}: contact page (profile + 20 latest events), median of 50", statistics.median(ours),
                "one SELECT of the contact by email", statistics.median(peers))]


async def _page(email: str) -> dict[str, Any]:
    return await contact_profile(await Contact.get(email=email), events=20)


async def event_rows(services: Services, n: int) -> list[str]:
    ours, peers = [], []
    for k in range(100):
        email = f"c{1 + (k * 104729) % n}@example.com"
        event = NormalizedEvent(type="page.viewed", source="bench", idempotency_key=uuid.uuid4().hex,
                                occurred_at=NOW, email=email, properties={"path": "/bench", "url": "https://x/"})
        seconds, _ = await timed(lambda event=event: ingest(services, [event]))  # type: ignore[misc]
        ours.append(seconds)
        peers.append(await _plain_apply(email))
    return [row(f"{n:,}: one applied event (known contact, 3 live journeys), median of 100",
                statistics.median(ours), "SELECT FOR UPDATE + INSERT event + UPDATE contact",
                statistics.median(peers))]


async def _plain_apply(email: str) -> float:
    connection = connections.get("default")
    started = time.perf_counter()
    async with connection._in_transaction() as transaction:
        _, rows = await transaction.execute_query("SELECT id FROM contacts WHERE email = $1 FOR UPDATE", [email])
        await transaction.execute_query(
            "INSERT INTO events (contact_id, type, properties, occurred_at, source, idempotency_key, object_key,"
            " recorded_at) VALUES ($1, 'page.viewed', '{}'::jsonb, now(), 'peer', $2, '', now())",
            [rows[0]["id"], uuid.uuid4().hex])
        await transaction.execute_query("UPDATE contacts SET last_activity_at = now() WHERE id = $1", [rows[0]["id"]])
    return time.perf_counter() - started


@contextlib.asynccontextmanager
async def scratch_store(label: str) -> AsyncIterator[Services]:
    """Services on a PostgreSQL database of their own (dropped afterwards) and Redis database 9."""
    url, name = await create_database(SERVER, label)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(dotenv_path=None, overrides={
                "NURTURE_VAR_DIR": tmp, "NURTURE_SECRET_KEY": "s" * 40, "NURTURE_DATABASE_URL": url,
                "NURTURE_REDIS_URL": "redis://127.0.0.1:6379/9"})
            await apply_migrations(settings)
            async with open_services(settings) as services:
                await services.redis.flushdb()
                yield services
    finally:
        await drop_database(SERVER, name)


async def measure(n: int) -> list[str]:
    async with scratch_store("nurture_scale") as services:
        print(f"seeding {n:,} contacts", file=sys.stderr)
        seconds, journeys = await timed(lambda: seed(services, n))
        print(f"seeded in {seconds:.1f} s", file=sys.stderr)
        rows = await stats_rows(services, n, journeys["welcome-series"])
        rows += await contact_rows(services, n)
        rows += await event_rows(services, n)
        rows += await scan_rows(services, n)
        rows += await refresh_rows(services, n)
        return rows


async def main(sizes: list[int]) -> None:
    print("| figure | ours | peer | peer figure | ratio |")
    print("|---|---|---|---|---|")
    for n in sizes:
        for line in await measure(n):
            print(line, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated contact counts")
    arguments = parser.parse_args()
    asyncio.run(main([int(size) for size in arguments.sizes.split(",")]))
