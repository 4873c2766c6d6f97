"""Database bootstrap: Tortoise configuration built from Settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext

from nurture.settings import Settings

APP_LABEL = "nurture"
MODEL_MODULES = [
    "contacts.models",
    "journeys.models",
    "emails.models",
    "webhooks.models",
]


def tortoise_url(database_url: str) -> str:
    """Tortoise spells PostgreSQL as `asyncpg://`; accept the usual spellings."""
    parsed = urlparse(database_url)
    if parsed.scheme in {"postgres", "postgresql"}:
        return urlunparse(parsed._replace(scheme="asyncpg"))
    return database_url


SQLITE_WAL_KEEP = 64 * 1024 * 1024


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
    if config["engine"] == "tortoise.backends.sqlite":
        # Tortoise truncates the WAL back to 16 KB after every checkpoint, so a busy inbox keeps
        # re-growing the file; keep up to 64 MB of it between checkpoints instead.
        config["credentials"]["journal_size_limit"] = SQLITE_WAL_KEEP
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


def ensure_sqlite_dir(settings: Settings) -> None:
    parsed = urlparse(settings.database_url)
    if parsed.scheme == "sqlite" and parsed.path and parsed.path != ":memory:":
        from pathlib import Path

        Path(parsed.path).parent.mkdir(parents=True, exist_ok=True)


async def open_database(settings: Settings) -> TortoiseContext:
    ensure_sqlite_dir(settings)
    return await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()
