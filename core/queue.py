"""Enqueue many arq jobs in one Redis round trip, with arq's own uniqueness rule.

arq's `enqueue_job` costs three round trips (WATCH, EXISTS, MULTI/EXEC) per job; dispatching
a batch of due timers one by one would make Redis the bottleneck. This script does the same
check-then-set for a whole batch atomically: a job whose id is queued, running or has a
result is skipped, exactly as `enqueue_job` would.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from arq.connections import ArqRedis
from arq.constants import default_queue_name, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job

_SCRIPT = """
local added = 0
for i = 1, #ARGV, 3 do
  local id = ARGV[i]
  if redis.call('EXISTS', KEYS[2] .. id, KEYS[3] .. id) == 0 then
    redis.call('PSETEX', KEYS[2] .. id, ARGV[i + 2], ARGV[i + 1])
    redis.call('ZADD', KEYS[1], tonumber(KEYS[4]), id)
    added = added + 1
  end
end
return added
"""
EXPIRES_MS = 86_400_000


async def enqueue_many(redis: ArqRedis, jobs: Sequence[tuple[str, dict[str, Any], str]]) -> int:
    """jobs: (function name, kwargs, job id). Returns how many were new."""
    if not jobs:
        return 0
    now_ms = int(time.time() * 1000)
    argv: list[Any] = []
    for name, kwargs, job_id in jobs:
        argv += [job_id, serialize_job(name, (), kwargs, None, now_ms, serializer=redis.job_serializer), EXPIRES_MS]
    keys = [default_queue_name, job_key_prefix, result_key_prefix, str(now_ms)]
    added: Any = await redis.eval(_SCRIPT, len(keys), *keys, *argv)  # type: ignore[misc]
    return int(added)
