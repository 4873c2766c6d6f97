"""Ingest benchmark: verified Shopify orders/create per second, ours vs a bare aiohttp handler.

Also measures events applied per second by one worker. Backend: embedded by default,
or PostgreSQL/Redis when NURTURE_DATABASE_URL / NURTURE_REDIS_URL are given.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import REPO, clean_env, free_port, load, python, row, server_process

SECRET = "bench-shopify-secret"
ORDER = json.loads((REPO / "bench" / "fixtures" / "orders-create.json").read_text())


def signed_order(n: int) -> tuple[bytes, dict[str, str]]:
    order = dict(ORDER, id=10_000_000 + n, email=f"buyer{n % 500}@bench.example")
    body = json.dumps(order).encode()
    digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return body, {
        "Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": digest, "X-Shopify-Webhook-Id": str(uuid.uuid4()),
    }


def nurture_env(var_dir: Path, port: int) -> dict[str, str]:
    env = clean_env(
        NURTURE_VAR_DIR=str(var_dir), NURTURE_HTTP_PORT=str(port),
        NURTURE_SHOPIFY_WEBHOOK_SECRET=SECRET, NURTURE_SECRET_KEY="b" * 40,
    )
    for name in ("NURTURE_DATABASE_URL", "NURTURE_REDIS_URL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


async def measure_http(seconds: float, concurrency: int, var_dir: Path) -> tuple[float, float, float]:
    bare_port, our_port = free_port(), free_port()
    with server_process([python(), str(REPO / "bench" / "bare_server.py"), str(bare_port)], clean_env(), bare_port):
        await load(f"http://127.0.0.1:{bare_port}/webhooks/shopify", signed_order, 1, concurrency)
        bare = await load(f"http://127.0.0.1:{bare_port}/webhooks/shopify", signed_order, seconds, concurrency)
    env = nurture_env(var_dir, our_port)
    with server_process([python(), "-m", "nurture", "serve"], env, our_port):
        await load(f"http://127.0.0.1:{our_port}/webhooks/shopify", signed_order, 1, concurrency)
        ours = await load(f"http://127.0.0.1:{our_port}/webhooks/shopify", signed_order, seconds, concurrency)
    if ours.errors:
        raise SystemExit(f"{ours.errors} of our requests failed")
    return ours.rate, bare.rate, ours.percentile(0.99) * 1000


async def measure_apply(var_dir: Path) -> tuple[int, float]:
    """Drain everything the HTTP run stored with one burst worker."""
    from jobs.worker import build_worker
    from nurture.bootstrap import open_services
    from nurture.settings import load_settings
    from webhooks.models import DeliveryStatus, InboundDelivery

    settings = load_settings(environ=nurture_env(var_dir, 0) | {"NURTURE_HTTP_PORT": "8080"}, dotenv_path=None)
    async with open_services(settings) as services:
        pending = await InboundDelivery.filter(status=DeliveryStatus.PENDING).count()
        worker = build_worker(services, burst=True)
        started = time.perf_counter()
        await worker.async_run()
        elapsed = time.perf_counter() - started
        await worker.close()
    return pending, elapsed


async def main(seconds: float, concurrency: int) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        var_dir = Path(tmp)
        migrate_env = nurture_env(var_dir, 8080)
        proc = await asyncio.create_subprocess_exec(python(), "-m", "nurture", "migrate", env=migrate_env, cwd=REPO)
        await proc.wait()
        ours, bare, p99 = await measure_http(seconds, concurrency, var_dir)
        applied, elapsed = await measure_apply(var_dir)
    return [
        row("verified Shopify orders/create accepted", ours, "bare aiohttp handler", bare, "req/s"),
        f"| ingest p99 latency at {concurrency} concurrent | {p99:.1f} ms | | | |",
        f"| events applied by one worker | {applied / elapsed:,.1f} events/s ({applied} in {elapsed:.1f}s) | | | |",
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    for line in asyncio.run(main(args.seconds, args.concurrency)):
        print(line)
