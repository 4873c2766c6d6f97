"""The resource commands, run as a user runs them (a subprocess on the same database): contacts,
coupons, inbox and journeys."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from contacts.models import Consent, Contact
from core.services import Services
from core.settings import Settings
from inbox.models import DeliveryStatus, InboundDelivery
from journeys.coupons import upsert_pool
from journeys.models import Coupon, CouponPool, Enrollment, TraceEntry
from tests.support import sample, shopify_headers

NURTURE = [sys.executable, "-m", "nurture"]


def _cli(settings: Settings, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env.update(NURTURE_VAR_DIR=str(tmp_path / "var"), NURTURE_SECRET_KEY=settings.secret_key,
               NURTURE_DATABASE_URL=settings.database_url, NURTURE_REDIS_URL=settings.redis_url,
               COLUMNS="200")
    done = subprocess.run([*NURTURE, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return done


async def test_contacts_show_and_trace(services: Services, settings: Settings, tmp_path: Path) -> None:
    maria = await Contact.create(email="maria.rossi@example.com", first_name="Maria", lead_score=37,
                                 consent=Consent.SUBSCRIBED, tags=["vip"])
    await TraceEntry.create(contact=maria, journey_key="welcome-series", at=dt.datetime.now(dt.UTC),
                            kind="email", message="sent welcome-1")
    shown = _cli(settings, tmp_path, "contacts", "show", "maria.rossi@example.com").stdout
    assert "Maria" in shown and "37" in shown and "vip" in shown
    trace = _cli(settings, tmp_path, "contacts", "trace", "maria.rossi@example.com").stdout
    assert "welcome-series" in trace and "sent welcome-1" in trace


async def test_coupons_add_and_list(services: Services, settings: Settings, tmp_path: Path) -> None:
    codes = tmp_path / "codes.txt"
    codes.write_text("SPRING-3\nSPRING-4\n")
    _cli(settings, tmp_path, "coupons", "add", "spring", "--code", "SPRING-1", "--code", "SPRING-2",
         "--file", str(codes), "--description", "10% off your cart")
    assert sorted(await Coupon.filter(pool__key="spring").values_list("code", flat=True)) == [
        "SPRING-1", "SPRING-2", "SPRING-3", "SPRING-4"]
    await upsert_pool("empty", "nothing yet")
    listed = _cli(settings, tmp_path, "coupons", "list").stdout
    assert "spring" in listed and "4" in listed and "empty" in listed


async def test_inbox_list_failed_and_replay(services: Services, settings: Settings, tmp_path: Path) -> None:
    body = sample("shopify/customers-create.json")
    headers = {k.lower(): v for k, v in shopify_headers(body, "unused", "customers/create", "cli-replay").items()}
    failed = await InboundDelivery.create(provider="shopify", external_id="cli-replay", topic="customers/create",
                                          headers=headers, body=body, status=DeliveryStatus.FAILED,
                                          error="internal error: the database was down",
                                          received_at=dt.datetime.now(dt.UTC))
    assert str(failed.id) in _cli(settings, tmp_path, "inbox", "list").stdout
    assert "the database was down" in _cli(settings, tmp_path, "inbox", "failed").stdout
    replayed = _cli(settings, tmp_path, "inbox", "replay", str(failed.id)).stdout
    assert "processed" in replayed
    assert (await InboundDelivery.get(id=failed.id)).status == DeliveryStatus.PROCESSED
    assert await Contact.filter(email="amira.demir@example.com").exists()


async def test_journeys_templates_import_and_start(services: Services, settings: Settings, tmp_path: Path) -> None:
    assert "welcome-series" in _cli(settings, tmp_path, "journeys", "templates").stdout
    spec = tmp_path / "vip.yml"
    spec.write_text("key: vip-thanks\nname: VIP thanks\ntrigger: {manual: true}\nsteps:\n  - email: welcome-1\n")
    assert "vip-thanks" in _cli(settings, tmp_path, "journeys", "import", str(spec)).stdout
    _cli(settings, tmp_path, "journeys", "publish", "vip-thanks")
    await Contact.create(email="leo.martin@example.com", consent=Consent.SUBSCRIBED)
    _cli(settings, tmp_path, "journeys", "start", "vip-thanks", "leo.martin@example.com")
    assert await Enrollment.filter(journey__key="vip-thanks", contact__email="leo.martin@example.com").exists()


async def test_coupons_add_a_shopify_pool(services: Services, settings: Settings, tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    base.update(NURTURE_VAR_DIR=str(tmp_path / "var"), NURTURE_SECRET_KEY=settings.secret_key,
                NURTURE_DATABASE_URL=settings.database_url, NURTURE_REDIS_URL=settings.redis_url, COLUMNS="200")

    def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*NURTURE, "coupons", *args], env=env, capture_output=True, text=True, timeout=120)

    unset = cli(base, "add", "shop10", "--shopify", "--percent", "10")
    assert unset.returncode == 2 and "NURTURE_SHOPIFY_ADMIN_TOKEN" in unset.stderr
    shop_env = {**base, "NURTURE_SHOPIFY_SHOP": "acme-audio.myshopify.com", "NURTURE_SHOPIFY_ADMIN_TOKEN": "shpat_x"}
    vague = cli(shop_env, "add", "shop10", "--shopify")
    assert vague.returncode == 2 and "--percent 10 or --amount 5" in vague.stderr
    made = cli(shop_env, "add", "shop10", "--shopify", "--amount", "5", "--minimum", "40", "--expires-days", "14",
               "--description", "5 off your next order")
    assert made.returncode == 0, made.stderr
    assert "5.00 off, one use, minimum 40.00, valid 14 days" in made.stdout
    pool = await CouponPool.get(key="shop10")
    assert (pool.source, pool.discount, pool.generate_prefix) == (
        "shopify", {"kind": "fixed_amount", "value": "5.00", "minimum": "40.00", "expires_days": 14}, "SHOP10-")
    assert "Shopify (made per customer)" in cli(shop_env, "list").stdout
