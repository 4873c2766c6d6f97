"""Quotes with real prices: built in Slack's quote builder, approved, accepted by the customer
through the signed link, turned into a Shopify draft order with its invoice."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlparse

import pytest
from aiohttp.test_utils import TestClient

from catalog.models import Product, Variant
from contacts.events import NormalizedEvent
from contacts.models import Contact, Event
from core.clock import ManualClock
from core.services import Services
from journeys.library import TEMPLATES
from journeys.models import Enrollment, EnrollmentState, Task, TaskKind
from journeys.quote_models import Quote, QuoteStatus
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from pipeline.ingest import ingest
from tests.doubles.shopify_admin import ShopifyAdminDouble
from tests.doubles.slack_api import SlackApiDouble
from tests.scenarios.slack_support import (
    button_in_modal,
    calls,
    click,
    eventually,
    interact,
    modal_values,
    post_signed,
    submission,
)

Drive = Callable[[], Awaitable[int]]
Outbox = Callable[[], Awaitable[list[Any]]]
REQUEST = {"company": "Rossi Logistica", "product": "Studio monitor speakers (pair)", "quantity": "25",
           "currency": "EUR", "message": "Can you deliver to Milan before June?"}


async def _request(services: Services, drive: Drive, clock: ManualClock, fields: dict[str, str] = REQUEST) -> Task:
    spec = load_spec((TEMPLATES / "quote-request.yml").read_text())
    await import_spec(spec)
    await publish(spec.key)
    await Contact.create(email="maria.rossi@example.com", first_name="Maria", owner="UREP1")
    form = NormalizedEvent(type="form.submitted", source="form", idempotency_key="quote-1", occurred_at=clock.now(),
                           email="maria.rossi@example.com", properties={"form_key": "quote-request", "fields": fields})
    await ingest(services, [form])
    await drive()
    return await Task.get(kind=TaskKind.QUOTE_APPROVAL)


async def _stand() -> None:
    product = await Product.create(shopify_id=501, title="Monitor stand", status="active")
    await Variant.create(shopify_id=7001, product=product, title="Default Title", price=Decimal("39.99"))


async def _open(client: TestClient, services: Services, slack: SlackApiDouble, task: Task,
                user: str = "UREP1") -> dict[str, Any]:
    await interact(client, services, click("quote_build", f"task:{task.id}", user, "DREP1", task.slack_ts or ""))
    call = (await eventually(calls(slack, "views.open")))[-1]
    return {"id": "V1", **call.params["view"]}


async def _add_line(client: TestClient, services: Services, slack: SlackApiDouble, view: dict[str, Any],
                    answers: dict[str, str | tuple[str, str]]) -> dict[str, Any]:
    before = len(slack.called("views.update"))
    await interact(client, services, button_in_modal("quote_add_line", "add", "UREP1", view,
                                                     modal_values(view, answers)))
    call = (await eventually(calls(slack, "views.update", before + 1)))[-1]
    assert call.params["view_id"] == view["id"]
    return {"id": view["id"], **call.params["view"]}


async def _save(client: TestClient, services: Services, view: dict[str, Any],
                answers: dict[str, str | tuple[str, str]], user: str = "UREP1") -> Any:
    payload = submission("quote_build", modal_values(view, answers), user, view["private_metadata"])
    response = await interact(client, services, payload)
    assert response.status == 200
    return json.loads(await response.text() or "{}")


THREE_LINES: dict[str, str | tuple[str, str]] = {
    "l0_price": "430", "l0_discount": "5",
    "l1_product": ("v:7001", "Monitor stand · $39.99"), "l1_qty": "25",
    "l2_title": "Installation and calibration", "l2_qty": "1", "l2_price": "250",
    "tax": "22", "valid_until": "2026-04-30", "note": "Delivery to Milan in May, free of charge.",
}


async def _built(client: TestClient, services: Services, slack: SlackApiDouble, task: Task) -> None:
    if not await Product.exists():
        await _stand()
    view = await _open(client, services, slack, task)
    view = await _add_line(client, services, slack, view, {})
    view = await _add_line(client, services, slack, view, {})
    assert await _save(client, services, view, THREE_LINES) == {}
    await eventually(calls(slack, "chat.update"))


def _text(sent: Any) -> str:
    return str(sent.get_body(("plain",)).get_content()).replace("\r\n", "\n")


async def _accept_path(client: TestClient, text: str) -> str:
    link = re.search(r"Accept this quote \((\S+)\)", text)
    assert link, text
    tracked = await client.get(urlparse(link.group(1)).path, allow_redirects=False)  # the click-tracking hop
    return urlparse(tracked.headers["Location"]).path


async def _sent(client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive, clock: ManualClock,
                outbox: Outbox) -> str:
    """A request priced in the builder and approved: the path of the accept page its email links to."""
    task = await _request(services, drive, clock)
    await _built(client, services, slack, task)
    await interact(client, services, click("quote_approve", f"task:{task.id}", "UREP1", "DREP1", task.slack_ts or ""))
    await eventually(lambda: Quote.exists(status=QuoteStatus.SENT))
    await drive()
    return await _accept_path(client, _text((await outbox())[0]))


async def test_a_three_line_quote_is_built_approved_accepted_and_invoiced(
    client: TestClient, services: Services, slack: SlackApiDouble, shop: ShopifyAdminDouble, drive: Drive,
    clock: ManualClock, outbox: Outbox,
) -> None:
    await _stand()
    task = await _request(services, drive, clock)
    view = await _open(client, services, slack, task)
    first = {b["block_id"].split(".")[0]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert first["l0_title"]["initial_value"] == "Studio monitor speakers (pair)"  # the form prefills line 1
    assert first["l0_qty"]["initial_value"] == "25" and "initial_value" not in first["l0_price"]
    assert first["currency"]["initial_option"]["value"] == "EUR"

    suggestion = {"type": "block_suggestion", "user": {"id": "UREP1"}, "team": {"id": "T0ACME001"},
                  "api_app_id": "A0NURTURE01", "token": "x", "action_id": "quote_product", "block_id": "l1_product.1",
                  "value": "stand", "view": view}
    answer = await post_signed(client, services, urlencode({"payload": json.dumps(suggestion)}).encode())
    options = json.loads(await answer.text())["options"]
    assert [(o["text"]["text"], o["value"]) for o in options] == [("Monitor stand · 39.99", "v:7001")]

    await _built(client, services, slack, task)
    summary = json.dumps(slack.called("chat.update")[-1].params["blocks"], ensure_ascii=False)
    assert "25 × Studio monitor speakers (pair) @ €430.00 −5% = *€10,212.50*" in summary
    assert "25 × Monitor stand @ €39.99 = *€999.75*" in summary  # title and price from the catalog
    assert "*Total €13,983.95* · Tax 22%: €2,521.70" in summary and "held until 2026-04-30" in summary

    await interact(client, services, click("quote_approve", f"task:{task.id}", "UREP1", "DREP1", task.slack_ts or ""))
    await eventually(lambda: Quote.exists(status=QuoteStatus.SENT))
    await drive()
    (sent,) = await outbox()
    text = _text(sent)
    assert "Studio monitor speakers (pair) (−5%) | 25 | €430.00 | €10,212.50" in text
    assert "Monitor stand | 25 | €39.99 | €999.75" in text
    assert "Installation and calibration | 1 | €250.00 | €250.00" in text
    assert "Subtotal | €11,462.25" in text and "Tax 22% | €2,521.70" in text and "Total | €13,983.95" in text
    assert "held for you until 30 April 2026" in text and "Delivery to Milan in May, free of charge." in text

    accept = await _accept_path(client, text)
    page = await client.get(accept)
    assert page.status == 200 and "Accept this quote" in await page.text()
    assert not await Event.exists(type="quote.accepted")  # a GET (a link scanner) accepts nothing
    done = await client.post(accept)
    assert "Accepted on 10 March 2026" in await done.text()
    await drive()
    event = await Event.get(type="quote.accepted")
    assert event.properties["total"] == "13983.95" and event.properties["currency"] == "EUR"
    run = await Enrollment.get(id=task.enrollment_id)
    assert (run.state, run.exit_reason) == (EnrollmentState.EXITED, "converted")  # the journey's goal

    (draft,) = shop.draft_orders.values()
    lines = draft["input"]["lineItems"]
    assert lines[0] == {"quantity": 25, "title": "Studio monitor speakers (pair)",
                        "originalUnitPriceWithCurrency": {"amount": "430", "currencyCode": "EUR"},
                        "appliedDiscount": {"valueType": "PERCENTAGE", "value": 5.0, "title": "Quoted discount"}}
    assert lines[1]["variantId"] == "gid://shopify/ProductVariant/7001" and lines[1]["quantity"] == 25
    assert draft["input"]["email"] == "maria.rossi@example.com"
    invoice = (await outbox())[-1]
    assert str(invoice["Subject"]) == f"Your order from quote Q-{(await Quote.get()).id:05d} is ready"
    pay = re.search(r"Complete your order \((\S+)\)", _text(invoice))
    assert pay and "Total | €13,983.95" in _text(invoice)
    hop = await client.get(urlparse(pay.group(1)).path, allow_redirects=False)
    assert hop.headers["Location"] == draft["invoiceUrl"]  # tracked, then on to the shop's invoice
    thread = [c.params["text"] for c in slack.called("chat.postMessage") if c.params.get("thread_ts") == task.slack_ts]
    assert ":tada: The customer accepted quote" in thread[-1] and "€13,983.95" in thread[-1]

    again = await client.post(accept)  # a second click: one acceptance, one draft order, one invoice
    assert "You accepted this quote already" in await again.text()
    await drive()
    assert await Event.filter(type="quote.accepted").count() == 1 and len(shop.draft_orders) == 1
    assert len(await outbox()) == 2


async def test_the_builder_says_what_is_wrong_under_each_field(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive, clock: ManualClock,
) -> None:
    task = await _request(services, drive, clock)
    view = await _open(client, services, slack, task)
    answer = await _save(client, services, view, {"l0_qty": "0", "l0_price": "-3", "valid_until": "2026-03-01",
                                                  "tax": "120"})
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"l0_qty.0", "l0_price.0", "valid_until.0", "tax.0"}
    assert (await Quote.get()).total is None  # nothing saved


async def test_an_unpriced_quote_cannot_be_sent(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive, clock: ManualClock, outbox: Outbox,
) -> None:
    task = await _request(services, drive, clock)
    await interact(client, services, click("quote_approve", f"task:{task.id}", "UREP1", "DREP1", task.slack_ts or ""))
    refusal = (await eventually(calls(slack, "chat.postEphemeral")))[0]
    assert "price every line before sending" in refusal.params["text"] and "Studio monitor" in refusal.params["text"]
    await drive()
    assert await outbox() == [] and (await Quote.get()).status == QuoteStatus.DRAFT


async def test_a_request_naming_a_catalog_product_is_priced_from_it(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive, clock: ManualClock, outbox: Outbox,
) -> None:
    await _stand()
    task = await _request(services, drive, clock, {"product": "monitor STAND", "quantity": "4"})
    posted = json.dumps(slack.called("chat.postMessage")[0].params["blocks"], ensure_ascii=False)
    assert "4 × monitor STAND @ $39.99 = *$159.96*" in posted  # the workspace currency: no shop, none asked
    await interact(client, services, click("quote_approve", f"task:{task.id}", "UREP1", "DREP1", task.slack_ts or ""))
    await eventually(lambda: Quote.exists(status=QuoteStatus.SENT))
    await drive()
    assert "Total | $159.96" in _text((await outbox())[0])


async def test_only_the_rep_or_an_admin_prices_a_quote(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive, clock: ManualClock,
) -> None:
    task = await _request(services, drive, clock)
    await interact(client, services, click("quote_build", f"task:{task.id}", "UREP2", "DREP1"))
    refusal = (await eventually(calls(slack, "chat.postEphemeral")))[0]
    assert refusal.params["user"] == "UREP2" and not slack.called("views.open")
    view = await _open(client, services, slack, task)
    await _save(client, services, view, {"l0_price": "1"}, user="UREP2")  # a crafted submission
    await eventually(lambda: len(slack.called("chat.postMessage")) > 1)
    assert "only the assigned rep" in slack.called("chat.postMessage")[-1].params["text"]
    assert (await Quote.get()).total is None


async def test_an_expired_or_forged_link_accepts_nothing(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive, clock: ManualClock, outbox: Outbox,
) -> None:
    accept = await _sent(client, services, slack, drive, clock, outbox)
    forged = await client.post(accept[:-3] + ("AAA" if not accept.endswith("AAA") else "BBB"))
    assert forged.status == 400
    clock.advance(dt.timedelta(days=52))  # past 30 April
    late = await client.post(accept)
    assert "expired on 30 April 2026" in await late.text()
    assert not await Event.exists(type="quote.accepted") and (await Quote.get()).status == QuoteStatus.SENT


@pytest.mark.parametrize("scopes", [{"read_customers"}])
async def test_a_shop_refusing_draft_orders_still_records_the_acceptance(
    client: TestClient, services: Services, slack: SlackApiDouble, shop: ShopifyAdminDouble, drive: Drive,
    clock: ManualClock, outbox: Outbox, scopes: set[str],
) -> None:
    accept = await _sent(client, services, slack, drive, clock, outbox)
    shop.scopes = scopes
    await client.post(accept)
    await drive()
    quote = await Quote.get()
    assert quote.status == QuoteStatus.ACCEPTED and "write_draft_orders" in quote.shop_error
    assert len(await outbox()) == 1  # no invoice without a draft order
    note = slack.called("chat.postMessage")[-1].params["text"]
    assert "Draft order refused" in note and "write_draft_orders" in note
