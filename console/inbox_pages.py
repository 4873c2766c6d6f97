"""The inbox in the console: what every provider delivered, by provider and status; a failed
delivery's error; and replaying one, or every one a filter shows, for editors (with the CSRF token)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from tortoise.functions import Count

from console.keys import SERVICES
from console.pages import editor_form, page, session_of
from core.errors import BadRequest, NotFound
from inbox.dispatch import enqueue_processing
from inbox.models import DeliveryStatus, InboundDelivery

PAGE = 50
COUNTED = dt.timedelta(days=7)  # the counts by provider and status cover the last week (an index on received_at)
REPLAY_AT_ONCE = 500


def _filters(request: web.Request) -> dict[str, str]:
    found: dict[str, str] = {}
    if request.query.get("provider"):
        found["provider"] = request.query["provider"][:32]
    status = request.query.get("status", "")
    if status:
        if status not in {s.value for s in DeliveryStatus}:
            raise BadRequest(f"{status!r} is not a delivery status")
        found["status"] = status
    return found


async def deliveries(request: web.Request) -> web.Response:
    session = await session_of(request)
    filters = _filters(request)
    query = InboundDelivery.filter(**filters)
    if request.query.get("before", "").isdigit():
        query = query.filter(id__lt=int(request.query["before"]))
    rows = await query.order_by("-id").limit(PAGE).only("id", "provider", "topic", "status", "error",
                                                        "attempts", "received_at")
    since = request.app[SERVICES].clock.now() - COUNTED
    counts = await InboundDelivery.filter(received_at__gte=since).annotate(n=Count("id")).group_by(
        "provider", "status").values_list("provider", "status", "n")
    return page(request, "inbox.html", session, title="Inbox", rows=rows, counts=sorted(counts), filters=filters,
                more=rows[-1].id if len(rows) == PAGE else None)


async def replay(request: web.Request) -> web.Response:
    """One delivery (`id` in the path) or every failed one the filter shows: back to pending, queued again."""
    services = request.app[SERVICES]
    form = await editor_form(request, "replay deliveries")
    if request.match_info.get("id"):
        ids = [int(request.match_info["id"])]
        if not await InboundDelivery.exists(id=ids[0]):
            raise NotFound("there is no such delivery")
    else:
        provider = str(form.get("provider") or "")
        query = InboundDelivery.filter(status=DeliveryStatus.FAILED, **({"provider": provider} if provider else {}))
        ids = [int(row[0]) for row in await query.order_by("id").limit(REPLAY_AT_ONCE).values_list("id")]
    await InboundDelivery.filter(id__in=ids).update(status=DeliveryStatus.PENDING, error="")
    await enqueue_processing(services.redis, ids)
    raise web.HTTPSeeOther(f"/console/inbox?replayed={len(ids)}")


def register(app: web.Application) -> None:
    app.router.add_get("/inbox", deliveries)
    app.router.add_post("/inbox/replay", replay)
    app.router.add_post("/inbox/{id:\\d+}/replay", replay)
