"""The peer: a bare aiohttp POST handler that parses the JSON body and answers 200.

It runs on the same event loop as `nurture serve` (uvloop), so the ratio compares our handler
with a bare one, not two event loops.
"""

import asyncio
import json
import sys

import uvloop
from aiohttp import web


async def handle(request: web.Request) -> web.Response:
    json.loads(await request.read())
    return web.json_response({"ok": True})


async def serve(port: int) -> None:
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/webhooks/shopify", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


uvloop.run(serve(int(sys.argv[1])))
