"""Database bootstrap: Tortoise configuration built from Settings."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext

from core.files import create_private
from core.settings import Settings

APP_LABEL = "nurture"
MODEL_MODULES = [
    "contacts.models",
    "journeys.models",
    "journeys.quote_models",
    "emails.models",
    "inbox.models",
    "jobs.models",
    "catalog.models",
]


def tortoise_url(database_url: str) -> str:
    """Tortoise spells PostgreSQL as `asyncpg://`; accept the usual spellings."""
    parsed = urlparse(database_url)
    if parsed.scheme in {"postgres", "postgresql"}:
        return urlunparse(parsed._replace(scheme="asyncpg"))
    return database_url


SQLITE_ENGINE = "tortoise.backends.sqlite"
# Tortoise's SQLite client with transactions that give the connection back when cancelled.
SAFE_SQLITE_ENGINE = "nurture.sqlite_backend"
SQLITE_WAL_KEEP = 64 * 1024 * 1024
# SQLite checkpoints in the connection that commits, every 1,000 pages by default: under a busy
# inbox that stalled one commit (and every request waiting on it) several times a second. The
# commit path now checkpoints only as a safety net; `checkpoint_wal` does it from the side.
SQLITE_AUTOCHECKPOINT_PAGES = 10_000


class UnresetConnection(asyncpg.Connection):
    """A pooled PostgreSQL connection handed back without asyncpg's reset query.

    asyncpg's pool resets every released connection (advisory locks, cursors, LISTEN, session
    settings) with one more round trip, and Tortoise releases after every query, so the default
    doubles the round trips of everything we run. Nurture keeps no such session state: an open
    transaction is still rolled back on release (asyncpg does that without the query).
    """

    def get_reset_query(self) -> str:
        return ""


def connection_config(database_url: str) -> dict[str, Any]:
    config: dict[str, Any] = expand_db_url(tortoise_url(database_url))
    if config["engine"] == "tortoise.backends.asyncpg":
        config["credentials"]["connection_class"] = UnresetConnection
    if config["engine"] == SQLITE_ENGINE:
        config["engine"] = SAFE_SQLITE_ENGINE
        # Tortoise truncates the WAL back to 16 KB after every checkpoint, so a busy inbox keeps
        # re-growing the file; keep up to 64 MB of it between checkpoints instead.
        config["credentials"]["journal_size_limit"] = SQLITE_WAL_KEEP
        config["credentials"]["wal_autocheckpoint"] = SQLITE_AUTOCHECKPOINT_PAGES
    return config


def tortoise_config(settings: Settings) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(settings.database_url)},
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def create_sqlite_file(settings: Settings) -> None:
    """The database file exists, 0600, before SQLite opens it (its WAL and shared-memory files take its mode)."""
    if path := sqlite_file(settings):
        create_private(path)


def sqlite_file(settings: Settings) -> Path | None:
    """The SQLite database file, as Tortoise reads it from the URL (relative paths included)."""
    config = connection_config(settings.database_url)
    path = config["credentials"].get("file_path", "") if config["engine"] == SAFE_SQLITE_ENGINE else ""
    return Path(path) if path and path != ":memory:" else None


async def checkpoint_wal(path: Path, every: float = 1.0) -> None:
    """Copy the SQLite WAL into the database from a connection of its own, off the writers' path.

    A PASSIVE checkpoint never waits for, nor blocks, readers and writers; the commit path keeps
    appending while this thread copies and syncs (bench/ingest.py, embedded: p99 from 20-89 ms to ~12 ms).
    """

    def checkpoint() -> None:
        # mode=rw: never create a database file that is not there.
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=0)) as connection:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")

    while True:
        await asyncio.sleep(every)
        with contextlib.suppress(sqlite3.Error):  # busy or locked: the next round catches up
            await asyncio.to_thread(checkpoint)


def start_checkpointer(settings: Settings) -> asyncio.Task[None] | None:
    path = sqlite_file(settings)
    return asyncio.create_task(checkpoint_wal(path)) if path else None


async def open_database(settings: Settings) -> TortoiseContext:
    create_sqlite_file(settings)
    return await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()
