"""Pure loyalty rules: points per currency unit, tiers by points thresholds, order milestones."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from core.intelligence_config import LoyaltyConfig


def money(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value if value not in (None, "") else "0"))
    except InvalidOperation:
        return Decimal(0)
    return amount if amount.is_finite() else Decimal(0)


def points_for(total: Any, config: LoyaltyConfig, currency: str = "") -> int:
    """Whole points for an amount in `currency` (rounded down: 49.90 at 1 point per unit is 49)."""
    return max(0, math.floor(money(total) * Decimal(str(config.rate_for(currency)))))


def tier_for(points: int, config: LoyaltyConfig) -> str:
    """The tier with the highest threshold the points reach ("" below every threshold)."""
    reached = [(threshold, name) for name, threshold in config.tiers.items() if points >= threshold]
    return max(reached)[1] if reached else ""


def milestones_crossed(before: int, after: int, config: LoyaltyConfig) -> list[int]:
    """Order-count milestones passed when orders_count went from `before` to `after`."""
    return sorted(m for m in set(config.order_milestones) if before < m <= after)
