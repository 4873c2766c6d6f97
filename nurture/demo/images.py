"""Product pictures for the demo's catalog, drawn here and served by the demo's own server, so the
cart emails show real images without reaching the internet."""

from __future__ import annotations

import struct
import zlib

from aiohttp import web

SIZE = 240
# handle -> (background, disc) colours
PICTURES: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "wireless-earbuds": ((236, 231, 223), (250, 250, 247)),
    "charging-case": ((214, 226, 233), (60, 72, 88)),
    "studio-headphones-pro": ((229, 221, 212), (45, 42, 38)),
}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(background: tuple[int, int, int], disc: tuple[int, int, int], size: int = SIZE) -> bytes:
    """An RGB PNG: a disc on a plain background (a product shot, seen from far enough away)."""
    centre, radius = size / 2, size * 0.32
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # filter type: none
        for x in range(size):
            inside = (x - centre) ** 2 + (y - centre) ** 2 <= radius**2
            rows.extend(disc if inside else background)
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + \
        _chunk(b"IEND", b"")


async def serve_picture(request: web.Request) -> web.Response:
    colours = PICTURES.get(request.match_info["handle"])
    if colours is None:
        raise web.HTTPNotFound()
    return web.Response(body=png(*colours), content_type="image/png",
                        headers={"Cache-Control": "public, max-age=86400"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/demo/images/{handle}.png", serve_picture)
