"""`/journey show KEY` also posts the journey's diagram with its live counts, as a PNG (files.uploadV2)."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.jobs import answer
from bot.mrkdwn import escape
from core.errors import NurtureError
from core.services import Services
from journeys.diagrams import DrawingUnavailable, live_diagram, render
from journeys.store import get_journey


async def journey_diagram(ctx: dict[str, Any], *, key: str, user: str, channel: str, response_url: str = "") -> str:
    services: Services = ctx["services"]
    try:
        journey = await get_journey(key)
        dot, result, version = await live_diagram(journey)
        png = render(dot, "png")
    except (NurtureError, DrawingUnavailable) as error:
        await answer(services, response_url, channel, user, blocks.message(f":warning: {escape(str(error))}"))
        return "refused"
    try:
        await services.slack.files_upload_v2(
            channel=channel, content=png, filename=f"{key}.png", title=f"{journey.name} (v{version.number})",
            initial_comment=f"{journey.name}: {result.entered} entered, {result.active} in flight, "
                            f"{result.converted} converted", request_file_info=False)
    except SlackApiError as error:  # not in the channel, say: the command's answer says why
        problem = str(error.response.get("error") or error)
        await answer(services, response_url, channel, user,
                     blocks.message(f":warning: the diagram could not be posted here ({escape(problem)})"))
        return "refused"
    return "posted"
