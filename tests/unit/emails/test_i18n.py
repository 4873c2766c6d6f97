"""Languages: which one an email is written in, money and dates the language's way, and text that
survives Turkish letters, Japanese subjects and Chinese lines."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import quopri
import random
from decimal import Decimal

import pytest

from core.addresses import fold_address
from emails.filters import format_date, money
from emails.i18n import accept_language, candidates, choose, font_stack, html_lang
from emails.mime import quoted_printable, unstructured

HAVE = ("ja", "tr", "zh")


@pytest.mark.parametrize(("wanted", "chosen"), [
    (["ja"], "ja"), (["ja-JP"], "ja"), (["JA_jp"], "ja"), (["zh-CN"], "zh"), (["zh-TW"], "zh"),
    (["zh-Hant-TW"], "zh"), (["tr-TR"], "tr"), (["fr-FR", "tr"], "tr"), (["fr"], "en"), ([""], "en"),
    (["not a tag"], "en"), (["", "ja"], "ja"), (["en-GB", "ja"], "en"),
])
def test_the_first_wanted_language_with_a_catalog_wins(wanted: list[str], chosen: str) -> None:
    assert choose(wanted, HAVE) == chosen


def test_a_tag_is_tried_as_given_then_shorter() -> None:
    assert candidates("zh-Hant-TW") == ["zh_Hant_TW", "zh_Hant", "zh"]
    assert candidates("<script>") == [] and candidates("") == []


def test_accept_language_is_read_by_quality() -> None:
    assert accept_language("fr-CH, fr;q=0.9, ja;q=0.95, *;q=0.5, de;q=0") == ["fr-CH", "ja", "fr"]
    assert accept_language("garbage;;,") == [] and accept_language("") == []


def test_html_lang_and_fonts_follow_the_language() -> None:
    assert html_lang("zh") == "zh-Hans" and html_lang("ja") == "ja" and html_lang("pt_BR") == "pt-BR"
    assert font_stack("ja").startswith("Hiragino Sans") and "PingFang SC" in font_stack("zh")
    assert font_stack("tr").startswith("Helvetica")


@pytest.mark.parametrize(("amount", "currency", "locale", "shown"), [
    ("14080", "JPY", "en", "¥14,080"), ("14080", "JPY", "ja", "￥14,080"), ("1234.5", "TRY", "tr", "₺1.234,50"),
    ("24", "EUR", "en", "€24.00"), ("5.5", "USD", "en", "$5.50"), ("99.9", "CNY", "zh", "¥99.90"),
    ("12.5", "", "tr", "12,50"), ("", "EUR", "ja", ""), ("about 40", "EUR", "en", "about 40"),
])
def test_money_is_written_the_language_s_way(amount: str, currency: str, locale: str, shown: str) -> None:
    assert money(amount, currency, locale) == shown


def test_dates_are_written_the_language_s_way() -> None:
    day = dt.date(2026, 12, 5)
    assert format_date(day, "", "en") == "5 December 2026"
    assert format_date(day, "", "ja") == "2026年12月5日" and format_date(day, "", "zh") == "2026年12月5日"
    assert format_date("2026-12-05", "", "tr") == "5 Aralık 2026"
    at = dt.datetime(2026, 12, 5, 18, 30, tzinfo=dt.UTC)
    assert format_date(at, "%A %-d %B at %H:%M", "en") == "Saturday 5 December at 18:30"
    assert format_date(at, "%A %-d %B at %H:%M", "ja") == "2026年12月5日 18:30"
    assert format_date("end of the month", "", "ja") == "end of the month"


def test_turkish_capital_i_folds_to_the_same_address() -> None:
    assert fold_address(" İLKAY.Yılmaz@Örnek.com.TR ") == "ilkay.yılmaz@örnek.com.tr"
    assert fold_address("ILKAY@example.com") == fold_address("İlkay@example.com") == "ilkay@example.com"
    assert fold_address("yılmaz@example.com") != fold_address("yilmaz@example.com")  # dotless i: its own letter


def test_a_japanese_subject_survives_the_standard_parser() -> None:
    subject = "【ご注文ありがとうございます】Acme Audioへようこそ、花子様。お届けまでの流れをご案内します"
    header = unstructured("Subject", subject)
    assert all(len(line) <= 78 for line in header.split("\r\n"))
    parsed = email.message_from_bytes(header.encode() + b"\r\nbody", policy=email.policy.default)
    assert str(parsed["Subject"]) == subject


def test_a_long_chinese_line_is_cut_between_characters() -> None:
    text = "您好！感谢您的订购。我们的团队会在发货前逐一检查每件商品，发货后您将收到物流跟踪链接。" * 4
    encoded = quoted_printable(text)
    assert quopri.decodestring(encoded).decode("utf-8") == text
    for line in encoded.split(b"\r\n"):
        assert len(line) <= 76
        quopri.decodestring(line.removesuffix(b"=")).decode("utf-8")  # each line decodes on its own


@pytest.mark.parametrize("locale", ["en", "ja", "zh", "tr", "de", "fr", "de_CH", "ar", "hi_IN", "pt_BR", "sv", "nl",
                                    "es", "ru", "pl", "ko", "en_IN", "fa", "he"])
def test_money_s_fast_pattern_writes_what_babel_writes(locale: str) -> None:
    """The pattern taken apart once (emails/filters.CurrencyPattern) gives Babel's own text for
    every amount, currency and language, or is not used: Babel formats those itself."""
    from babel.numbers import format_currency

    from emails.filters import _currency_pattern

    rng = random.Random(locale)
    amounts = [Decimal(0), Decimal("0.005"), Decimal("0.015"), Decimal("2.675"), Decimal("1E+3"), Decimal("-12.5")]
    amounts += [Decimal(rng.randrange(0, 10**9)).scaleb(-rng.randrange(0, 4)) for _ in range(200)]
    for code in ("EUR", "USD", "JPY", "KWD", "TRY", "CNY", "CHF", "INR", "GBP", "XXX", "BHD", "CLF"):
        for amount in amounts:
            assert money(amount, code, locale) == format_currency(amount, code, locale=locale), (code, amount)
    assert _currency_pattern("EUR", "en") is not None and _currency_pattern("INR", "hi_IN") is None  # lakhs
