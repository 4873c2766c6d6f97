"""A lost or busy database, told apart from bad data: the first is retried later, the second is
recorded (a stored delivery marked failed, a contact skipped by the nightly refresh)."""

from __future__ import annotations

from tortoise.exceptions import DBConnectionError

# Infrastructure trouble (database or network unreachable): retry rather than fail.
TRANSIENT = (OSError, ConnectionError, TimeoutError, DBConnectionError)
# What drivers say when the connection died under a query (Tortoise re-raises these as
# OperationalError / TransactionManagementError, so the type alone does not tell).
_LOST = ("connection was closed", "connection is closed", "terminating connection", "connection reset",
         "database is locked", "server closed the connection", "connection does not exist")


def is_transient(error: BaseException) -> bool:
    """True when `error`, or what caused it, is a lost or busy database rather than a bad payload."""
    current: BaseException | None = error
    for _ in range(8):
        if current is None:
            return False
        if isinstance(current, TRANSIENT):
            return True
        if type(current).__module__.startswith("asyncpg") and type(current).__name__ in (
                "ConnectionDoesNotExistError", "InterfaceError", "AdminShutdownError", "ConnectionFailureError",
                "CannotConnectNowError", "InternalClientError"):
            return True
        if any(marker in str(current).lower() for marker in _LOST):
            return True
        current = current.__cause__ or current.__context__
    return False
