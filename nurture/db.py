"""Database bootstrap: Tortoise configuration built from Settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse, urlunparse

from tortoise import Tortoise
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


def tortoise_config(settings: Settings) -> dict[str, Any]:
    return {
        "connections": {"default": tortoise_url(settings.database_url)},
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
