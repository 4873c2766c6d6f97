"""The one place where domain errors become HTTP status codes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from nurture.errors import (
    BadRequest,
    Forbidden,
    InvalidSignature,
    NotFound,
    NurtureError,
    PayloadTooLarge,
    UnprocessablePayload,
)

STATUS_BY_ERROR: dict[type[NurtureError], int] = {
    InvalidSignature: 401,
    Forbidden: 403,
    BadRequest: 400,
    NotFound: 404,
    PayloadTooLarge: 413,
    UnprocessablePayload: 422,
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def status_for(error: NurtureError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]  # type: ignore[index]
    return 400


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except NurtureError as error:
        return web.json_response({"error": str(error)}, status=status_for(error))
    except web.HTTPRequestEntityTooLarge:
        return web.json_response({"error": "request body is too large"}, status=413)
