"""Workspace configuration: the YAML file a store edits (forms, Slack people, scoring...).

Settings say where things run; the workspace file says how this store works.
It is read once at start (`NURTURE_CONFIG_FILE`, default `nurture.yml`); without
one, the defaults below apply.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from babel.numbers import list_currencies
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.intelligence_config import IntelligenceConfig
from core.settings import SettingsError


class FormConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Server-to-server posts send it in X-Nurture-Form-Secret; browsers are checked by origin.
    secret: str = ""
    allowed_origins: tuple[str, ...] = ()
    consent_field: str = "consent"
    honeypot_field: str = "website"
    tags: tuple[str, ...] = ()
    # Where a browser lands after a plain HTML post (taken from here only: no open redirect).
    thank_you_url: str = ""


class PersonConfig(BaseModel):
    """What an email signature shows for a rep when their Slack profile does not say it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = ""
    phone: str = ""


class SlackConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    admins: tuple[str, ...] = ()
    journey_editors: tuple[str, ...] = ()
    # Slack user group ids (S...) whose members may also create and publish journeys; members are
    # looked up with usergroups.users.list, so a team change in Slack needs no config change.
    journey_editor_groups: tuple[str, ...] = ()
    sales_channel: str = ""
    sales_reps: tuple[str, ...] = ()
    hot_lead_sla_hours: float = 2.0
    # The SLA counts business hours only (set business_days to all seven for plain hours).
    business_open: str = "09:00"
    business_close: str = "17:00"
    business_days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    business_timezone: str = "UTC"
    # Where the weekly digest goes (Mondays 08:00 UTC): revenue per journey, best and worst emails,
    # anything failing. Empty: no digest.
    digest_channel: str = ""
    # Slack user id -> title and phone for the signature of the emails the rep sends (quotes);
    # the Slack profile's own title and phone win when set.
    people: dict[str, PersonConfig] = Field(default_factory=dict)


class ConsentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # opt_in: marketing email only to contacts who subscribed (the default; the rule in the EU, UK,
    # Canada...). opt_out: also to contacts whose consent is unknown, where that is lawful.
    # Unsubscribed and pending contacts never get marketing email under either.
    policy: Literal["opt_in", "opt_out"] = "opt_in"


SPAN = re.compile(r"^(\d+)([mhdw])$")
UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_window(value: object) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return value
    found = SPAN.match(str(value).strip())
    if not found or int(found[1]) == 0:
        raise ValueError(f"{value!r} is not a window: a number and m, h, d or w, e.g. 5d or 24h")
    return dt.timedelta(seconds=int(found[1]) * UNITS[found[2]])


class AttributionConfig(BaseModel):
    """Which email an order is credited to: the one its buyer last clicked within `click_window`
    before ordering, else the one last opened within `open_window` (Klaviyo's defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    click_window: dt.timedelta = dt.timedelta(days=5)
    open_window: dt.timedelta = dt.timedelta(days=1)

    _windows = field_validator("click_window", "open_window", mode="before")(lambda v: parse_window(v))


CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?$")


class QuietWindow(BaseModel):
    """Local hours (the contact's time zone) when marketing email waits; may wrap midnight."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str = "21:00"
    end: str = "08:00"

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not CLOCK.match(value):
            raise ValueError(f"{value!r} is not a time of day, e.g. 21:00")
        return value

    def window(self) -> tuple[dt.time, dt.time]:
        return dt.time.fromisoformat(self.start), dt.time.fromisoformat(self.end)


def blackout_days(entries: tuple[str, ...]) -> frozenset[dt.date]:
    """`2026-12-25` or a range `2026-12-24..2026-12-26` (both ends included)."""
    days: set[dt.date] = set()
    for entry in entries:
        found = DAY.match(entry.strip())
        if not found:
            raise ValueError(f"{entry!r} is not a date or range, e.g. 2026-12-25 or 2026-12-24..2026-12-26")
        first = dt.date.fromisoformat(found[1])
        last = dt.date.fromisoformat(found[2] or found[1])
        if last < first or (last - first).days > 366:
            raise ValueError(f"{entry!r}: the range must run forwards and last at most a year")
        days.update(first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    return frozenset(days)


class SendingConfig(BaseModel):
    """Limits on marketing email for every journey (transactional email bypasses them all)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # At most cap_count marketing emails per contact per cap_window. A journey's email counts only
    # the sends of journeys with the same or a higher priority (and manual sends): a cart reminder
    # is not held back by a newsletter, a newsletter waits behind a cart reminder. Capped and
    # deferred emails wait, they are never dropped.
    cap_count: Annotated[int, Field(ge=1)] = 1
    cap_window: dt.timedelta = dt.timedelta(hours=24)
    # For journeys without quiet hours of their own.
    quiet_hours: QuietWindow | None = None
    # Local dates (the contact's time zone) with no marketing sends: they move to the next day.
    blackout_dates: tuple[str, ...] = ()

    _window = field_validator("cap_window", mode="before")(lambda v: parse_window(v))
    _dates = field_validator("blackout_dates")(lambda v: (blackout_days(v), v)[1])

    @property
    def blackout(self) -> frozenset[dt.date]:
        return blackout_days(self.blackout_dates)


CURRENCY = re.compile(r"^[A-Z]{3}$")


class QuoteConfig(BaseModel):
    """How quotes are priced and held; the rep can change each one in Slack's quote builder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # For a request that names no currency when no Shopify store is connected (else the shop's).
    currency: str = "USD"
    tax_rate: Annotated[Decimal, Field(ge=0, le=100)] = Decimal(0)  # percent
    tax_label: str = "Tax"
    prices_include_tax: bool = False
    valid_for: dt.timedelta = dt.timedelta(days=30)

    _window = field_validator("valid_for", mode="before")(lambda v: parse_window(v))

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: object) -> str:
        code = str(value).strip().upper()
        if not CURRENCY.match(code) or code not in list_currencies():
            raise ValueError(f"{value!r} is not a currency code: ISO 4217's three letters, e.g. EUR, USD, JPY")
        return code


class LanguagesConfig(BaseModel):
    """The language of emails to contacts whose locale is unknown or has no catalog (docs/languages.md).
    Slack messages are in English: they are read by the store's staff."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: str = "en"
    # What staff read in Slack (tasks, alerts, digests): English is the one written so far.
    slack: str = "en"

    @field_validator("default")
    @classmethod
    def _tag(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}$", value):
            raise ValueError(f"{value!r} is not a language tag, e.g. en, ja, tr, zh")
        return value

    @field_validator("slack")
    @classmethod
    def _slack(cls, value: str) -> str:
        if value.lower() not in ("en", "en-us", "en-gb", "en_us", "en_gb"):
            raise ValueError(f"Slack messages are written in English only so far, not {value!r}: leave "
                             "languages.slack as en (emails follow each contact's language)")
        return "en"


# Pages the emails' buttons link to (review, feedback, call booking, quote acceptance): a store
# sets its own under `brand`; otherwise they are these paths under brand.url.
BRAND_LINKS = {
    "review_url": "/pages/reviews",
    "feedback_url": "/pages/feedback",
    "call_url": "/pages/book-a-call",
    "quote_url": "/pages/quote",
}


def with_link_defaults(brand: dict[str, str]) -> dict[str, str]:
    """The brand section with every BRAND_LINKS entry filled from brand.url when not set."""
    base = brand.get("url", "").rstrip("/")
    if not base:
        return dict(brand)
    defaults = {key: base + path for key, path in BRAND_LINKS.items()}
    return {**defaults, **{key: value for key, value in brand.items() if value}}


class Workspace(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # name, url, logo_url, address, and the BRAND_LINKS pages (defaulted from url).
    brand: dict[str, str] = Field(default_factory=dict)
    forms: dict[str, FormConfig] = Field(default_factory=dict)
    slack: SlackConfig = SlackConfig()
    consent: ConsentConfig = ConsentConfig()
    # Lead score, engagement tags, loyalty, interest tags, send hour, segments (core/intelligence_config.py).
    intelligence: IntelligenceConfig = IntelligenceConfig()
    attribution: AttributionConfig = AttributionConfig()
    sending: SendingConfig = SendingConfig()
    # Email topics a contact can switch off on the preferences page (key: label), e.g.
    # {newsletter: Newsletter, offers: Offers and discounts}; a journey or email step names its topic.
    topics: dict[str, str] = Field(default_factory=dict)
    quotes: QuoteConfig = QuoteConfig()
    languages: LanguagesConfig = LanguagesConfig()

    @field_validator("brand")
    @classmethod
    def _brand_links(cls, brand: dict[str, str]) -> dict[str, str]:
        return with_link_defaults(brand)


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}"


def load_workspace(path: Path) -> Workspace:
    if not path.exists():
        return Workspace()
    try:
        data: Any = yaml.safe_load(path.read_text()) or {}
        return Workspace.model_validate(data)
    except yaml.YAMLError as error:
        raise SettingsError(f"{path} is not valid YAML: {error}") from None
    except ValidationError as error:
        raise SettingsError(f"{path}: {_describe(error)}") from None
