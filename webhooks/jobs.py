"""Jobs that turn stored deliveries into contact changes, and the sweeper that guarantees it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from arq import Retry

from core.services import Services
from inbox.dispatch import enqueue_processing
from inbox.models import DeliveryStatus, InboundDelivery
from pipeline.faults import TRANSIENT
from webhooks.group_apply import GroupApplier
from webhooks.processing import process

SWEEP_AFTER = dt.timedelta(seconds=30)


async def process_delivery(ctx: dict[str, Any], *, delivery_id: int) -> str:
    services: Services = ctx["services"]
    delivery = await InboundDelivery.get_or_none(id=delivery_id)
    if delivery is None:
        return "missing"
    try:
        done = await process(services, delivery)
    except TRANSIENT as error:
        # Database or network trouble: the row is still pending, try again shortly.
        raise Retry(defer=min(60, 2 ** ctx.get("job_try", 1))) from error
    return done.status.value


async def process_deliveries(ctx: dict[str, Any], *, delivery_ids: list[int]) -> int:
    """A group-committed batch: applied with the other jobs' waiting deliveries (webhooks/group_apply.py)."""
    # One per worker (nurture/worker.py puts it in the ctx every job's ctx is copied from).
    applier: GroupApplier = ctx.get("group_applier") or GroupApplier(ctx["services"])
    try:
        return await applier.apply(delivery_ids)
    except TRANSIENT as error:
        raise Retry(defer=min(60, 2 ** ctx.get("job_try", 1))) from error


async def sweep_pending_deliveries(ctx: dict[str, Any]) -> int:
    return await requeue_pending(ctx["services"], SWEEP_AFTER)


async def requeue_pending(services: Services, older_than: dt.timedelta) -> int:
    """Re-enqueue deliveries stored while Redis was unreachable or whose job was lost."""
    cutoff = dt.datetime.now(dt.UTC) - older_than
    rows = await InboundDelivery.filter(status=DeliveryStatus.PENDING, received_at__lt=cutoff).order_by(
        "id").limit(1000).only("id")
    ids = [row.id for row in rows]
    await enqueue_processing(services.redis, ids)
    return len(ids)
