"""The `intelligence:` section of the workspace file: scoring, engagement, loyalty, interests, send time, segments.

Every key has a default, so a store without a workspace file still gets lead scores,
engagement tags, loyalty tiers, interest tags and a learned send hour. The commented
`nurture.example.yml` at the repository root documents each key.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.expressions import ExpressionError, validate_expression

SEGMENT_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _expression(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return validate_expression(value)
    except ExpressionError as error:
        raise ValueError(str(error)) from None


class ScoreRule(_Frozen):
    """`points` for every event of type `event` for which `where` (a sandboxed expression) holds."""

    event: str
    where: str | None = None
    points: int

    _w = field_validator("where")(_expression)


class DecayConfig(_Frozen):
    """Each full `every_days` of inactivity takes `percent` % and then `points` off the lead score."""

    every_days: int = Field(default=7, ge=1)
    percent: float = Field(default=10.0, ge=0, le=100)
    points: int = Field(default=0, ge=0)


DEFAULT_SCORE_RULES = (
    ScoreRule(event="page.viewed", points=1),
    ScoreRule(event="page.viewed", where="'/pricing' in (event.properties.path or '')", points=10),
    ScoreRule(event="page.viewed", where="'/demo' in (event.properties.path or '')", points=10),
    ScoreRule(event="form.submitted", points=15),
    ScoreRule(event="email.clicked", points=3),
    ScoreRule(event="email.opened", points=1),
)


class ScoringConfig(_Frozen):
    enabled: bool = True
    rules: tuple[ScoreRule, ...] = DEFAULT_SCORE_RULES
    max_score: int = Field(default=100, ge=1)
    hot_lead_threshold: int = 50
    # A built-in dynamic segment `contact.lead_score >= hot_lead_threshold` ("" turns it off).
    hot_lead_segment: str = "hot-lead"
    decay: DecayConfig = DecayConfig()


class TagRule(_Frozen):
    """The contact gets `tag` when one of `events` happened within `within_days` (no events: any activity)."""

    tag: str
    within_days: int = Field(ge=1)
    events: tuple[str, ...] = ()


class EngagementConfig(_Frozen):
    enabled: bool = True
    weights: dict[str, int] = Field(default_factory=lambda: {
        "email.opened": 1, "email.clicked": 3, "page.viewed": 1, "form.submitted": 5, "survey.answered": 3,
        "order.created": 10,
    })
    # The score halves every `half_life_days` without new engagement (applied on events and by the daily cron).
    half_life_days: float = Field(default=30.0, gt=0)
    max_score: int = Field(default=100, ge=1)
    tags: tuple[TagRule, ...] = (
        TagRule(tag="engaged", within_days=30, events=("email.clicked", "order.created")),
        TagRule(tag="active", within_days=90),
    )
    fallback_tag: str = "inactive"


class LoyaltyConfig(_Frozen):
    enabled: bool = True
    points_per_unit: float = Field(default=1.0, ge=0)
    # Points per unit of a given currency instead (ISO code: rate), e.g. JPY: 0.01 for a yen shop.
    points_per_currency: dict[str, float] = Field(default_factory=dict)
    tiers: dict[str, int] = Field(default_factory=lambda: {"bronze": 0, "silver": 500, "gold": 2000})
    order_milestones: tuple[int, ...] = (5, 10)
    deduct_on_cancel: bool = True
    deduct_on_refund: bool = True
    # Emit loyalty.tier_changed also when a contact gets its first tier (from_tier "").
    announce_first_tier: bool = False

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: dict[str, int]) -> dict[str, int]:
        if not value:
            raise ValueError("at least one tier is needed")
        return value

    @field_validator("points_per_currency")
    @classmethod
    def _currencies(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [code for code, rate in value.items() if len(code) != 3 or not code.isalpha() or rate < 0]
        if bad:
            raise ValueError(f"points_per_currency: {', '.join(bad)}: use ISO codes (JPY) and rates of 0 or more")
        return {code.upper(): rate for code, rate in value.items()}

    def rate_for(self, currency: str) -> float:
        return self.points_per_currency.get(currency.strip().upper(), self.points_per_unit)


class InterestConfig(_Frozen):
    enabled: bool = True
    tag_prefix: str = "interest:"
    min_views: int = Field(default=3, ge=1)
    on_purchase: bool = True
    tag_products: bool = True
    # Product key (page handle or Shopify product id) -> category; adds interest:<category> too.
    categories: dict[str, str] = Field(default_factory=dict)


class SendTimeConfig(_Frozen):
    enabled: bool = True
    events: tuple[str, ...] = ("email.opened", "email.clicked")
    min_data_points: int = Field(default=3, ge=1)


class IntelligenceConfig(_Frozen):
    scoring: ScoringConfig = ScoringConfig()
    engagement: EngagementConfig = EngagementConfig()
    loyalty: LoyaltyConfig = LoyaltyConfig()
    interests: InterestConfig = InterestConfig()
    send_time: SendTimeConfig = SendTimeConfig()
    # name -> expression over `contact`; membership lives in contact.attributes["segments"].
    segments: dict[str, str] = Field(default_factory=dict)

    @field_validator("segments")
    @classmethod
    def _segments(cls, value: dict[str, str]) -> dict[str, str]:
        for name, source in value.items():
            if not SEGMENT_NAME.match(name):
                raise ValueError(f"segment name {name!r}: use lowercase letters, digits, - _ .")
            _expression(source)
        return value

    @model_validator(mode="after")
    def _hot_lead_name(self) -> IntelligenceConfig:
        if self.scoring.hot_lead_segment in self.segments:
            raise ValueError(f"segment {self.scoring.hot_lead_segment!r} is built in (scoring.hot_lead_segment)")
        return self

    def all_segments(self) -> dict[str, str]:
        built_in = {}
        if self.scoring.enabled and self.scoring.hot_lead_segment:
            built_in[self.scoring.hot_lead_segment] = f"contact.lead_score >= {self.scoring.hot_lead_threshold}"
        return {**built_in, **self.segments}
