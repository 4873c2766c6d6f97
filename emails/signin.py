"""Single-use sign-in links to the console (checked and spent by console/auth.py): made here so the
Slack bot can send one and the console can read it, each without knowing the other."""

from __future__ import annotations

import secrets

from emails.tokens import sign

LINK_TTL = 600  # seconds a sign-in link is valid


def console_link(secret_key: str, public_url: str, user: str, now: float) -> str:
    token = sign(secret_key, "console", {"u": user, "n": secrets.token_hex(12), "e": int(now) + LINK_TTL})
    return f"{public_url.rstrip('/')}/console/login/{token}"
