"""Jinja filters available to every email template (and to marketer-written subject lines)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from jinja2 import Undefined

# Symbols that read naturally before the amount; other currencies print their ISO code after it.
_PREFIX_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}
_ZERO_DECIMAL = {"JPY", "KRW"}


def fallback(value: Any, default: str = "") -> Any:
    """`{{ contact.first_name | fallback('there') }}`: missing, None or blank values use the default.

    Jinja's own `default` only covers undefined values; contact data often holds "" or "  ".
    """
    if value is None or isinstance(value, Undefined):
        return default
    if isinstance(value, str) and not value.strip():
        return default
    return value.strip() if isinstance(value, str) else value


def money(amount: Any, currency: Any = "") -> str:
    """`{{ item.price | money(cart.currency) }}` -> "€24.00", "$5.50", "120.00 CHF"."""
    if amount is None or isinstance(amount, Undefined) or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)  # Keep whatever the shop sent rather than dropping a price.
    code = "" if isinstance(currency, Undefined) or currency is None else str(currency).upper()
    number = f"{value:,.0f}" if code in _ZERO_DECIMAL else f"{value:,.2f}"
    if code in _PREFIX_SYMBOLS:
        return f"-{_PREFIX_SYMBOLS[code]}{number[1:]}" if value < 0 else f"{_PREFIX_SYMBOLS[code]}{number}"
    return f"{number} {code}".strip()


def format_date(value: Any, fmt: str = "%-d %B %Y") -> str:
    """`{{ coupon.expires | format_date }}` -> "31 March 2026"; accepts dates, datetimes, ISO strings."""
    if value is None or isinstance(value, Undefined) or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value  # Free text such as "end of the month" is shown as written.
    if isinstance(value, date):
        return value.strftime(fmt)
    return str(value)


FILTERS = {"fallback": fallback, "money": money, "format_date": format_date}
