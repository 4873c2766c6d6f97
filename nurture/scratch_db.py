"""Databases of one's own on a shared PostgreSQL server, for test runs and benchmarks."""

from __future__ import annotations

import uuid
from urllib.parse import urlparse, urlunparse


async def create_database(url: str, prefix: str) -> tuple[str, str]:
    """Create `<prefix>_<random>` on the server of `url`; returns (its URL, its name)."""
    import asyncpg

    parsed = urlparse(url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(urlunparse(parsed._replace(scheme="postgresql")))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return urlunparse(parsed._replace(path=f"/{name}")), name


async def drop_database(url: str, name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(urlunparse(urlparse(url)._replace(scheme="postgresql", path="/postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
