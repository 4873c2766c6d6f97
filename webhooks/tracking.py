"""`GET /t.js` (the snippet) and `POST /track` (public write key, CORS for any site)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from webhooks.keys import SERVICES
from webhooks.providers import tracking
from webhooks.receive import accept, lower_headers, read_body

SNIPPET = Path(__file__).with_name("static") / "t.js"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, X-Nurture-Write-Key",
    "Access-Control-Max-Age": "86400",
}


async def snippet(request: web.Request) -> web.Response:
    return web.Response(
        body=SNIPPET.read_bytes(), content_type="application/javascript",
        headers={"Cache-Control": "public, max-age=3600"},
    )


async def track(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await read_body(request, services.settings.max_body_bytes)
    headers = lower_headers(request)
    # sendBeacon cannot set headers, so the key may also come in the query string.
    headers.setdefault("x-nurture-write-key", request.query.get("key", ""))
    # Ours alone: a sender's own copy of this header is overwritten.
    headers[tracking.VERIFIED_HEADER] = tracking.verified_identities(body, services.settings.tracking_identity_secret)
    response = await accept(services, tracking, headers, body, services.settings.tracking_write_key)
    response.headers.update(CORS)
    return response


async def preflight(request: web.Request) -> web.Response:
    return web.Response(status=204, headers=CORS)


def register(app: web.Application) -> None:
    app.router.add_get("/t.js", snippet)
    app.router.add_post("/track", track)
    app.router.add_route("OPTIONS", "/track", preflight)
