"""Signing in to the console without a password: a signed, single-use link valid for 10 minutes
(sent in Slack or printed by `nurture console link`), then a signed session cookie.

The link's GET only shows a button (Slack's unfurler and link scanners fetch every URL); the POST
spends it: its nonce is claimed in Redis with SET NX, so a second use is refused. A session names
the Slack user, when it was issued and the sessions' generation: `nurture console logout-all`
moves the generation on, which ends every session at once. Forms carry a CSRF token bound to the
session, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from core.errors import BadRequest, Forbidden
from core.services import Services
from emails.signin import LINK_TTL, console_link
from emails.tokens import TokenError, sign, verify

SESSION_TTL = 12 * 3600  # seconds a session lasts
COOKIE = "nurture_console"
GENERATION_KEY = "nurture:console:generation"
USED_KEY = "nurture:console:link:{nonce}"


class NotSignedIn(Forbidden):
    """No (valid) session: the page says how to get a sign-in link."""


@dataclass(frozen=True)
class Session:
    user: str
    sid: str
    editor: bool = False  # journey editors and admins (workspace file) may pause, resume and publish


def login_link(services: Services, user: str) -> str:
    return console_link(services.settings.secret_key, services.settings.public_url, user,
                        services.clock.now().timestamp())


def read_link(services: Services, token: str) -> dict[str, object]:
    """The link's data when it is genuine and not expired (not yet spent: see `spend_link`)."""
    try:
        data = verify(services.settings.secret_key, "console", token)
    except TokenError:
        raise BadRequest("this sign-in link is not valid: ask for a new one (/nurture console in Slack)") from None
    expires = data.get("e")
    if not isinstance(expires, int) or services.clock.now().timestamp() > expires or not isinstance(data.get("u"), str):
        raise BadRequest("this sign-in link has expired (links last 10 minutes): ask for a new one")
    return data


async def spend_link(services: Services, token: str) -> str:
    """The user a link signs in, once: a link already used is refused."""
    data = read_link(services, token)
    fresh = await services.redis.set(USED_KEY.format(nonce=data["n"]), "1", nx=True, ex=LINK_TTL + 60)
    if not fresh:
        raise BadRequest("this sign-in link was used already: ask for a new one")
    return str(data["u"])


async def _generation(services: Services) -> int:
    return int(await services.redis.get(GENERATION_KEY) or 0)


async def session_cookie(services: Services, user: str) -> str:
    now = int(services.clock.now().timestamp())
    return sign(services.settings.secret_key, "session",
                {"u": user, "s": secrets.token_hex(12), "i": now, "g": await _generation(services)})


async def read_session(services: Services, cookie: str | None) -> tuple[str, str]:
    """(user, session id) of a valid session cookie; NotSignedIn otherwise."""
    if not cookie:
        raise NotSignedIn("sign in with a link: /nurture console in Slack, or `nurture console link USER_ID`")
    try:
        data = verify(services.settings.secret_key, "session", cookie)
    except TokenError:
        raise NotSignedIn("your session is not valid: sign in again with a new link") from None
    issued = data.get("i")
    if not isinstance(issued, int) or services.clock.now().timestamp() > issued + SESSION_TTL:
        raise NotSignedIn("your session has ended: sign in again with a new link")
    if data.get("g") != await _generation(services):
        raise NotSignedIn("you were signed out (every session was ended): sign in again with a new link")
    return str(data["u"]), str(data["s"])


async def logout_all(services: Services) -> int:
    """End every console session; returns the new generation."""
    return int(await services.redis.incr(GENERATION_KEY))


def csrf_token(services: Services, sid: str) -> str:
    return hmac.new(services.settings.secret_key.encode(), f"csrf\0{sid}".encode(), hashlib.sha256).hexdigest()[:32]


def check_csrf(services: Services, session: Session, given: str | None) -> None:
    if not given or not hmac.compare_digest(csrf_token(services, session.sid), str(given)):
        raise Forbidden("the form's security token is missing or wrong: reload the page and try again")
