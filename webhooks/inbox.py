"""The inbox: store a verified delivery first, then turn it into events (in a job).

Nothing a provider sent us is lost: a delivery that cannot be processed stays
in the table as `failed` with its error and can be replayed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

from tortoise.exceptions import IntegrityError

from nurture.bootstrap import Services
from webhooks.models import DeliveryStatus, InboundDelivery

log = logging.getLogger(__name__)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def store_delivery(
    provider: str, external_id: str, topic: str, headers: Mapping[str, str], body: bytes
) -> tuple[InboundDelivery, bool]:
    """Insert the delivery; returns (delivery, created). A repeat returns the stored one."""
    existing = await InboundDelivery.get_or_none(provider=provider, external_id=external_id)
    if existing is not None:
        return existing, False
    try:
        delivery = await InboundDelivery.create(
            provider=provider,
            external_id=external_id,
            topic=topic,
            headers=dict(headers),
            body=body,
            received_at=_now(),
        )
    except IntegrityError:
        # A concurrent copy of the same delivery won the insert.
        return await InboundDelivery.get(provider=provider, external_id=external_id), False
    return delivery, True


async def process_delivery_row(services: Services, delivery: InboundDelivery) -> InboundDelivery:
    from webhooks.processing import process

    return await process(services, delivery)


async def replay_delivery(services: Services, delivery: InboundDelivery) -> InboundDelivery:
    delivery.status = DeliveryStatus.PENDING
    delivery.error = ""
    await delivery.save(update_fields=["status", "error"])
    return await process_delivery_row(services, delivery)
