"""Turn a stored delivery into normalized events and apply them, recording the outcome."""

from __future__ import annotations

import datetime as dt
import logging

from tortoise.exceptions import DBConnectionError

from core.errors import UnprocessablePayload
from core.services import Services
from inbox.models import DeliveryStatus, InboundDelivery
from pipeline.ingest import ingest
from webhooks.providers import IgnoredTopic, provider_for

log = logging.getLogger(__name__)

class StorageUnavailable(ConnectionError):
    """The database connection broke (or the database was locked) while a delivery was applied."""


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


async def process(services: Services, delivery: InboundDelivery) -> InboundDelivery:

    if delivery.status in (DeliveryStatus.PROCESSED, DeliveryStatus.IGNORED):
        return delivery
    delivery.attempts += 1
    try:
        provider = provider_for(delivery.provider)
        events = provider.parse(delivery.headers, bytes(delivery.body))
        await ingest(services, events, delivery_id=delivery.id)
    except IgnoredTopic as why:
        delivery.status, delivery.error = DeliveryStatus.IGNORED, str(why)
    except UnprocessablePayload as error:
        delivery.status, delivery.error = DeliveryStatus.FAILED, str(error)
    except TRANSIENT:
        raise  # the job retries; the row stays pending meanwhile
    except Exception as error:
        if is_transient(error):  # nothing was committed: the transaction died with its connection
            raise StorageUnavailable(f"{type(error).__name__}: {error}") from error
        # A bug of ours must not lose the delivery: keep it failed, visible and replayable.
        log.exception("processing delivery %s failed", delivery.id)
        delivery.status, delivery.error = DeliveryStatus.FAILED, f"internal error: {type(error).__name__}: {error}"
    else:
        delivery.status, delivery.error = DeliveryStatus.PROCESSED, ""
    delivery.processed_at = dt.datetime.now(dt.UTC)
    await delivery.save(update_fields=["status", "error", "attempts", "processed_at"])
    services.metrics.deliveries.labels(delivery.provider, delivery.status.value).inc()
    return delivery
