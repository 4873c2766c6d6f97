"""A person's IANA time zone from their address (country, and province where a country spans several).

The countries come from the IANA database's own `zone.tab` (the `tzdata` package), whose first zone
for a country is its principal one; that is a good guess wherever the country keeps one offset in
practice (Germany, China, Spain, New Zealand...). Where it does not (the United States, Canada,
Australia, Mexico, Brazil, Russia...), only the province decides, from the table below; without
one the answer is None: a wrong guess would move quiet hours into someone's night.
"""

from __future__ import annotations

import functools
from importlib import resources

# Countries whose people live at several offsets: the first zone in zone.tab is no guess for them.
_SPREAD = frozenset({"US", "CA", "AU", "BR", "MX", "RU", "ID", "KZ", "AQ", "GL", "FM", "KI", "PF", "UM", "MH", "CD"})

_EAST, _CENTRAL, _MOUNTAIN, _PACIFIC = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"
# Each state's zone where most of its people live (split states: the larger part).
_US = {
    **dict.fromkeys(("CT", "DE", "DC", "FL", "GA", "ME", "MD", "MA", "NH", "NJ", "NY", "NC", "OH", "PA", "RI", "SC",
                     "VT", "VA", "WV"), _EAST),
    "MI": "America/Detroit", "IN": "America/Indiana/Indianapolis", "KY": "America/Kentucky/Louisville",
    "TN": _CENTRAL, **dict.fromkeys(("AL", "AR", "IL", "IA", "KS", "LA", "MN", "MS", "MO", "NE", "ND", "OK", "SD", "TX",
                                     "WI"), _CENTRAL),
    **dict.fromkeys(("CO", "ID", "MT", "NM", "UT", "WY"), _MOUNTAIN), "AZ": "America/Phoenix",
    **dict.fromkeys(("CA", "NV", "OR", "WA"), _PACIFIC),
    "AK": "America/Anchorage", "HI": "Pacific/Honolulu", "PR": "America/Puerto_Rico",
}
_CA = {
    "NL": "America/St_Johns", **dict.fromkeys(("NS", "NB", "PE"), "America/Halifax"),
    **dict.fromkeys(("QC", "ON", "NU"), "America/Toronto"), "MB": "America/Winnipeg", "SK": "America/Regina",
    "AB": "America/Edmonton", "NT": "America/Edmonton", "BC": "America/Vancouver", "YT": "America/Whitehorse",
}
_AU = {
    "NSW": "Australia/Sydney", "ACT": "Australia/Sydney", "VIC": "Australia/Melbourne", "QLD": "Australia/Brisbane",
    "SA": "Australia/Adelaide", "WA": "Australia/Perth", "TAS": "Australia/Hobart", "NT": "Australia/Darwin",
}
_MX = {
    "BC": "America/Tijuana", "SON": "America/Hermosillo", **dict.fromkeys(("BCS", "SIN", "NAY"), "America/Mazatlan"),
    "CHIH": "America/Chihuahua", "ROO": "America/Cancun",
}
_BR = {
    **dict.fromkeys(("AM", "RR", "RO"), "America/Manaus"), **dict.fromkeys(("MT", "MS"), "America/Cuiaba"),
    "AC": "America/Rio_Branco", "PA": "America/Belem", "AP": "America/Belem", "TO": "America/Araguaina",
    **dict.fromkeys(("CE", "RN", "PB", "PI", "MA"), "America/Fortaleza"), "PE": "America/Recife",
    "AL": "America/Maceio", "SE": "America/Maceio", "BA": "America/Bahia",
}
# Where the rest of the country is in one zone, that zone stands for the states not listed.
_PROVINCES = {"US": (_US, None), "CA": (_CA, None), "AU": (_AU, None), "MX": (_MX, "America/Mexico_City"),
              "BR": (_BR, "America/Sao_Paulo")}


@functools.cache
def _principal_zones() -> dict[str, str]:
    """Country code -> its first zone in zone.tab."""
    table = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    zones: dict[str, str] = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            country, _, zone = line.split("\t")[:3]
            zones.setdefault(country, zone)
    return zones


def zone_for_address(country: str, province: str = "") -> str | None:
    """The IANA zone for an address's ISO country code and province code, or None when unsure."""
    country, province = country.strip().upper(), province.strip().upper().removeprefix(f"{country.strip().upper()}-")
    if country in _PROVINCES:
        table, rest = _PROVINCES[country]
        return table.get(province) or (rest if province else None)
    if country in _SPREAD:
        return None
    return _principal_zones().get(country)
