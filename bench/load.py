"""Mixed-traffic load: `nurture serve` + a `nurture worker` subprocess on loopback, open loop.

Valid and invalid Shopify orders, form posts, tracking events and signed Slack slash commands
arrive at a fixed rate (default 1,000 req/s for 60 s; bounded in count and time, stops by itself).
Afterwards the worker drains and the database is queried: every valid delivery must be stored
once and applied (its event exists), and no request may have been answered with a 5xx.

    python -m bench.load --rate 1000 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import random
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bench.common import REPO, clean_env, free_port, python, server_process
from nurture.scratch_db import create_database, drop_database

SHOPIFY_SECRET = "load-shopify-secret"
SLACK_SECRET = "load-slack-signing-secret"
WRITE_KEY = "wk_load_public"
FORM_SECRET = "load-form-secret"
ORDER = json.loads((REPO / "bench" / "fixtures" / "orders-create.json").read_text())
WORKSPACE = f"""
brand: {{name: Load Test, url: "https://load.example"}}
forms:
  contact-sales: {{secret: {FORM_SECRET}, tags: [sales-inquiry]}}
slack: {{admins: [UADMIN], sales_channel: C0SALES, sales_reps: [UREP1]}}
"""
# kind -> (weight, expected status, a valid delivery that must be stored and applied?)
MIX: dict[str, tuple[int, int, bool]] = {
    "shopify": (30, 200, True), "shopify-forged": (4, 401, False), "shopify-garbage": (4, 200, False),
    "form": (15, 200, True), "form-forged": (4, 401, False), "track": (27, 200, True),
    "track-bad-key": (4, 401, False), "slack-command": (9, 200, False), "slack-stale": (3, 401, False),
}


@dataclass
class Tally:
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    late: int = 0  # requests the generator could not start on time (the machine did not hold the rate)
    transport_errors: int = 0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _b64_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _slack(body: bytes, stale: bool = False) -> dict[str, str]:
    ts = str(int(time.time()) - (900 if stale else 0))
    signature = "v0=" + hmac.new(SLACK_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature}


def build_request(kind: str, n: int, double_url: str) -> tuple[str, bytes, dict[str, str]]:
    """(path, body, headers) of request number n of this kind."""
    if kind.startswith("shopify"):
        order = dict(ORDER, id=20_000_000 + n, email=f"buyer{n % 300}@load.example",
                     customer=dict(ORDER["customer"], id=7_000_000 + n % 300, email=f"buyer{n % 300}@load.example"))
        body = json.dumps(order).encode() if kind != "shopify-garbage" else b'{"id": ' + str(n).encode() + b", oops"
        digest = _b64_hmac(SHOPIFY_SECRET if kind != "shopify-forged" else "guess", body)
        return "/webhooks/shopify", body, {
            "Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-Sha256": digest, "X-Shopify-Webhook-Id": f"load-{n}"}
    if kind.startswith("form"):
        body = json.dumps({"email": f"lead{n % 500}@load.example", "first_name": f"Lead{n}", "message": f"n={n}",
                           "consent": n % 2 == 0}).encode()
        secret = FORM_SECRET if kind == "form" else "guess"
        return "/webhooks/forms/contact-sales", body, {
            "Content-Type": "application/json", "X-Nurture-Form-Secret": secret, "Idempotency-Key": f"load-{n}"}
    if kind.startswith("track"):
        body = json.dumps({"type": "page", "anonymous_id": f"anon-{n % 1000}", "url": f"https://load.example/p/{n}",
                           "title": "Product", "message_id": str(uuid.uuid4())}).encode()
        key = WRITE_KEY if kind == "track" else "wk_wrong"
        return "/track", body, {"Content-Type": "application/json", "X-Nurture-Write-Key": key}
    body = urlencode({"token": "x", "team_id": "T0LOAD", "channel_id": "C0LOAD", "user_id": "UADMIN",
                      "user_name": "admin", "command": "/journey", "text": "list", "api_app_id": "A0LOAD",
                      "response_url": f"{double_url}respond", "trigger_id": f"{n}.1.x"}).encode()
    return "/slack/events", body, _slack(body, stale=kind == "slack-stale")


async def _slack_double() -> tuple[web.AppRunner, str]:
    """Answers every Web API call and response_url post with ok, so the bot never waits on the internet."""
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"ok": True, "channel": "C0LOAD", "ts": "1.000001"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/"


async def offer(base: str, rate: float, seconds: float, double_url: str, seed: int = 7) -> tuple[Tally, Counter[str]]:
    """Open loop: request i starts at t0 + i/rate whatever the answers; at most rate*seconds requests."""
    kinds = list(MIX)
    weights = [MIX[k][0] for k in kinds]
    chooser = random.Random(seed)
    total = int(rate * seconds)
    tally, sent = Tally(), Counter[str]()
    connector = aiohttp.TCPConnector(limit=512)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async def one(kind: str, n: int) -> None:
            path, body, headers = build_request(kind, n, double_url)
            started = time.perf_counter()
            try:
                async with session.post(base + path, data=body, headers=headers) as response:
                    await response.read()
                    tally.statuses[(kind, response.status)] += 1
            except (TimeoutError, aiohttp.ClientError):
                tally.transport_errors += 1
                return
            tally.latencies.append(time.perf_counter() - started)

        tasks: list[asyncio.Task[None]] = []
        t0 = time.perf_counter()
        for n in range(total):
            due = t0 + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.05:
                tally.late += 1
            kind = chooser.choices(kinds, weights)[0]
            sent[kind] += 1
            tasks.append(asyncio.create_task(one(kind, n)))
        await asyncio.gather(*tasks)
    return tally, sent


async def drained(env: dict[str, str], expected: Counter[str], seconds: float) -> dict[str, float]:
    """Wait for the worker to apply everything stored, then count what the database holds."""
    from contacts.models import Event
    from inbox.models import DeliveryStatus, InboundDelivery
    from nurture.db import close_database, open_database
    from nurture.settings import load_settings

    settings = load_settings(environ=env, dotenv_path=None)
    await open_database(settings)
    try:
        started = time.monotonic()
        deadline = started + seconds
        while await InboundDelivery.filter(status=DeliveryStatus.PENDING).count():
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        lags = await _lags()
        return {
            "lag p50": _percentile(lags, 0.50), "lag p99": _percentile(lags, 0.99),
            "drain seconds": round(time.monotonic() - started),
            "pending": await InboundDelivery.filter(status=DeliveryStatus.PENDING).count(),
            "shopify stored": await InboundDelivery.filter(provider="shopify", external_id__startswith="load-")
            .exclude(status=DeliveryStatus.FAILED).count(),
            "shopify failed": await InboundDelivery.filter(provider="shopify", status=DeliveryStatus.FAILED).count(),
            "form stored": await InboundDelivery.filter(provider="forms").count(),
            "track stored": await InboundDelivery.filter(provider="tracking").count(),
            "order.created": await Event.filter(type="order.created").count(),
            "form.submitted": await Event.filter(type="form.submitted").count(),
            "page.viewed": await Event.filter(type="page.viewed").count(),
        }
    finally:
        await close_database()


async def _lags() -> list[float]:
    """Seconds from each delivery's storing to its applying (the worker's lag), applied ones only."""
    from inbox.models import InboundDelivery

    rows = await InboundDelivery.filter(processed_at__not_isnull=True).values_list("received_at", "processed_at")
    return sorted((done - received).total_seconds() for received, done in rows)


def _percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))] if values else float("nan")


def environment(var_dir: Path, port: int, double_url: str) -> dict[str, str]:
    import os

    config = var_dir / "nurture.yml"
    config.write_text(WORKSPACE)
    env = clean_env(
        NURTURE_VAR_DIR=str(var_dir), NURTURE_HTTP_PORT=str(port), NURTURE_SECRET_KEY="l" * 40,
        NURTURE_SHOPIFY_WEBHOOK_SECRET=SHOPIFY_SECRET, NURTURE_TRACKING_WRITE_KEY=WRITE_KEY,
        NURTURE_SLACK_SIGNING_SECRET=SLACK_SECRET, NURTURE_SLACK_BOT_TOKEN="xoxb-load",
        NURTURE_SLACK_API_URL=f"{double_url}api/", NURTURE_CONFIG_FILE=str(config),
    )
    for name in ("NURTURE_DATABASE_URL", "NURTURE_REDIS_URL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


async def main(rate: float = 1000, seconds: float = 60, drain_seconds: float = 180) -> list[str]:
    runner, double_url = await _slack_double()
    created: tuple[str, str] | None = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            env = environment(Path(tmp), port, double_url)
            if env.get("NURTURE_DATABASE_URL", "").startswith("postgres"):
                created = (env["NURTURE_DATABASE_URL"], "")
                env["NURTURE_DATABASE_URL"], name = await create_database(created[0], "nurture_load")
                created = (created[0], name)
            migrate = await asyncio.create_subprocess_exec(python(), "-m", "nurture", "migrate", env=env, cwd=REPO,
                                                           stdout=subprocess.DEVNULL)
            await migrate.wait()
            worker = subprocess.Popen([python(), "-m", "nurture", "worker"], env=env, cwd=REPO,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                with server_process([python(), "-m", "nurture", "serve"], env, port):
                    tally, sent = await offer(f"http://127.0.0.1:{port}", rate, seconds, double_url)
                    counts = await drained(env, sent, drain_seconds)
            finally:
                worker.terminate()
                worker.wait(timeout=30)
    finally:
        await runner.cleanup()
        if created:
            await drop_database(*created)
    return report(rate, seconds, tally, sent, counts)


def report(rate: float, seconds: float, tally: Tally, sent: Counter[str], counts: dict[str, float]) -> list[str]:
    fives = sum(c for (_, status), c in tally.statuses.items() if status >= 500)
    unexpected = sum(c for (kind, status), c in tally.statuses.items() if status != MIX[kind][1])
    answered = sum(tally.statuses.values())
    valid = {"shopify": ("shopify stored", "order.created"), "form": ("form stored", "form.submitted"),
             "track": ("track stored", "page.viewed")}
    lines = [
        f"| load: mixed traffic offered, open loop | {rate:,.0f} req/s for {seconds:.0f} s ({sum(sent.values())} "
        f"requests, {tally.late} started late) | | | |",
        f"| load: answers | {answered} answered, {fives} 5xx, {unexpected} unexpected status, "
        f"{tally.transport_errors} transport errors | zero 5xx | {'held' if not fives else 'NOT HELD'} | |",
        f"| load: latency p50 / p99 | {tally.percentile(0.5) * 1000:.1f} ms / {tally.percentile(0.99) * 1000:.1f} ms"
        " | | | |",
    ]
    for kind, (stored_key, event_type) in valid.items():
        lines.append(f"| load: valid {kind} deliveries stored / applied | {counts[stored_key]} / "
                     f"{counts[event_type]} of {sent[kind]} | every one | "
                     f"{'ok' if counts[stored_key] == counts[event_type] == sent[kind] else 'LOST'} | |")
    lines.append(f"| load: worker lag, stored to applied, p50 / p99 | {counts['lag p50']:.1f} s / "
                 f"{counts['lag p99']:.1f} s | p99 under 5 s | {'held' if counts['lag p99'] < 5 else 'NOT HELD'} | |")
    lines.append(f"| load: worker drained after the load stopped | {counts['drain seconds']} s, "
                 f"{counts['pending']} still pending | 0 pending | | |")
    lines.append(f"| load: invalid but signed (garbage) stored as failed | {counts['shopify failed']} of "
                 f"{sent['shopify-garbage']} | | | |")
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=1000, help="requests per second offered (open loop)")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--drain-seconds", type=float, default=180, help="how long the worker may take to drain")
    args = parser.parse_args()
    for line in asyncio.run(main(args.rate, args.seconds, args.drain_seconds)):
        print(line)
