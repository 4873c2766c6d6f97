"""Who may create, publish, pause and start journeys: admins, listed editors, and members of the
configured Slack user groups (resolved with usergroups.users.list)."""

from __future__ import annotations

import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.services import Services

log = logging.getLogger(__name__)

# Membership changes rarely; a few minutes' cache keeps every slash command from costing a Web API
# call (usergroups.users.list is rate-limited to tier 2) while a removed member loses access soon.
GROUP_TTL_SECONDS = 300.0
_groups: dict[str, tuple[float, frozenset[str]]] = {}


def clear_group_cache() -> None:
    _groups.clear()


async def group_members(client: AsyncWebClient, group: str) -> frozenset[str]:
    """Members of a Slack user group, cached per process for GROUP_TTL_SECONDS."""
    cached = _groups.get(group)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    try:
        response = await client.usergroups_users_list(usergroup=group)
    except SlackApiError as error:
        # Failures are not cached: a Slack hiccup must not lock editors out for minutes.
        log.warning("usergroups.users.list %s failed: %s", group, error.response.get("error"))
        return frozenset()
    members = frozenset(response.get("users") or [])
    _groups[group] = (time.monotonic() + GROUP_TTL_SECONDS, members)
    return members


async def may_edit_journeys(services: Services, user: str) -> bool:
    """Editors, group members and admins create and publish; with none configured, everyone may."""
    slack = services.workspace.slack
    if not (slack.journey_editors or slack.admins or slack.journey_editor_groups):
        return True
    if user in slack.journey_editors or user in slack.admins:
        return True
    for group in slack.journey_editor_groups:
        if user in await group_members(services.slack, group):
            return True
    return False
