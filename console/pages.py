"""The console's pages: thin handlers (read the session, gather, render a template)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from console import auth, views
from console.keys import PAGES, SERVICES
from core.errors import Forbidden, NotFound
from core.services import Services
from emails.library import shared_library
from emails.render import render
from emails.samples import sample_context
from journeys.models import InFlightPolicy, Journey, JourneyStatus
from journeys.permissions import may_edit_journeys
from journeys.store import publish, set_status

ACTIONS = ("pause", "resume", "publish")


async def session_of(request: web.Request) -> auth.Session:
    services = request.app[SERVICES]
    user, sid = await auth.read_session(services, request.cookies.get(auth.COOKIE))
    return auth.Session(user, sid, await may_edit_journeys(services, user))


def page(request: web.Request, template: str, session: auth.Session | None, status: int = 200,
         **context: Any) -> web.Response:
    services: Services = request.app[SERVICES]
    csrf = auth.csrf_token(services, session.sid) if session else ""
    html = request.app[PAGES].get_template(template).render(session=session, csrf=csrf, **context)
    return web.Response(text=html, content_type="text/html", status=status)


async def login_page(request: web.Request) -> web.Response:
    data = auth.read_link(request.app[SERVICES], request.match_info["token"])
    return page(request, "login.html", None, title="Sign in", user=data["u"], action=request.path)


async def login(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = await auth.spend_link(services, request.match_info["token"])
    response = web.HTTPSeeOther("/console/")
    response.set_cookie(auth.COOKIE, await auth.session_cookie(services, user), httponly=True, samesite="Lax",
                        secure=services.settings.public_url.startswith("https://"), path="/console",
                        max_age=auth.SESSION_TTL)
    return response


async def logout(request: web.Request) -> web.Response:
    session = await session_of(request)
    auth.check_csrf(request.app[SERVICES], session, (await request.post()).get("csrf"))  # type: ignore[arg-type]
    response = web.HTTPSeeOther("/console/")
    response.del_cookie(auth.COOKIE, path="/console")
    return response


async def journeys(request: web.Request) -> web.Response:
    session = await session_of(request)
    rows = await views.journey_rows(request.app[SERVICES].clock.now())
    return page(request, "journeys.html", session, title="Journeys", rows=rows)


async def _journey(key: str) -> Journey:
    journey = await Journey.get_or_none(key=key)
    if journey is None:
        raise NotFound(f"there is no journey {key!r}")
    return journey


async def journey(request: web.Request) -> web.Response:
    session = await session_of(request)
    found = await views.journey_page(await _journey(request.match_info["key"]))
    return page(request, "journey.html", session, title=found.journey.name, page=found)


async def editor_form(request: web.Request, what: str) -> MultiDictProxy[str | bytes | bytearray | FileField]:
    """A form only editors may send: the session's CSRF token checked first, then the role."""
    session = await session_of(request)
    form = await request.post()
    auth.check_csrf(request.app[SERVICES], session, form.get("csrf"))  # type: ignore[arg-type]
    if not session.editor:
        raise Forbidden(f"only journey editors and admins may {what}")
    return form


async def journey_action(request: web.Request) -> web.Response:
    """Pause, resume and publish: editors only, with the form's CSRF token."""
    form = await editor_form(request, "pause, resume or publish journeys")
    key, action = request.match_info["key"], request.match_info["action"]
    await _journey(key)
    if action == "publish":
        await publish(key, InFlightPolicy(str(form.get("policy") or "stay")))
    else:
        await set_status(key, JourneyStatus.PAUSED if action == "pause" else JourneyStatus.LIVE)
    raise web.HTTPSeeOther(f"/console/journeys/{key}")


# An email shown inside the console's own pages (the gallery's frames): its pictures and styles, no script.
EMAIL_HEADERS = {"Content-Security-Policy": "default-src 'none'; img-src https: http: data:; "
                                            "style-src 'unsafe-inline'; frame-ancestors 'self'",
                 "X-Frame-Options": "SAMEORIGIN"}
GALLERY_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; "
                                              "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"}


async def email_preview(request: web.Request) -> web.Response:
    await session_of(request)
    library, name = shared_library(), request.match_info["name"]
    if name not in library.names():
        raise NotFound(f"there is no email template {name!r}")
    language = library.language_for(request.query.get("locale", ""))
    html = render(library, name, sample_context(), locale=language).html
    return web.Response(text=html, content_type="text/html", headers=EMAIL_HEADERS)


async def email_gallery(request: web.Request) -> web.Response:
    """Every template with sample data, at a desktop and a phone's width, in any language there is."""
    session = await session_of(request)
    library = shared_library()
    language = library.language_for(request.query.get("locale", ""))
    response = page(request, "emails.html", session, title="Emails", names=library.names(), locale=language,
                    languages=library.languages())
    response.headers.update(GALLERY_HEADERS)
    return response


def register(app: web.Application) -> None:
    app.router.add_get("/", journeys)
    app.router.add_get("/login/{token}", login_page)
    app.router.add_post("/login/{token}", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/journeys/{key}", journey)
    app.router.add_post("/journeys/{key}/{action:pause|resume|publish}", journey_action)
    app.router.add_get("/emails", email_gallery)
    app.router.add_get("/emails/{name}", email_preview)
