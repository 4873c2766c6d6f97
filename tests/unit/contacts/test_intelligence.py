"""Pure rules of contact intelligence: scoring, decay, engagement, loyalty, send hour, interests, segments."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError

from contacts import loyalty, preferences, scoring, segments
from core.intelligence_config import (
    DecayConfig,
    EngagementConfig,
    IntelligenceConfig,
    InterestConfig,
    LoyaltyConfig,
    ScoreRule,
    ScoringConfig,
)
from core.workspace import Workspace, load_workspace

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
REPO = Path(__file__).resolve().parents[3]


def page(path: str) -> dict[str, object]:
    return {"type": "page.viewed", "properties": {"url": f"https://shop.example{path}", "path": path}}


def test_default_rules_score_pages_forms_clicks_opens() -> None:
    config = ScoringConfig()
    assert scoring.lead_points(config, page("/pricing"), {}) == 11  # any page +1, pricing +10
    assert scoring.lead_points(config, page("/blog/post"), {}) == 1
    assert scoring.lead_points(config, {"type": "form.submitted", "properties": {}}, {}) == 15
    assert scoring.lead_points(config, {"type": "email.clicked", "properties": {}}, {}) == 3
    assert scoring.lead_points(config, {"type": "email.opened", "properties": {}}, {}) == 1
    assert scoring.lead_points(config, {"type": "order.created", "properties": {}}, {}) == 0
    assert scoring.lead_points(config, {"type": "page.viewed", "properties": {}}, {}) == 1  # no path: no crash


def test_rule_filters_see_the_contact_and_a_broken_filter_counts_false() -> None:
    config = ScoringConfig(rules=(
        ScoreRule(event="form.submitted", where="contact.attributes.industry == 'retail'", points=5),
        ScoreRule(event="form.submitted", where="event.properties.score > 3", points=7),
        ScoreRule(event="email.complained", points=-40),
    ))
    retail = {"attributes": {"industry": "retail"}}
    assert scoring.lead_points(config, {"type": "form.submitted", "properties": {}}, retail) == 5
    assert scoring.lead_points(config, {"type": "email.complained", "properties": {}}, {}) == -40


def test_points_are_capped_and_never_negative() -> None:
    assert scoring.add_points(95, 10, 100) == 100
    assert scoring.add_points(120, 3, 100) == 120  # a journey raised it over the cap: not cut back
    assert scoring.add_points(10, -40, 100) == 0


def test_decay_applies_each_idle_week_once() -> None:
    config = DecayConfig(every_days=7, percent=10)
    idle = NOW - 6 * DAY
    assert scoring.decay(60, idle, NOW, config, None)[0] == 60
    score, state = scoring.decay(60, idle, NOW + DAY, config, None)
    assert score == 54 and state["periods"] == 1
    assert scoring.decay(score, idle, NOW + 2 * DAY, config, state)[0] == 54  # same week: nothing more
    score, state = scoring.decay(score, idle, NOW + 15 * DAY, config, state)
    assert score == 43  # two more weeks: 54 -> 48 -> 43
    fresh = NOW + 20 * DAY  # new activity restarts the count
    assert scoring.decay(score, fresh, fresh + 3 * DAY, config, state)[0] == 43


def test_decay_by_points_reaches_zero() -> None:
    config = DecayConfig(every_days=7, percent=0, points=5)
    assert scoring.decay(12, NOW - 21 * DAY, NOW, config, None)[0] == 0


def test_engagement_adds_weights_and_halves_with_its_half_life() -> None:
    config = EngagementConfig(half_life_days=30)
    score, state = scoring.engagement_update(None, 0, 10, NOW, config)
    assert score == 10
    score, state = scoring.engagement_update(state, score, 3, NOW + 30 * DAY, config)
    assert score == 8  # 10 halves to 5, plus 3
    score, _ = scoring.engagement_update(state, score, 0, NOW + 90 * DAY, config)
    assert score == 2
    capped, _ = scoring.engagement_update(None, 95, 30, NOW, config)
    assert capped == config.max_score


def test_an_old_event_adds_less_engagement() -> None:
    config = EngagementConfig(half_life_days=30)
    assert scoring.faded(10, NOW, NOW, config) == 10
    assert scoring.faded(10, NOW - 60 * DAY, NOW, config) == 2.5
    assert scoring.faded(10, NOW + DAY, NOW, config) == 10  # clock skew: never more than the weight


def test_engagement_follows_a_reset_made_elsewhere() -> None:
    config = EngagementConfig()
    _, state = scoring.engagement_update(None, 0, 80, NOW, config)
    score, _ = scoring.engagement_update(state, 0, 1, NOW + DAY, config)  # a journey reset the score to 0
    assert score == 1


def test_engagement_tags_by_day_windows() -> None:
    config = EngagementConfig()
    clicked = {"email.clicked": NOW - 10 * DAY}
    assert scoring.engagement_tag(clicked, NOW - 10 * DAY, NOW, config) == "engaged"
    assert scoring.engagement_tag({"order.created": NOW - 29 * DAY}, None, NOW, config) == "engaged"
    assert scoring.engagement_tag({"email.clicked": NOW - 31 * DAY}, NOW - 31 * DAY, NOW, config) == "active"
    assert scoring.engagement_tag({}, NOW - 89 * DAY, NOW, config) == "active"
    assert scoring.engagement_tag({}, NOW - 91 * DAY, NOW, config) == "inactive"
    assert scoring.engagement_tag({}, None, NOW, config) == "inactive"


def test_exactly_one_engagement_tag() -> None:
    family = scoring.engagement_tags(EngagementConfig())
    tags = scoring.retag(["vip", "active", "inactive"], "engaged", family)
    assert tags == ["engaged", "vip"]
    assert scoring.current_tag(tags, family) == "engaged"
    assert scoring.current_tag(["vip"], family) == ""


def test_seen_keeps_the_latest_time() -> None:
    state = scoring.seen(None, "email.clicked", NOW)
    state = scoring.seen(state, "email.clicked", NOW - DAY)  # arrived late
    assert scoring.parse_seen(state) == {"email.clicked": NOW}


def test_loyalty_points_tiers_and_milestones() -> None:
    config = LoyaltyConfig()
    assert loyalty.points_for("49.90", config) == 49
    assert loyalty.points_for("garbage", config) == 0
    assert loyalty.points_for("100", LoyaltyConfig(points_per_unit=0.1)) == 10
    assert loyalty.tier_for(0, config) == "bronze"
    assert loyalty.tier_for(499, config) == "bronze"
    assert loyalty.tier_for(500, config) == "silver"
    assert loyalty.tier_for(5000, config) == "gold"
    assert loyalty.tier_for(10, LoyaltyConfig(tiers={"member": 100})) == ""
    assert loyalty.milestones_crossed(4, 5, config) == [5]
    assert loyalty.milestones_crossed(5, 6, config) == []
    assert loyalty.milestones_crossed(3, 11, config) == [5, 10]


def test_send_hour_in_the_contacts_timezone_and_mode() -> None:
    at = dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC)
    assert preferences.local_hour(at, "Asia/Tokyo") == 8
    assert preferences.local_hour(at, "Not/AZone") == 23
    histogram = preferences.add_hour(preferences.add_hour(None, 8), 8)
    assert preferences.best_hour(histogram, None, 3) is None  # two data points are not enough
    histogram = preferences.add_hour(histogram, 20)
    assert histogram == {"8": 2, "20": 1}
    assert preferences.best_hour(histogram, None, 3) == 8
    assert preferences.best_hour({"9": 2, "14": 2}, 14, 3) == 14  # a tie keeps the current hour
    assert preferences.best_hour({"9": 2, "14": 2}, None, 3) == 9


def test_interest_tags_from_views_purchases_and_categories() -> None:
    config = InterestConfig(categories={"studio-monitor-x5": "speakers", "8072": "headphones"})
    rows = [("studio-monitor-x5", 3, 0), ("cable", 2, 0), ("8072", 0, 1)]
    assert preferences.interest_tags(rows, config) == {
        "interest:studio-monitor-x5", "interest:speakers", "interest:8072", "interest:headphones",
    }
    assert preferences.interest_tags(rows, InterestConfig(on_purchase=False, tag_products=False)) == set()


def test_segments_membership_and_changes() -> None:
    config = IntelligenceConfig(segments={"vip": "contact.total_spent >= 500", "broken": "contact.nope > 1"})
    known = config.all_segments()
    assert known["hot-lead"] == "contact.lead_score >= 50"
    members = segments.members_of(known, {"total_spent": 620.0, "lead_score": 10})
    assert members == ["vip"]
    assert segments.membership_changes(["hot-lead"], members, known) == (["vip"], ["hot-lead"])
    assert segments.membership_changes(["gone"], [], known) == ([], [])  # removed from config: no event


def test_config_rejects_bad_expressions_and_names() -> None:
    with pytest.raises(ValidationError):
        IntelligenceConfig(segments={"vip": "contact.total_spent >="})
    with pytest.raises(ValidationError):
        IntelligenceConfig(segments={"VIP Customers": "true"})
    with pytest.raises(ValidationError):
        IntelligenceConfig(segments={"hot-lead": "true"})
    with pytest.raises(ValidationError):
        ScoreRule(event="page.viewed", where="event._secret", points=1)


def test_no_config_file_gives_working_defaults(tmp_path: Path) -> None:
    workspace = load_workspace(tmp_path / "missing.yml")
    assert workspace.intelligence == IntelligenceConfig()
    assert workspace.intelligence.scoring.hot_lead_threshold == 50


def test_example_file_is_valid_and_documents_every_key() -> None:
    example = REPO / "nurture.example.yml"
    workspace = load_workspace(example)
    text = example.read_text()
    for section, model in [("scoring", ScoringConfig), ("engagement", EngagementConfig),
                           ("loyalty", LoyaltyConfig), ("interests", InterestConfig)]:
        assert f"{section}:" in text
        for key in model.model_fields:
            assert f"{key}:" in text, f"{section}.{key} is not documented"
    for key in ("every_days", "percent", "points", "send_time", "segments", "min_data_points"):
        assert f"{key}:" in text
    assert isinstance(workspace, Workspace) and workspace.intelligence.segments


@pytest.mark.parametrize("name", ["segment.entered", "loyalty.tier_changed", "engagement.tag_changed",
                                  "order.milestone"])
def test_tracking_cannot_forge_emitted_events(name: str) -> None:
    from core.errors import UnprocessablePayload
    from webhooks.providers import tracking

    with pytest.raises(UnprocessablePayload):
        tracking._track({"event": name, "properties": {"segment": "vip"}})
