"""The one place where domain errors become HTTP status codes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from tortoise.exceptions import OperationalError

from core.errors import (
    BadRequest,
    Forbidden,
    InvalidSignature,
    NotFound,
    NurtureError,
    PayloadTooLarge,
    UnprocessablePayload,
)
from pipeline.faults import is_transient

STATUS_BY_ERROR: dict[type[NurtureError], int] = {
    InvalidSignature: 401,
    Forbidden: 403,
    BadRequest: 400,
    NotFound: 404,
    PayloadTooLarge: 413,
    UnprocessablePayload: 422,
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger(__name__)


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
    except Exception as error:
        # The database (or the network to it) failed under the request: nothing was stored, so
        # the sender must retry. 503 + Retry-After says exactly that; a bare 500 would read as our
        # bug. is_transient also knows the drivers' own types (asyncpg's InternalClientError...),
        # which Tortoise passes through untranslated.
        if isinstance(error, OperationalError) or is_transient(error):
            return _unavailable(request, error)
        raise


def _unavailable(request: web.Request, error: BaseException) -> web.Response:
    log.warning("%s %s: storage unavailable, answered 503: %r", request.method, request.path, error)
    return web.json_response({"error": "temporarily unavailable, retry later"}, status=503,
                             headers={"Retry-After": "5"})
