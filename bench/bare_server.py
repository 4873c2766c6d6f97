"""The peer: a bare aiohttp POST handler that parses the JSON body and answers 200."""

import json
import sys

from aiohttp import web


async def handle(request: web.Request) -> web.Response:
    json.loads(await request.read())
    return web.json_response({"ok": True})


app = web.Application(client_max_size=1024 * 1024)
app.router.add_post("/webhooks/shopify", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
