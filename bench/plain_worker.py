"""The peer of "events applied by one worker": a plain worker applying order events one transaction each.

For every stored order delivery it does what any hand-written worker must at the least: parse the
JSON, lock the buyer's contact (SELECT ... FOR UPDATE), insert or update it (orders count, total
spent), insert the event with a unique key, and commit. PostgreSQL through asyncpg, SQLite through
aiosqlite with the pragmas our database runs with (WAL). Its tables are its own (`peer_*`), in the
same database as ours, read from the same stored deliveries.
"""

from __future__ import annotations

import json
import time
from typing import Any

import aiosqlite
import asyncpg

PG_SCHEMA = """
DROP TABLE IF EXISTS peer_events; DROP TABLE IF EXISTS peer_contacts;
CREATE TABLE peer_contacts (id bigserial PRIMARY KEY, email text UNIQUE NOT NULL, orders int NOT NULL,
                            total numeric(14, 2) NOT NULL, updated_at timestamptz NOT NULL);
CREATE TABLE peer_events (id bigserial PRIMARY KEY, contact_id bigint NOT NULL REFERENCES peer_contacts(id),
                          key text UNIQUE NOT NULL, properties jsonb NOT NULL, occurred_at timestamptz NOT NULL);
"""
SQLITE_SCHEMA = PG_SCHEMA.replace("bigserial PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT") \
    .replace("timestamptz", "TEXT").replace("jsonb", "TEXT").replace("numeric(14, 2)", "TEXT")


def _order(body: bytes) -> tuple[str, str, str, str]:
    data = json.loads(body)
    return data["email"].lower(), f"order.created:{data['id']}", data["total_price"], data["created_at"]


async def apply_postgres(dsn: str, bodies: list[bytes]) -> tuple[int, float]:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(PG_SCHEMA)
        started = time.perf_counter()
        for body in bodies:
            email, key, total, at = _order(body)
            async with connection.transaction():
                found = await connection.fetchrow("SELECT id FROM peer_contacts WHERE email = $1 FOR UPDATE", email)
                if found is None:
                    contact = await connection.fetchval(
                        "INSERT INTO peer_contacts (email, orders, total, updated_at) VALUES ($1, 1, $2::numeric, "
                        "now()) RETURNING id", email, total)
                else:
                    contact = found["id"]
                    await connection.execute("UPDATE peer_contacts SET orders = orders + 1, total = total + "
                                             "$2::numeric, updated_at = now() WHERE id = $1", contact, total)
                await connection.execute(
                    "INSERT INTO peer_events (contact_id, key, properties, occurred_at) VALUES ($1, $2, $3::jsonb, "
                    "$4::timestamptz) ON CONFLICT (key) DO NOTHING", contact, key, body.decode(),
                    _timestamp(at))
        return len(bodies), time.perf_counter() - started
    finally:
        await connection.execute("DROP TABLE IF EXISTS peer_events; DROP TABLE IF EXISTS peer_contacts;")
        await connection.close()


def _timestamp(value: str) -> Any:
    import datetime as dt

    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


async def apply_sqlite(path: str, bodies: list[bytes]) -> tuple[int, float]:
    async with aiosqlite.connect(path, isolation_level=None) as connection:
        await connection.execute("PRAGMA journal_mode=WAL")
        await connection.executescript(SQLITE_SCHEMA)
        started = time.perf_counter()
        for body in bodies:
            email, key, total, at = _order(body)
            await connection.execute("BEGIN IMMEDIATE")  # SQLite's FOR UPDATE: the write lock up front
            cursor = await connection.execute("SELECT id, total FROM peer_contacts WHERE email = ?", (email,))
            found = await cursor.fetchone()
            if found is None:
                cursor = await connection.execute(
                    "INSERT INTO peer_contacts (email, orders, total, updated_at) VALUES (?, 1, ?, datetime('now'))",
                    (email, total))
                contact = cursor.lastrowid
            else:
                contact = found[0]
                await connection.execute("UPDATE peer_contacts SET orders = orders + 1, total = ?, "
                                         "updated_at = datetime('now') WHERE id = ?",
                                         (f"{float(found[1]) + float(total):.2f}", contact))
            await connection.execute("INSERT OR IGNORE INTO peer_events (contact_id, key, properties, occurred_at) "
                                     "VALUES (?, ?, ?, ?)", (contact, key, body.decode(), at))
            await connection.execute("COMMIT")
        elapsed = time.perf_counter() - started
        await connection.executescript("DROP TABLE IF EXISTS peer_events; DROP TABLE IF EXISTS peer_contacts;")
        return len(bodies), elapsed
