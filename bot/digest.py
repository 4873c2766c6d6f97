"""The weekly digest: a Monday-morning post in the channel a workspace names (`slack.digest_channel`):
attributed revenue per journey over the last seven days, the best and worst emails by click rate,
and anything failing. Posted once per ISO week, however many workers or restarts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot import blocks, slackio
from bot.mrkdwn import escape
from core.services import Services
from emails.models import Message, MessageStatus
from inbox.models import DeliveryStatus, InboundDelivery
from journeys import outcomes
from journeys.analytics import funnel
from journeys.models import Journey, JourneyStatus
from journeys.store import latest_version, live_version, loaded

WEEK = dt.timedelta(days=7)
MIN_SENT = 20  # fewer sends than this: a click rate says nothing yet
SHOWN = 3


@dataclass(frozen=True)
class Failing:
    deliveries: int  # webhook deliveries stored as failed (replayable)
    emails: int  # emails that failed to send


def _money(amounts: Sequence[outcomes.Money]) -> str:
    return ", ".join(f"{m.amount} {m.currency}" for m in amounts) or "no attributed revenue"


def digest_message(results: Sequence[outcomes.JourneyStats], failing: Failing, since: dt.datetime) -> dict[str, Any]:
    lines = [f"*Weekly digest* (since {since:%a %d %b})"]
    for stats in sorted(results, key=lambda s: -sum(float(m.amount) for m in s.revenue)):
        lines.append(f"• `{escape(stats.journey)}`: {stats.entered} entered, {stats.converted} converted, "
                     f"{stats.orders} orders, {escape(_money(stats.revenue))}")
    emails = sorted(((e, s.journey) for s in results for e in s.emails if e.delivered >= MIN_SENT),
                    key=lambda pair: pair[0].click_rate, reverse=True)
    best = emails[:min(SHOWN, (len(emails) + 1) // 2)]  # the top half at most, so none is both
    worst = emails[::-1][:min(SHOWN, len(emails) - len(best))]
    if best:
        lines.append(f"*Best emails* (clicks per delivered, at least {MIN_SENT} sent)")
        lines += [_email_line(e, key) for e, key in best]
    if worst:
        lines.append("*Worst emails*")
        lines += [_email_line(e, key) for e, key in worst]
    problems = [f"{n} {what}" for n, what in ((failing.deliveries, "webhook deliveries failed (replay: "
                                                                   "`nurture inbox replay`)"),
                                              (failing.emails, "emails failed to send")) if n]
    lines.append(":warning: " + "; ".join(problems) if problems else ":white_check_mark: nothing failing")
    return blocks.message("\n".join(lines))


def _email_line(email: outcomes.EmailStats, journey: str) -> str:
    return (f"• {escape(email.label)} (`{escape(journey)}`): {email.click_rate:.1%} clicked of {email.delivered}, "
            f"{email.orders} orders")


async def _results(since: dt.datetime) -> list[outcomes.JourneyStats]:
    found = []
    for journey in await Journey.filter(status=JourneyStatus.LIVE).order_by("key"):
        version = await live_version(journey) or await latest_version(journey)
        found.append(await outcomes.journey_stats(await funnel(journey, since), journey.id,
                                                  loaded(version).program, since))
    return found


async def _failing(since: dt.datetime) -> Failing:
    return Failing(
        deliveries=await InboundDelivery.filter(status=DeliveryStatus.FAILED, received_at__gte=since).count(),
        emails=await Message.filter(status=MessageStatus.FAILED, queued_at__gte=since).count())


async def post_weekly_digest(ctx: dict[str, Any]) -> str:
    services: Services = ctx["services"]
    channel = services.workspace.slack.digest_channel
    if not channel:
        return "no digest channel configured"
    now = services.clock.now()
    year, week, _ = now.isocalendar()
    # Once per week: a second worker, or this one restarted, finds the week taken.
    if not await services.redis.set(f"nurture:digest:{year}-{week}", "1", nx=True, ex=int(2 * WEEK.total_seconds())):
        return f"already posted for week {year}-{week}"
    since = now - WEEK
    await slackio.post(services.slack, channel, digest_message(await _results(since), await _failing(since), since))
    return f"posted to {channel}"
