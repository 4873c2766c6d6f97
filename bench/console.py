"""The console's pages on a real store: 100,000 contacts and 1,000,000 events on PostgreSQL.

Seeded like bench/scale.py (contacts, five events each, an order each, three live journeys with
enrollments and step runs), then five more events per contact (a million in all) and 20,000 inbox
deliveries (one in ten failed). Each page is fetched by a signed-in client through the whole
aiohttp stack, next to the same server's `GET /healthz` (a database and a Redis round trip) in the
same run; the aim is every page under 200 ms.

    python -m bench.console [--contacts 100000] [--times 15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from urllib.parse import urlparse

from aiohttp.test_utils import TestClient, TestServer
from tortoise import connections

from bench.scale import NOW, scratch_store, seed
from console.auth import login_link
from contacts.models import Contact
from core.services import Services
from nurture.web import build_app

AIM_MS = 200.0


def more_sql(deliveries: int) -> list[str]:
    now = f"'{NOW.isoformat()}'::timestamptz"
    return [
        f"""INSERT INTO events (contact_id, type, properties, occurred_at, source, idempotency_key, object_key,
            recorded_at)
        SELECT c.id, (ARRAY['page.viewed','email.opened','page.viewed','email.delivered','identify'])[k],
            jsonb_build_object('path', '/q/' || k), {now} - (c.id % 300 + k) * interval '1 hour', 'seed',
            'more:' || c.id || ':' || k, '', {now}
        FROM contacts c CROSS JOIN generate_series(1, 5) AS k""",
        f"""INSERT INTO inbound_deliveries (provider, external_id, topic, headers, body, status, error, attempts,
            received_at)
        SELECT (ARRAY['shopify','forms','tracking','ses'])[1 + g % 4], 'seed-' || g, 'seed', '{{}}'::jsonb,
            convert_to('{{}}', 'UTF8'), CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'processed' END,
            CASE WHEN g % 10 = 0 THEN 'the form has no valid `email` field' ELSE '' END, 1,
            {now} - g * interval '1 minute'
        FROM generate_series(1, {deliveries}) AS g""",
        "VACUUM ANALYZE",
    ]


async def _fetch_ms(client: TestClient, path: str, times: int) -> tuple[float, float]:
    """(median, worst) milliseconds of `times` fetches after one warm-up."""
    assert (await client.get(path)).status == 200, path
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        response = await client.get(path)
        await response.read()
        spent.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, path
    return statistics.median(spent), max(spent)


async def pages(services: Services, times: int) -> list[str]:
    someone = await Contact.filter(email="c77777@example.com").first() or await Contact.all().first()
    assert someone is not None
    paths = {
        "journeys": "/console/", "journey (welcome series, diagram)": "/console/journeys/welcome-series",
        "contacts: search by email": "/console/contacts?q=c77777@",
        "contacts: search by name": "/console/contacts?q=First7777",
        "contacts: newest": "/console/contacts", "contact page": f"/console/contacts/{someone.id}",
        "inbox: failed": "/console/inbox?status=failed", "emails gallery": "/console/emails",
    }
    server = TestServer(build_app(services))
    async with TestClient(server) as client:
        link = urlparse(login_link(services, "UBENCH")).path
        assert (await client.post(link, allow_redirects=False)).status == 303
        peer, _ = await _fetch_ms(client, "/healthz", times)
        rows = []
        for name, path in paths.items():
            median, worst = await _fetch_ms(client, path, times)
            held = "yes" if worst < AIM_MS else "NO"
            rows.append(f"| {name} | {median:.1f} ms (worst {worst:.1f}) | GET /healthz | {peer:.1f} ms | "
                        f"{median / peer:.1f}x | {held} |")
        return rows


async def main(contacts: int, times: int) -> None:
    async with scratch_store("nurture_console") as services:
        print(f"seeding {contacts:,} contacts and {contacts * 10:,} events", file=sys.stderr)
        await seed(services, contacts)
        for statement in more_sql(contacts // 5):
            await connections.get("default").execute_script(statement)
        print(f"| page ({contacts:,} contacts, {contacts * 10:,} events) | ours | peer | peer figure | ratio "
              f"| all under {AIM_MS:.0f} ms |")
        print("|---|---|---|---|---|---|")
        for line in await pages(services, times):
            print(line, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--times", type=int, default=15)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.contacts, arguments.times))
