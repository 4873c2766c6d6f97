"""A light HTTP/1.1 load generator: keep-alive connections replaying pre-built requests.

The aiohttp client costs more CPU per request than a bare aiohttp server, so with it the peer's
figure measured the client, not the server. Here every request is rendered to bytes before the
clock starts and each connection is a bare asyncio protocol, so the load generator takes a small
share of the two cores and the servers are compared at what they can answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

from bench.common import LoadResult

Request = tuple[bytes, dict[str, str]]


def render(path: str, port: int, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Connection(asyncio.Protocol):
    """Sends one request at a time and reads its response (status line + Content-Length body)."""

    def __init__(self, requests: Iterator[bytes], result: LoadResult, deadline: float) -> None:
        self.requests, self.result, self.deadline = requests, result, deadline
        self.buffer = b""
        self.started = 0.0
        self.waiting = False
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send_next()

    def _send_next(self) -> None:
        request = next(self.requests, None)
        if request is None or time.monotonic() >= self.deadline:
            assert self.transport is not None
            self.transport.close()
            return
        self.started = time.perf_counter()
        self.waiting = True
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].decode("latin-1").split("\r\n")
        length = next((int(line.split(":", 1)[1]) for line in head if line.lower().startswith("content-length:")), 0)
        if len(self.buffer) < end + 4 + length:
            return
        self.buffer = self.buffer[end + 4 + length:]
        self.waiting = False
        self.result.latencies.append(time.perf_counter() - self.started)
        if int(head[0].split()[1]) >= 300:
            self.result.errors += 1
        self._send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiting:  # the server dropped the connection with our request unanswered
            self.result.errors += 1
        if not self.closed.done():
            self.closed.set_result(None)


async def replay(
    port: int, path: str, make_request: Callable[[int], Request], seconds: float, concurrency: int, rate_hint: int
) -> LoadResult:
    """Answers per second over `seconds`, with `concurrency` keep-alive connections.

    `rate_hint` bounds how many distinct requests are rendered in advance (each carries its own
    delivery id, so a server that outpaces it would start seeing duplicates: we stop instead).
    """
    rendered = [render(path, port, *make_request(n)) for n in range(int(seconds * rate_hint))]
    requests = iter(rendered)
    result = LoadResult()
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    deadline = started + seconds
    connections = [
        (await loop.create_connection(lambda: _Connection(requests, result, deadline), "127.0.0.1", port))[1]
        for _ in range(concurrency)
    ]
    await asyncio.gather(*(connection.closed for connection in connections))
    result.seconds = time.monotonic() - started
    if result.requests >= len(rendered):
        raise SystemExit(f"the server answered all {len(rendered)} pre-built requests: raise rate_hint")
    return result
