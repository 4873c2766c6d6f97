"""Turn a stored delivery into normalized events and apply them, recording the outcome."""

from __future__ import annotations

import datetime as dt
import logging

from core.errors import UnprocessablePayload
from core.services import Services
from inbox.models import DeliveryStatus, InboundDelivery
from pipeline.faults import TRANSIENT, is_transient
from pipeline.ingest import ingest
from webhooks.providers import IgnoredTopic, provider_for

log = logging.getLogger(__name__)

class StorageUnavailable(ConnectionError):
    """The database connection broke (or the database was locked) while a delivery was applied."""


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
