"""The quote builder modal and the quote summary in the approval message: pure, like bot/blocks.py.

The modal has a few fields per line (a catalog product, the item's words, quantity, unit price,
discount) and the quote's currency, tax, validity and note. "Add a line" and "Remove" rebuild it
(views.update); every rebuild gives its inputs fresh block ids (a revision suffix), so Slack shows
the values we put in rather than what it kept for a block id that now names another line.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from babel.numbers import list_currencies

from bot.blocks import Block, actions, button, context, input_block, plain, section
from bot.mrkdwn import escape
from emails.filters import money
from emails.quotes import QuoteLine, number

CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CNY", "TRY", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK",
              "INR", "BRL", "MXN", "SGD", "HKD", "KRW", "NZD", "ZAR", "AED")
LINE_FIELDS = ("product", "title", "qty", "price", "discount")
PRODUCT_ACTION = "quote_product"  # the external_select whose options come from the catalog


@dataclass(frozen=True)
class LineForm:
    title: str = ""
    quantity: str = "1"
    price: str = ""
    discount: str = ""
    product: tuple[str, str] | None = None  # (option value "v:<variant id>", its text)


@dataclass(frozen=True)
class BuilderForm:
    lines: tuple[LineForm, ...]
    currency: str
    tax_rate: str
    valid_until: str  # ISO date
    note: str = ""


@dataclass(frozen=True)
class BuilderMeta:
    task_id: int
    quote_id: int
    revision: int = 0
    tax_label: str = "Tax"
    catalog: bool = False  # offer the product picker (the shop's catalog is imported)

    def dump(self) -> str:
        return json.dumps({"t": self.task_id, "q": self.quote_id, "r": self.revision, "l": self.tax_label,
                           "c": self.catalog})

    @classmethod
    def load(cls, text: str) -> BuilderMeta:
        data = json.loads(text)
        return cls(int(data["t"]), int(data["q"]), int(data.get("r", 0)), str(data.get("l", "Tax")),
                   bool(data.get("c")))


# -- the modal ------------------------------------------------------------------------------------


def _number_input(action_id: str, value: str, *, decimal: bool, minimum: str = "0", maximum: str = "") -> Block:
    element: Block = {"type": "number_input", "action_id": action_id, "is_decimal_allowed": decimal,
                      "min_value": minimum}
    if maximum:
        element["max_value"] = maximum
    if value:
        element["initial_value"] = value
    return element


def _product_input(block_id: str, line: LineForm) -> Block:
    element: Block = {"type": "external_select", "action_id": PRODUCT_ACTION, "min_query_length": 0,
                      "placeholder": plain("Search the catalog")}
    if line.product:
        element["initial_option"] = {"text": plain(line.product[1][:75]), "value": line.product[0]}
    return input_block(block_id, "Product", element, optional=True,
                       hint="Its title and price fill the fields below that you leave empty.")


def _line_blocks(index: int, line: LineForm, meta: BuilderMeta, removable: bool) -> list[Block]:
    def bid(name: str) -> str:
        return f"l{index}_{name}.{meta.revision}"

    head = section(f"*Line {index + 1}*")
    if removable:
        head["accessory"] = button("Remove", "quote_remove_line", str(index))
    blocks = [head]
    if meta.catalog:
        blocks.append(_product_input(bid("product"), line))
    title: Block = {"type": "plain_text_input", "action_id": "title", "max_length": 200}
    if line.title:
        title["initial_value"] = line.title
    blocks += [
        input_block(bid("title"), "Item", title, optional=meta.catalog),
        input_block(bid("qty"), "Quantity", _number_input("qty", line.quantity, decimal=False, minimum="1")),
        input_block(bid("price"), "Unit price", _number_input("price", line.price, decimal=True),
                    optional=meta.catalog),
        input_block(bid("discount"), "Discount %", _number_input("discount", line.discount, decimal=True,
                                                                 maximum="100"), optional=True),
    ]
    return blocks


def _option(code: str) -> Block:
    return {"text": plain(code), "value": code}


def builder_modal(form: BuilderForm, meta: BuilderMeta, number_text: str, max_lines: int) -> Block:
    blocks: list[Block] = [context(f"Quote {escape(number_text)}: the customer gets these items and totals, with "
                                   "an accept button, when you approve it.")]
    for index, line in enumerate(form.lines):
        blocks += _line_blocks(index, line, meta, removable=len(form.lines) > 1)
    if len(form.lines) < max_lines:
        blocks.append(actions(f"add_line.{meta.revision}", button("Add a line", "quote_add_line", "add")))
    codes = CURRENCIES if form.currency in CURRENCIES else (form.currency, *CURRENCIES)
    date: Block = {"type": "datepicker", "action_id": "date"}
    if form.valid_until:
        date["initial_date"] = form.valid_until
    note: Block = {"type": "plain_text_input", "action_id": "note", "multiline": True, "max_length": 1000}
    if form.note:
        note["initial_value"] = form.note
    blocks += [
        {"type": "divider"},
        input_block(f"currency.{meta.revision}", "Currency", {"type": "static_select", "action_id": "currency",
                                                              "options": [_option(c) for c in codes],
                                                              "initial_option": _option(form.currency)}),
        input_block(f"tax.{meta.revision}", f"{meta.tax_label} %", _number_input("tax", form.tax_rate, decimal=True,
                                                                                 maximum="100"), optional=True),
        input_block(f"valid_until.{meta.revision}", "Prices held until", date),
        input_block(f"note.{meta.revision}", "Note for the customer", note, optional=True),
    ]
    return {"type": "modal", "callback_id": "quote_build", "private_metadata": meta.dump(),
            "title": plain("Quote builder"), "submit": plain("Save quote"), "close": plain("Cancel"),
            "blocks": blocks}


# -- reading it back ------------------------------------------------------------------------------


def _value(element: Mapping[str, Any]) -> str:
    option = element.get("selected_option") or {}
    return str(option.get("value") or element.get("selected_date") or element.get("value") or "").strip()


def _fields(state: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """block id without its revision -> the element's state."""
    found: dict[str, Mapping[str, Any]] = {}
    for block_id, inputs in (state.get("values") or {}).items():
        for element in inputs.values():
            found[str(block_id).split(".", 1)[0]] = element
    return found


def _line_form(fields: Mapping[str, Mapping[str, Any]], index: int) -> LineForm:
    def get(name: str) -> str:
        return _value(fields.get(f"l{index}_{name}", {}))

    option = (fields.get(f"l{index}_product") or {}).get("selected_option") or {}
    product = (str(option["value"]), str((option.get("text") or {}).get("text", ""))) if option.get("value") else None
    return LineForm(get("title"), get("qty"), get("price"), get("discount"), product)


def read_form(state: Mapping[str, Any], meta: BuilderMeta) -> BuilderForm:
    fields = _fields(state)
    count = 1 + max((int(key[1:key.index("_")]) for key in fields if key.startswith("l") and "_" in key
                     and key[1:key.index("_")].isdigit()), default=0)
    return BuilderForm(tuple(_line_form(fields, i) for i in range(count)), _value(fields.get("currency", {})),
                       _value(fields.get("tax", {})), _value(fields.get("valid_until", {})),
                       _value(fields.get("note", {})))


def variant_of(line: LineForm) -> int | None:
    value = line.product[0] if line.product else ""
    return int(value[2:]) if value.startswith("v:") and value[2:].isdigit() else None


@dataclass(frozen=True)
class Catalogued:
    """What the catalog says about a picked variant."""

    title: str
    price: Decimal


@dataclass
class Checked:
    lines: list[QuoteLine] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def _check_line(index: int, line: LineForm, found: Catalogued | None, revision: int, checked: Checked) -> None:
    def fail(name: str, text: str) -> None:
        checked.errors[f"l{index}_{name}.{revision}"] = text

    quantity, unit, discount = number(line.quantity), number(line.price), number(line.discount or "0")
    title = line.title or (found.title if found else "")
    unit = unit if unit is not None or found is None else found.price
    if not title:
        fail("title", "Name the item, or pick a product from the catalog.")
    if quantity is None or quantity < 1 or quantity != quantity.to_integral_value():
        fail("qty", "A whole number, 1 or more.")
    if unit is None or unit < 0:
        fail("price", "A price of 0 or more (each, before the discount).")
    if discount is None or not 0 <= discount <= 100:
        fail("discount", "A percentage from 0 to 100.")
    if not checked.errors:
        checked.lines.append(QuoteLine(title[:200], int(quantity or 1), unit, discount or Decimal(0),
                                       variant_of(line)))


def check_form(form: BuilderForm, catalog: Mapping[int, Catalogued], revision: int,
               today: dt.date) -> Checked:
    """The priced lines, or errors by block id (Slack shows each under its field)."""
    checked = Checked()
    for index, line in enumerate(form.lines):
        variant = variant_of(line)
        _check_line(index, line, catalog.get(variant) if variant else None, revision, checked)
    if form.currency not in list_currencies():
        checked.errors[f"currency.{revision}"] = "Pick a currency."
    tax = number(form.tax_rate or "0")
    if tax is None or not 0 <= tax <= 100:
        checked.errors[f"tax.{revision}"] = "A percentage from 0 to 100."
    try:
        if dt.date.fromisoformat(form.valid_until) < today:
            checked.errors[f"valid_until.{revision}"] = "Pick today or a later day."
    except ValueError:
        checked.errors[f"valid_until.{revision}"] = "Pick the last day the prices hold."
    return checked


def with_line_added(form: BuilderForm) -> BuilderForm:
    return replace(form, lines=(*form.lines, LineForm()))


def with_line_removed(form: BuilderForm, index: int) -> BuilderForm:
    kept = tuple(line for i, line in enumerate(form.lines) if i != index)
    return replace(form, lines=kept or (LineForm(),))


# -- in the approval message ----------------------------------------------------------------------


def summary_lines(quote: Mapping[str, Any]) -> list[str]:
    """mrkdwn lines of a `quote` context (emails/quotes.py): each item, then the totals."""
    currency = str(quote.get("currency", ""))

    def cash(amount: Any) -> str:
        return money(amount, currency) if amount not in (None, "") else "_no price yet_"

    lines = []
    for item in quote.get("items") or []:
        off = f" \N{MINUS SIGN}{escape(item['discount'])}%" if item.get("discount") else ""
        times = f"{item.get('quantity', 1)} \N{MULTIPLICATION SIGN} {escape(item.get('title', ''))}"
        lines.append(f"• {times} @ {cash(item.get('price'))}{off} = *{cash(item.get('amount'))}*")
    if quote.get("total"):
        tax = (f" · {escape(quote.get('tax_label'))} {quote.get('tax_rate')}%"
               f"{' included' if quote.get('tax_included') else ''}: {cash(quote.get('tax'))}" if quote.get("tax")
               else "")
        lines.append(f"*Total {cash(quote['total'])}*{tax}")
    return lines


def summary_section(number_text: str, quote: Mapping[str, Any]) -> Block:
    held = f" · held until {escape(quote['valid_until'])}" if quote.get("valid_until") else ""
    return section(f"*Quote {escape(number_text)}*{held}\n" + "\n".join(summary_lines(quote)), "quote_summary")
