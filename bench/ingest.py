"""Ingest benchmark: verified Shopify orders/create per second, ours vs a bare aiohttp handler.

Also measures events applied per second by one worker. Backend: embedded by default,
or PostgreSQL/Redis when NURTURE_DATABASE_URL / NURTURE_REDIS_URL are given.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import REPO, Cores, LoadResult, clean_env, free_port, python, row, server_process, split_cores
from bench.loadgen import replay

SECRET = "bench-shopify-secret"
PATH = "/webhooks/shopify"
# Requests rendered in advance per second of a round (each has its own webhook id).
BARE_HINT, OURS_HINT = 30_000, 20_000
PEER_EVENTS = 5000  # stored order deliveries the plain worker applies (a figure within seconds)
ORDER = json.loads((REPO / "bench" / "fixtures" / "orders-create.json").read_text())


def signed_order(n: int) -> tuple[bytes, dict[str, str]]:
    buyer = n % 500  # 500 buyers, as the peer's contacts are keyed by these emails
    email = f"buyer{buyer}@bench.example"
    order = dict(ORDER, id=10_000_000 + n, email=email, customer=dict(ORDER["customer"], id=9_000_000 + buyer,
                                                                      email=email))
    body = json.dumps(order).encode()
    digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return body, {
        "Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": digest, "X-Shopify-Webhook-Id": str(uuid.uuid4()),
    }


@dataclass
class HttpFigures:
    ours: list[LoadResult] = field(default_factory=list)
    bare: list[LoadResult] = field(default_factory=list)


def median(results: list[LoadResult]) -> float:
    return statistics.median(result.rate for result in results)


def latency_ms(results: list[LoadResult]) -> str:
    """p50 / p99 over every round's requests."""
    pooled = LoadResult([latency for result in results for latency in result.latencies])
    return f"{pooled.percentile(0.5) * 1000:.1f} / {pooled.percentile(0.99) * 1000:.1f} ms"


def nurture_env(var_dir: Path, port: int) -> dict[str, str]:
    env = clean_env(
        NURTURE_VAR_DIR=str(var_dir), NURTURE_HTTP_PORT=str(port),
        NURTURE_SHOPIFY_WEBHOOK_SECRET=SECRET, NURTURE_SECRET_KEY="b" * 40,
    )
    for name in ("NURTURE_DATABASE_URL", "NURTURE_REDIS_URL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


async def measure_http(
    seconds: float, concurrency: int, rounds: int, var_dir: Path, cores: Cores | None
) -> HttpFigures:
    """Both servers run side by side; rounds alternate bare, ours, bare, ours... (noise hits both)."""
    bare_port, our_port = free_port(), free_port()
    bare_args = [python(), str(REPO / "bench" / "bare_server.py"), str(bare_port)]
    ours_args = [python(), "-m", "nurture", "serve"]
    figures = HttpFigures()
    ours_env = nurture_env(var_dir, our_port)
    servers = cores.servers if cores else None
    everywhere = os.sched_getaffinity(0)
    with server_process(bare_args, clean_env(), bare_port, servers), \
            server_process(ours_args, ours_env, our_port, servers):
        if cores:
            os.sched_setaffinity(0, cores.client)
        try:
            for port, hint in ((bare_port, BARE_HINT), (our_port, OURS_HINT)):  # warm-up
                await replay(port, PATH, signed_order, 1, concurrency, hint)
            for _ in range(rounds):
                figures.bare.append(await replay(bare_port, PATH, signed_order, seconds, concurrency, BARE_HINT))
                figures.ours.append(await replay(our_port, PATH, signed_order, seconds, concurrency, OURS_HINT))
        finally:
            os.sched_setaffinity(0, everywhere)
    for name, results in (("our", figures.ours), ("the bare handler's", figures.bare)):
        if failed := sum(result.errors for result in results):
            raise SystemExit(f"{failed} of {name} requests failed")
    return figures


async def measure_apply(var_dir: Path, seconds: float) -> tuple[float, float]:
    """(ours, peer) events/s: one worker applies what the HTTP rounds stored, for at most `seconds`;
    the plain per-event worker (bench/plain_worker.py) applies the same stored bodies, in the same
    database, before it."""
    from bench import plain_worker
    from inbox.models import DeliveryStatus, InboundDelivery
    from nurture.bootstrap import open_services
    from nurture.db import sqlite_file
    from nurture.settings import load_settings
    from nurture.worker import build_worker

    settings = load_settings(environ=nurture_env(var_dir, 0) | {"NURTURE_HTTP_PORT": "8080"}, dotenv_path=None)
    async with open_services(settings) as services:
        pending = InboundDelivery.filter(status=DeliveryStatus.PENDING)
        before = await pending.count()
        bodies = [bytes(b) for b in await pending.order_by("id").limit(PEER_EVENTS).values_list("body", flat=True)]
        path = sqlite_file(settings)
        peer_count, peer_elapsed = (await plain_worker.apply_sqlite(str(path), bodies) if path else
                                    await plain_worker.apply_postgres(settings.database_url, bodies))
        worker = build_worker(services, burst=True)
        started = time.perf_counter()
        run = asyncio.create_task(worker.async_run())
        await asyncio.wait({run}, timeout=seconds)
        elapsed = time.perf_counter() - started
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run
        with contextlib.suppress(asyncio.CancelledError):  # jobs cut short are retried later
            await worker.close()
        applied = before - await pending.count()
    return applied / elapsed, peer_count / peer_elapsed


async def main(seconds: float, concurrency: int, light: int, rounds: int, apply_seconds: float) -> list[str]:
    """Capacity at `concurrency` senders (enough to keep both servers busy), then at `light` senders."""
    with tempfile.TemporaryDirectory() as tmp:
        var_dir = Path(tmp)
        migrate_env = nurture_env(var_dir, 8080)
        proc = await asyncio.create_subprocess_exec(python(), "-m", "nurture", "migrate", env=migrate_env, cwd=REPO)
        await proc.wait()
        cores = split_cores()
        http = await measure_http(seconds, concurrency, rounds, var_dir, cores)
        few = await measure_http(seconds, light, max(2, rounds // 2), var_dir, cores)
        applied, peer = await measure_apply(var_dir, apply_seconds)
    per_round = ", ".join(f"{o.rate / b.rate:.2f}" for o, b in zip(http.ours, http.bare, strict=True))
    return [
        row(f"verified Shopify orders/create accepted, {concurrency} senders (median of rounds)", median(http.ours),
            "bare aiohttp handler", median(http.bare), "req/s"),
        f"| ingest ratio per round ({rounds} x {seconds:g}s each, alternating) | {per_round} | | | "
        f"{cores.describe() if cores else 'one CPU: not pinned'} |",
        f"| ingest p50 / p99 latency at {concurrency} concurrent | {latency_ms(http.ours)} | bare | "
        f"{latency_ms(http.bare)} | |",
        row(f"the same with only {light} senders (each waits for its commit)", median(few.ours),
            "bare aiohttp handler", median(few.bare), "req/s"),
        f"| ingest p50 / p99 latency at {light} concurrent | {latency_ms(few.ours)} | bare | "
        f"{latency_ms(few.bare)} | |",
        row("events applied by one worker", applied, "plain worker, one transaction per event", peer, "events/s"),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3, help="length of one round")
    # Capacity wants senders enough to keep both servers busy: with 32, ours sat idle about a third
    # of the time waiting on commits (every sender waits for its own), so it measured latency.
    parser.add_argument("--concurrency", type=int, default=128, help="senders for the capacity figure")
    parser.add_argument("--light-concurrency", type=int, default=32, help="senders for the second figure")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--apply-seconds", type=float, default=30, help="how long one worker applies events")
    args = parser.parse_args()
    figures = main(args.seconds, args.concurrency, args.light_concurrency, args.rounds, args.apply_seconds)
    for line in asyncio.run(figures):
        print(line)
