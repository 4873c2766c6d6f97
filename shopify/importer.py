"""`nurture shopify import`: a store's products, customers and orders, through bulk operations.

Each resource is one bulk operation (`bulkOperationRunQuery`): Shopify writes every object to a
JSONL file, which we read line by line. Progress is a job run per resource (jobs.models.JobRun)
whose cursor is the number of JSONL lines applied, committed in the same transaction as each
CHUNK of objects: a killed import started again resumes the same operation's file right after the
last chunk that landed (Shopify keeps the file a week). Orders are those created in the
last `days` days and before the import started: later ones arrive as webhooks, as new events.
Nothing imported reaches a journey (pipeline/history.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from tortoise.transactions import in_transaction

from catalog.products import upsert_product
from contacts.events import NormalizedEvent
from core.errors import ShopRefused, ShopUnavailable
from core.services import Services
from jobs.models import JobRun, RunStatus
from pipeline.history import apply_history
from shopify import queries, shapes
from shopify.connect import admin
from webhooks.providers.shopify import parse_object
from webhooks.providers.shopify_products import product_shape

RESOURCES = ("products", "customers", "orders")  # customers before their orders: consent first
CHUNK = 200  # objects applied between two cursor commits
RUN_NAME = "shopify-import:{}"


@dataclass
class Outcome:
    resource: str
    objects: int = 0  # top-level objects read this run (products, customers, orders)
    applied: int = 0  # events or products that changed something (0 when run again)
    resumed_at: int = 0  # the JSONL line this run started from (0: from the start)


Report = Callable[[str, int, int], None]  # (resource, lines done, lines in all)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _open_run(services: Services, resource: str, days: int) -> JobRun:
    """The unfinished run of this resource to resume, or a new one with its order window."""
    name = RUN_NAME.format(resource)
    run = await JobRun.filter(name=name, status=RunStatus.RUNNING).order_by("-started_at").first()
    if run is not None:
        return run
    now = services.clock.now()
    window = {"since": _stamp(now - dt.timedelta(days=days)), "until": _stamp(now)}
    return await JobRun.create(name=name, period=uuid.uuid4().hex[:32], started_at=now, updated_at=now,
                               state=window)


def _bulk_query(resource: str, state: dict[str, Any]) -> str:
    if resource == "customers":
        return queries.BULK_CUSTOMERS
    if resource == "products":
        return queries.BULK_PRODUCTS
    return queries.BULK_ORDERS % {"filter": f"created_at:>='{state['since']}' AND created_at:<'{state['until']}'"}


async def _start_operation(services: Services, run: JobRun) -> None:
    resource = run.name.split(":", 1)[1]
    answer = (await admin(services).query(queries.BULK_RUN, {"query": _bulk_query(resource, run.state)}))
    result = answer["bulkOperationRunQuery"]
    errors = result.get("userErrors") or []
    if errors:
        if any(e.get("code") == "OPERATION_IN_PROGRESS" for e in errors):
            raise ShopUnavailable("another bulk operation of this app is running in the shop; try again when it ends")
        raise ShopRefused("Shopify refused the bulk query: " + "; ".join(e["message"] for e in errors))
    run.state = {**run.state, "operation": result["bulkOperation"]["id"]}
    run.cursor = 0
    await run.save(update_fields=["state", "cursor"])


async def _finished_operation(services: Services, run: JobRun, poll_every: float) -> tuple[str, int]:
    """(JSONL url, object count) of the run's bulk operation once Shopify completed it."""
    if not run.state.get("operation"):
        await _start_operation(services, run)
    while True:
        node = (await admin(services).query(queries.BULK_STATUS, {"id": run.state["operation"]}))["node"] or {}
        status = node.get("status", "")
        if status == "COMPLETED":
            return node.get("url") or "", int(node.get("objectCount") or 0)
        if status in ("FAILED", "CANCELED", "EXPIRED", ""):
            if node.get("errorCode") == "ACCESS_DENIED":
                raise ShopRefused(f"Shopify's bulk operation for {run.name} was denied: the token lacks a read scope")
            await _start_operation(services, run)  # an expired result (a week old) or a lost one: ask again
            continue
        await asyncio.sleep(poll_every)


async def _lines(url: str, skip: int) -> AsyncIterator[dict[str, Any]]:
    if not url:  # Shopify gives no file when the query matched nothing
        return
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_read=120)) as session, \
            session.get(url) as response:
        if response.status != 200:
            raise ShopUnavailable(f"the bulk operation's result could not be downloaded (HTTP {response.status})")
        number = 0
        async for raw in response.content:
            number += 1
            if number > skip and raw.strip():
                yield json.loads(raw)


async def _objects(url: str, skip: int) -> AsyncIterator[tuple[dict[str, Any], list[dict[str, Any]], int]]:
    """(object, its children, lines consumed through it): children follow their parent in the file."""
    parent: dict[str, Any] | None = None
    children: list[dict[str, Any]] = []
    consumed = skip
    async for line in _lines(url, skip):
        if "__parentId" in line:
            children.append(line)
        else:
            if parent is not None:
                yield parent, children, consumed
            parent, children = line, []
        consumed += 1
    if parent is not None:
        yield parent, children, consumed


def _historical(events: list[NormalizedEvent]) -> list[NormalizedEvent]:
    return [replace(e, properties={**e.properties, "imported": True}) for e in events]


def _events(resource: str, node: dict[str, Any], children: list[dict[str, Any]],
            at: dt.datetime) -> list[NormalizedEvent]:
    digest = hashlib.sha256(json.dumps(node, sort_keys=True).encode()).hexdigest()[:32]
    if resource == "customers":
        return _historical(parse_object("customers/update", shapes.customer(node), at, digest))
    order = shapes.order(node, children)
    events = parse_object("orders/create", order, at, digest)
    if shapes.fulfilled(node):
        events += parse_object("orders/fulfilled", order, at, digest)
    for refund in shapes.refunds(node):
        events += parse_object("refunds/create", refund, at, digest)
    return _historical(events)


async def _apply(services: Services, resource: str, batch: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> int:
    at = services.clock.now()
    if resource == "products":
        return sum([await upsert_product(product_shape(shapes.product(node, kids))) for node, kids in batch])
    events = [event for node, kids in batch for event in _events(resource, node, kids, at)]
    return await apply_history(services, events)


async def import_resource(services: Services, resource: str, days: int, report: Report,
                          poll_every: float = 1.0) -> Outcome:
    run = await _open_run(services, resource, days)
    url, total = await _finished_operation(services, run, poll_every)
    outcome = Outcome(resource, resumed_at=run.cursor)
    report(resource, run.cursor, total)
    batch: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    consumed = run.cursor
    async for node, children, consumed in _objects(url, run.cursor):
        batch.append((node, children))
        if len(batch) == CHUNK:
            await _commit(services, run, outcome, batch, consumed)
            report(resource, consumed, total)
            batch = []
    if batch:
        await _commit(services, run, outcome, batch, consumed)
    run.status, run.finished_at = RunStatus.COMPLETED, services.clock.now()
    await run.save(update_fields=["status", "finished_at"])
    report(resource, total, total)
    return outcome


async def _commit(services: Services, run: JobRun, outcome: Outcome,
                  batch: list[tuple[dict[str, Any], list[dict[str, Any]]]], consumed: int) -> None:
    # One transaction: the chunk's changes and the cursor past them commit together (one commit per
    # chunk, not per event), so a kill resumes exactly after the last chunk that landed.
    async with in_transaction():
        changed = await _apply(services, run.name.split(":", 1)[1], batch)
        await JobRun.filter(id=run.id).update(cursor=consumed, processed=run.processed + len(batch),
                                              changed=run.changed + changed, chunks=run.chunks + 1,
                                              updated_at=services.clock.now())
    outcome.objects += len(batch)
    outcome.applied += changed
    run.cursor, run.processed, run.changed = consumed, run.processed + len(batch), run.changed + changed
    run.chunks, run.updated_at = run.chunks + 1, services.clock.now()


async def import_store(services: Services, *, days: int, resources: tuple[str, ...] = RESOURCES,
                       report: Report = lambda *_: None, poll_every: float = 1.0) -> list[Outcome]:
    return [await import_resource(services, resource, days, report, poll_every) for resource in resources]
