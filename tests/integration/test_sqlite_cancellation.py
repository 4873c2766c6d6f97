"""A task cancelled while its SQLite transaction begins must not wedge the connection for everyone.

Tortoise's own SQLite client takes its connection lock, then awaits BEGIN; cancelled there (an
arq job timing out, a worker stopped while Redis restarts), it never gives the lock back and every
later query of the process waits forever. nurture.sqlite_backend gives it back.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

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
