"""The quote builder: "Edit quote" on an approval opens it; lines are added and removed in place;
products come from the catalog as the rep types; "Save quote" prices the quote and updates the
approval message, which shows the items and totals the customer will get."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import where
from bot.blocks import plain
from bot.context import services_of
from bot.decide import may_act, refuse
from bot.quote_blocks import (
    PRODUCT_ACTION,
    BuilderForm,
    BuilderMeta,
    Catalogued,
    LineForm,
    builder_modal,
    check_form,
    read_form,
    variant_of,
    with_line_added,
    with_line_removed,
)
from bot.tasks import refresh_message, task_id_of
from catalog.models import Product
from catalog.search import search_variants, variant_by_id
from catalog.shops import current_shop
from core.errors import NurtureError
from emails.filters import money
from emails.quotes import QuoteLine
from journeys.decisions import load_task, may_decide
from journeys.models import TaskStatus
from journeys.quote_models import Quote, quote_number
from journeys.quotes import MAX_LINES, QuoteDraft, lines_of, quote_for_task, save_draft, today

Ack = Callable[..., Awaitable[None]]


def _line_form(line: QuoteLine) -> LineForm:
    product = (f"v:{line.variant_id}", line.title) if line.variant_id else None
    price = "" if line.unit_price is None else str(line.unit_price)
    return LineForm(line.title, str(line.quantity), price, "" if not line.discount else str(line.discount), product)


def form_of(quote: Quote) -> BuilderForm:
    return BuilderForm(tuple(_line_form(line) for line in lines_of(quote)), quote.currency,
                       f"{Decimal(quote.tax_rate).normalize():f}", quote.valid_until.isoformat(), quote.note)


async def open_builder(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext,
                       client: AsyncWebClient) -> None:
    await ack()
    services, user = services_of(context), body["user"]["id"]
    task = await may_act(services, task_id_of(action["value"]), user, where(body)[0])
    if task is None:
        return
    if task.status != TaskStatus.OPEN:
        await refuse(services, task, user, where(body)[0], f"this quote was already {task.status.value}.")
        return
    quote = await quote_for_task(services, task)
    catalog = await Product.exists()
    meta = BuilderMeta(task.id, quote.id, 0, quote.tax_label, catalog)
    await client.views_open(trigger_id=body["trigger_id"],
                            view=builder_modal(form_of(quote), meta, quote.number, MAX_LINES))


def change_lines(kind: str) -> Callable[..., Awaitable[None]]:
    async def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        view = body["view"]
        meta = BuilderMeta.load(view["private_metadata"])
        form = read_form(view.get("state") or {}, meta)
        form = with_line_added(form) if kind == "add" else with_line_removed(form, int(action.get("value") or 0))
        meta = dataclasses.replace(meta, revision=meta.revision + 1)
        await client.views_update(view_id=view["id"], hash=view.get("hash"),
                                  view=builder_modal(form, meta, quote_number(meta.quote_id), MAX_LINES))

    return listener


async def product_options(ack: Ack, payload: dict[str, Any]) -> None:
    """The catalog's products matching what the rep typed (block_suggestion)."""
    shop = await current_shop()
    currency = shop.currency if shop else ""
    choices = await search_variants(str(payload.get("value") or ""), 20)
    await ack(options=[{"text": plain(f"{choice.title} · {money(choice.price, currency)}"[:75]),
                        "value": f"v:{choice.variant_id}"} for choice in choices])


async def _catalogued(form: BuilderForm) -> dict[int, Catalogued]:
    found: dict[int, Catalogued] = {}
    for line in form.lines:
        variant = variant_of(line)
        choice = await variant_by_id(variant) if variant else None
        if variant and choice:
            found[variant] = Catalogued(choice.title, choice.price)
    return found


async def save_builder(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext) -> None:
    services, user = services_of(context), body["user"]["id"]
    meta = BuilderMeta.load(view["private_metadata"])
    form = read_form(view.get("state") or {}, meta)
    checked = check_form(form, await _catalogued(form), meta.revision, today(services))
    if checked.errors:
        await ack(response_action="errors", errors=checked.errors)
        return
    await ack()
    try:
        task = await load_task(meta.task_id)
        if not may_decide(services, task, user):
            raise NurtureError("only the assigned rep or an admin can price this quote")
        draft = QuoteDraft(tuple(checked.lines), form.currency, Decimal(form.tax_rate or "0"),
                           dt.date.fromisoformat(form.valid_until), form.note)
        await save_draft(meta.quote_id, draft, user)
    except NurtureError as error:
        await refuse(services, None, user, None, str(error))
        return
    await refresh_message(services, task)


def register(app: AsyncApp) -> None:
    app.action("quote_build")(open_builder)
    app.action("quote_add_line")(change_lines("add"))
    app.action("quote_remove_line")(change_lines("remove"))
    app.options(PRODUCT_ACTION)(product_options)
    app.view("quote_build")(save_builder)
