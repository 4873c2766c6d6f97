"""`nurture journeys stats` in the terminal: the funnel, each step, each email, each split arm."""

from __future__ import annotations

from rich.table import Table

from journeys.outcomes import JourneyStats, Money
from nurture.terminal import console

UNRELIABLE_OPENS = ("* opens are approximate: privacy proxies (Apple Mail) open every image. "
                    "Decide on clicks and orders.")


def money(amounts: list[Money]) -> str:
    return ", ".join(f"{m.amount} {m.currency}".strip() for m in amounts) or "0"


def _pct(rate: float) -> str:
    return f"{rate:.1%}"


def _summary(stats: JourneyStats) -> Table:
    period = f"since {stats.since}" if stats.since else "all time"
    table = Table("", "people", title=f"{stats.journey}: funnel ({period})")
    for label, value in (("entered", stats.entered), ("in flight", stats.in_flight), ("completed", stats.completed),
                         ("converted (goal)", stats.converted)):
        table.add_row(label, str(value))
    table.add_row("goal rate", _pct(stats.goal_rate))
    for reason, count in stats.exits.items():
        table.add_row(f"exited: {reason}", str(count))
    table.add_row("attributed orders", str(stats.orders))
    table.add_row("attributed revenue", money(stats.revenue))
    return table


def _steps(stats: JourneyStats) -> Table:
    table = Table("step", "id", "reached (people)", "here now", title="per step, in flow order")
    for step in stats.steps:
        table.add_row(step.label, step.id, str(step.reached), str(step.waiting or ""))
    return table


def _emails(stats: JourneyStats) -> Table:
    table = Table("email", "sent", "delivered", "opened*", "clicked", "unsub.", "bounced", "complaints", "orders",
                  "revenue", title="per email")
    for e in stats.emails:
        table.add_row(e.label, str(e.sent), str(e.delivered), f"{e.opened} ({_pct(e.open_rate)})",
                      f"{e.clicked} ({_pct(e.click_rate)})", f"{e.unsubscribed} ({_pct(e.unsubscribe_rate)})",
                      str(e.bounced), str(e.complained), str(e.orders), money(e.revenue))
    return table


def _arms(stats: JourneyStats) -> Table:
    table = Table("arm", "entered", "converted", "conversion", "sent", "clicked", "orders", "revenue",
                  title="split arms")
    for arm in stats.arms:
        table.add_row(arm.arm, str(arm.entered), str(arm.converted), _pct(arm.conversion_rate), str(arm.sent),
                      f"{arm.clicked} ({_pct(arm.click_rate)})", str(arm.orders), money(arm.revenue))
    return table


def print_stats(stats: JourneyStats) -> None:
    console.print(_summary(stats))
    console.print(_steps(stats))
    if stats.emails:
        console.print(_emails(stats))
        console.print(UNRELIABLE_OPENS)
    if stats.arms:
        console.print(_arms(stats))
    if stats.verdict is not None:
        console.print(f"verdict: {stats.verdict.text}")
