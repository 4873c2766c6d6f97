"""Jinja filters available to every email template (and to marketer-written subject lines)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.dates import format_time
from babel.numbers import format_currency, format_decimal, get_currency_precision, get_currency_symbol
from jinja2 import Undefined
from jinja2.runtime import Context
from jinja2.utils import pass_context


def fallback(value: Any, default: str = "") -> Any:
    """`{{ contact.first_name | fallback('there') }}`: missing, None or blank values use the default.

    Jinja's own `default` only covers undefined values; contact data often holds "" or "  ".
    """
    if value is None or isinstance(value, Undefined):
        return default
    if isinstance(value, str) and not value.strip():
        return default
    return value.strip() if isinstance(value, str) else value


def _decimal(amount: Any) -> Decimal | str | None:
    if amount is None or isinstance(amount, Undefined) or amount == "":
        return None
    try:
        return Decimal(str(amount))
    except InvalidOperation:
        return str(amount)  # Keep whatever the shop sent rather than dropping a price.


def money(amount: Any, currency: Any = "", locale: str = "en") -> str:
    """`{{ item.price | money(cart.currency) }}`: the amount as the language writes that currency
    (CLDR through Babel): "€24.00", "$5.50", "¥14,080" in English, "₺1.234,50" in Turkish."""
    value = _decimal(amount)
    if value is None or isinstance(value, str):
        return value or ""
    code = "" if isinstance(currency, Undefined) or currency is None else str(currency).strip().upper()
    if len(code) != 3 or not code.isalpha():
        return format_decimal(value, format="#,##0.00", locale=_babel(locale))
    fast = _currency_pattern(code, _babel(locale))
    if fast is not None and value.is_finite() and value >= 0:
        return fast.format(value)
    return format_currency(value, code, locale=_babel(locale))


@dataclass(frozen=True)
class CurrencyPattern:
    """How one language writes one currency, taken from Babel once: every email shows a few
    amounts, and Babel reads its CLDR tables again for each (a third of a whole message's cost)."""

    prefix: str
    suffix: str
    exponent: Decimal  # the currency's minor unit: Decimal("0.01"), or 1 for yen
    separators: dict[int, str]  # str.translate table from Python's "," and "." to the language's

    def format(self, value: Decimal) -> str:
        # Quantized in the decimal context's rounding, as Babel does; grouped by three as checked.
        digits = format(value.quantize(self.exponent), ",f")
        return self.prefix + (digits.translate(self.separators) if self.separators else digits) + self.suffix


# Amounts Babel must agree on before its pattern is used without it.
_PROBES = tuple(Decimal(text) for text in ("0", "0.5", "7", "12.345", "999.995", "1234.5", "1234567.891"))


@functools.lru_cache(maxsize=256)
def _currency_pattern(code: str, locale: str) -> CurrencyPattern | None:
    """None where Babel's pattern is not a plain prefix, number and suffix grouped by three (Indian
    lakhs, say) or the code is not a currency: Babel formats those itself."""
    try:
        language = Locale.parse(locale)
        pattern = language.currency_formats["standard"]
        symbols = language.number_symbols["latn"]
        symbol = get_currency_symbol(code, locale)
        digits = get_currency_precision(code)
    except (KeyError, ValueError, UnknownLocaleError):
        return None
    if pattern.grouping != (3, 3):
        return None
    table = str.maketrans({",": symbols["group"], ".": symbols["decimal"]})
    fast = CurrencyPattern(pattern.prefix[0].replace("¤", symbol), pattern.suffix[0].replace("¤", symbol),
                           Decimal(1).scaleb(-digits), {} if symbols["group"] + symbols["decimal"] == ",." else table)
    agrees = all(fast.format(probe) == format_currency(probe, code, locale=locale) for probe in _PROBES)
    return fast if agrees else None


@functools.lru_cache(maxsize=64)  # asked for every amount and date of every email
def _babel(locale: str) -> str:
    try:
        return str(Locale.parse(locale.replace("-", "_") or "en"))
    except (ValueError, UnknownLocaleError):
        return "en"


def _as_date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value  # Free text such as "end of the month" is shown as written.
    return value


def format_date(value: Any, fmt: str = "", locale: str = "en") -> str:
    """`{{ coupon.expires | format_date }}` -> "31 March 2026", "2026年3月31日", "31 Mart 2026";
    accepts dates, datetimes, ISO strings. A strftime `fmt` is English; other languages get
    their own long date (and time, when `fmt` shows one)."""
    if value is None or isinstance(value, Undefined) or value == "":
        return ""
    value = _as_date(value)
    if not isinstance(value, date):
        return str(value)
    return _written_date(value, fmt, _babel(locale))


@functools.lru_cache(maxsize=1024)  # the same few dates (an expiry, today) in every recipient's email
def _written_date(value: date, fmt: str, language: str) -> str:
    if fmt and language.split("_")[0] == "en":
        return value.strftime(fmt)
    if isinstance(value, datetime) and "%H" in fmt:
        return f"{babel_format_date(value, 'long', locale=language)} {format_time(value, 'short', locale=language)}"
    if language.split("_")[0] == "en":
        return babel_format_date(value, "d MMMM y", locale=language)  # 31 March 2026: what our emails say
    return babel_format_date(value, "long", locale=language)


@pass_context
def _money_filter(context: Context, amount: Any, currency: Any = "") -> str:
    return money(amount, currency, str(context.get("locale") or "en"))


@pass_context
def _date_filter(context: Context, value: Any, fmt: str = "") -> str:
    return format_date(value, fmt, str(context.get("locale") or "en"))


# The recipient-stage filters read the email's language from the render context (`locale`).
FILTERS = {"fallback": fallback, "money": _money_filter, "format_date": _date_filter}
