"""The console as an aiohttp sub-application under /console: server-rendered Jinja pages, no
front-end build, no script at all (a Content-Security-Policy forbids it); errors become pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from console import contact_pages, inbox_pages, pages
from console.auth import NotSignedIn
from console.keys import PAGES, SERVICES
from core.errors import BadRequest, Forbidden, NotFound, NurtureError
from core.services import Services
from emails.filters import money

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: https:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
STATUS = ((NotSignedIn, 401, "Sign in"), (Forbidden, 403, "Not allowed"), (NotFound, 404, "Not found"),
          (BadRequest, 400, "That did not work"), (NurtureError, 400, "That did not work"))


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except NurtureError as error:
        status, title = next((code, words) for kind, code, words in STATUS if isinstance(error, kind))
        response = pages.page(request, "message.html", None, status=status, title=title, text=str(error))
    except web.HTTPException as answer:  # redirects after a form: headers on them too
        answer.headers.update(HEADERS)
        raise
    for name, value in HEADERS.items():  # a page that needs others (an email shown in a frame) sets its own
        response.headers.setdefault(name, value)
    return response


def build_console(services: Services) -> web.Application:
    console = web.Application(middlewares=[console_middleware])
    console[SERVICES] = services
    environment = Environment(loader=PackageLoader("console"), autoescape=select_autoescape(default=True))
    environment.filters["money"] = money
    console[PAGES] = environment
    pages.register(console)
    contact_pages.register(console)
    inbox_pages.register(console)
    return console


def register(app: web.Application, services: Services) -> None:
    app.add_subapp("/console", build_console(services))
