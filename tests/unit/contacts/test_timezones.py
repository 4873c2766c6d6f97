"""Time zones from addresses: a guess only where the address settles it."""

from __future__ import annotations

import pytest

from contacts.timezones import zone_for_address


@pytest.mark.parametrize(("country", "province", "zone"), [
    ("DE", "BE", "Europe/Berlin"),
    ("de", "", "Europe/Berlin"),
    ("JP", "JP-13", "Asia/Tokyo"),
    ("TR", "34", "Europe/Istanbul"),
    ("CN", "", "Asia/Shanghai"),
    ("US", "OR", "America/Los_Angeles"),
    ("US", "US-NY", "America/New_York"),
    ("US", "AZ", "America/Phoenix"),
    ("CA", "QC", "America/Toronto"),
    ("AU", "WA", "Australia/Perth"),
    ("MX", "JAL", "America/Mexico_City"),
    ("MX", "BC", "America/Tijuana"),
    ("BR", "SP", "America/Sao_Paulo"),
])
def test_an_address_that_settles_it(country: str, province: str, zone: str) -> None:
    assert zone_for_address(country, province) == zone


@pytest.mark.parametrize(("country", "province"), [
    ("US", ""), ("US", "ZZ"), ("CA", ""), ("AU", ""), ("RU", "MOW"), ("MX", ""), ("ZZ", ""), ("", ""),
])
def test_no_guess_where_a_country_spans_several_zones_or_is_unknown(country: str, province: str) -> None:
    assert zone_for_address(country, province) is None
