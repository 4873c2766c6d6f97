"""The demo's product pictures are real PNGs: the standard library's zlib reads the pixels back."""

from __future__ import annotations

import struct
import zlib

from nurture.demo.images import PICTURES, SIZE, png


def test_a_picture_is_a_png_with_a_disc_on_its_background() -> None:
    background, disc = PICTURES["studio-headphones-pro"]
    data = png(background, disc)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (kind, length, width, height, depth, colour) == (b"IHDR", 13, SIZE, SIZE, 8, 2)
    idat = data.index(b"IDAT")
    size = struct.unpack(">I", data[idat - 4: idat])[0]
    pixels = zlib.decompress(data[idat + 4: idat + 4 + size])
    stride = 1 + 3 * SIZE

    def pixel(x: int, y: int) -> tuple[int, ...]:
        start = y * stride + 1 + 3 * x
        return tuple(pixels[start: start + 3])

    assert pixel(0, 0) == background and pixel(SIZE // 2, SIZE // 2) == disc
    assert data.endswith(b"IEND\xaeB`\x82")
