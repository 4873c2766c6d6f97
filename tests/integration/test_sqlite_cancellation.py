"""A task cancelled while its SQLite transaction begins must not wedge the connection for everyone.

Tortoise's own SQLite client takes its connection lock, then awaits BEGIN; cancelled there (an
arq job timing out, a worker stopped while Redis restarts), it never gives the lock back and every
later query of the process waits forever. nurture.sqlite_backend gives it back.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from tortoise.context import TortoiseContext

from nurture.db import connection_config
from nurture.sqlite_backend import CancellationSafeSqliteClient


async def test_a_transaction_cancelled_while_it_begins_leaves_the_connection_usable(tmp_path: Path) -> None:
    config = connection_config(f"sqlite://{tmp_path / 'cancel.sqlite3'}")
    async with TortoiseContext():
        client = CancellationSafeSqliteClient(connection_name="cancel-test", **config["credentials"])
        await client.create_connection(with_db=True)
        await client.execute_script("CREATE TABLE t (n INTEGER)")

        async def write() -> None:
            async with client._in_transaction() as connection:
                await connection.execute_insert("INSERT INTO t VALUES (1)", [])

        for _ in range(3):
            task = asyncio.create_task(write())
            await asyncio.sleep(0)  # the task holds the lock and awaits BEGIN on aiosqlite's thread
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            # The lock is free and no transaction is left open: reads and new transactions go on.
            rows = await asyncio.wait_for(client.execute_query_dict("SELECT count(*) AS n FROM t"), 10)
            assert rows == [{"n": 0}]
        await asyncio.wait_for(write(), 10)
        assert await client.execute_query_dict("SELECT count(*) AS n FROM t") == [{"n": 1}]
        await client.close()


async def test_the_configured_sqlite_engine_is_the_safe_one(tmp_path: Path) -> None:
    from tortoise.connection import ConnectionHandler

    config = connection_config(f"sqlite://{tmp_path / 'engine.sqlite3'}")
    assert ConnectionHandler()._discover_client_class(config) is CancellationSafeSqliteClient


async def test_a_transaction_holds_the_write_lock_from_its_begin(tmp_path: Path) -> None:
    """Another process's commit between a transaction's read and its first write must not fail
    that write: with a deferred BEGIN, WAL mode answers "database is locked" at once whatever the
    busy timeout (the worker's batches met it under the server's inserts). IMMEDIATE takes the
    lock at BEGIN, so the other writer waits instead."""
    import sqlite3

    path = tmp_path / "immediate.sqlite3"
    config = connection_config(f"sqlite://{path}")
    async with TortoiseContext():
        client = CancellationSafeSqliteClient(connection_name="immediate-test", **config["credentials"])
        await client.create_connection(with_db=True)
        await client.execute_script("CREATE TABLE t (n INTEGER)")
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            async with client._in_transaction() as connection:
                assert await connection.execute_query_dict("SELECT count(*) AS n FROM t") == [{"n": 0}]
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("INSERT INTO t VALUES (7)")  # the other process waits for our commit
                await connection.execute_insert("INSERT INTO t VALUES (1)", [])
            other.execute("INSERT INTO t VALUES (2)")
        finally:
            other.close()
        assert await client.execute_query_dict("SELECT n FROM t ORDER BY n") == [{"n": 1}, {"n": 2}]
        await client.close()
