"""Tortoise's SQLite backend, made safe against a task cancelled while it takes the connection.

Tortoise serialises everything on its one SQLite connection with an asyncio lock. A transaction
takes that lock, then awaits BEGIN; when the task is cancelled at that await (an arq job timing
out, a worker stopped while Redis restarts), `__aenter__` raises, `__aexit__` never runs, and
the lock is never released: every later query of the process waits forever. (BEGIN itself still
runs on aiosqlite's thread, so the connection is also left inside a transaction.) Here the lock
is given back whatever happens, after a rollback queued behind that BEGIN on the same thread.

Transactions begin IMMEDIATE: they take the write lock at BEGIN, waiting for it as long as the
busy timeout allows. A deferred transaction reads first and asks for the lock at its first write;
in WAL mode, when another process (the server's inbox INSERT) committed in between, SQLite fails
that write at once with "database is locked", whatever the busy timeout, and the job had to retry.

Selected by `nurture.db.connection_config` as the engine for sqlite:// URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import Any

from tortoise.backends.base.client import ConnectionWrapper, TransactionalDBClient
from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionContext, SqliteTransactionWrapper
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise TransactionManagementError(error) from error


class CancellationSafeTransaction(SqliteTransactionContext):
    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            await self.connection.begin()
        except BaseException:
            await self._give_back()
            raise
        return self.connection

    async def _give_back(self) -> None:
        try:
            raw = self.connection._connection
            if raw is not None:
                with contextlib.suppress(Exception):  # nothing began: nothing to roll back
                    await asyncio.shield(raw.rollback())
        finally:
            token = getattr(self, "token", None)
            if token is not None:
                get_connections().reset(token)
            self._trxlock.release()


class CancellationSafeConnection(ConnectionWrapper[Any]):
    async def __aenter__(self) -> Any:
        await self._lock.acquire()
        try:
            await self.ensure_connection()
        except BaseException:
            self._lock.release()
            raise
        return self.connection


class CancellationSafeSqliteClient(SqliteClient):
    def acquire_connection(self) -> ConnectionWrapper[Any]:
        return CancellationSafeConnection(self._lock, self)

    def _in_transaction(self) -> CancellationSafeTransaction:
        return CancellationSafeTransaction(ImmediateTransactionWrapper(self), self._lock)


client_class = CancellationSafeSqliteClient
