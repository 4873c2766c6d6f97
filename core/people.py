"""Slack as the people directory: a rep's name, address and signature for the emails they send."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str
    title: str = ""  # job title and phone from the Slack profile: an email signature's second line
    phone: str = ""

    def signature(self) -> dict[str, str]:
        """The `owner` an email template signs with."""
        return {"name": self.name, "email": self.email, "title": self.title, "phone": self.phone}


async def person(client: AsyncWebClient, user: str) -> Person:
    """The rep's real name and email (users.info; needs users:read and users:read.email)."""
    answer = await client.users_info(user=user)
    data: dict[str, Any] = answer.get("user") or {}
    profile: dict[str, Any] = data.get("profile") or {}
    name = profile.get("real_name") or data.get("real_name") or profile.get("display_name") or data.get("name")
    return Person(id=user, name=str(name or user), email=str(profile.get("email") or ""),
                  title=str(profile.get("title") or ""), phone=str(profile.get("phone") or ""))
