"""The inbox: store a verified delivery first, then turn it into events (in a job).

Nothing a provider sent us is lost: a delivery that cannot be processed stays
in the table as `failed` with its error and can be replayed.
"""

from __future__ import annotations

import logging

from core.services import Services
from inbox.models import DeliveryStatus, InboundDelivery
from webhooks.processing import process

log = logging.getLogger(__name__)


async def process_delivery_row(services: Services, delivery: InboundDelivery) -> InboundDelivery:

    return await process(services, delivery)


async def replay_delivery(services: Services, delivery: InboundDelivery) -> InboundDelivery:
    delivery.status = DeliveryStatus.PENDING
    delivery.error = ""
    await delivery.save(update_fields=["status", "error"])
    return await process_delivery_row(services, delivery)
