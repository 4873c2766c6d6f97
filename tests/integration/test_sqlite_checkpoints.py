"""The SQLite WAL is copied into the database from the side, not by the committing connection."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from nurture.db import SQLITE_AUTOCHECKPOINT_PAGES, checkpoint_wal, connection_config


def test_sqlite_commits_checkpoint_only_as_a_safety_net() -> None:
    credentials = connection_config("sqlite:///tmp/nurture.sqlite3")["credentials"]
    assert credentials["wal_autocheckpoint"] == SQLITE_AUTOCHECKPOINT_PAGES > 1000
    assert credentials["journal_mode"] == "WAL"


async def test_checkpointer_moves_committed_pages_into_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "wal.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # this connection never checkpoints itself
    writer.execute("CREATE TABLE deliveries (body BLOB)")
    writer.executemany("INSERT INTO deliveries VALUES (?)", [(b"x" * 3000,) for _ in range(300)])
    before = path.stat().st_size
    task = asyncio.create_task(checkpoint_wal(path, every=0.01))
    try:
        for _ in range(500):
            await asyncio.sleep(0.01)
            if path.stat().st_size > before:
                break
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert path.stat().st_size > before + 300 * 3000  # the rows now live in the database file
    assert writer.execute("SELECT count(*) FROM deliveries").fetchone() == (300,)
    writer.close()


async def test_checkpointer_never_creates_a_missing_database(tmp_path: Path) -> None:
    path = tmp_path / "absent.sqlite3"
    task = asyncio.create_task(checkpoint_wal(path, every=0.001))
    for _ in range(20):
        await asyncio.sleep(0.005)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert not path.exists()
