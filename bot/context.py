"""Where listeners find the Services: the bolt context, filled by a middleware of bot/app.py."""

from __future__ import annotations

from typing import Any, cast

from slack_bolt.async_app import AsyncBoltContext

from core.services import Services

SERVICES = "nurture_services"


def services_of(context: AsyncBoltContext | dict[str, Any]) -> Services:
    return cast(Services, context[SERVICES])
