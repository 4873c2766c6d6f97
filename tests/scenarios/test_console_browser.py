"""The console in a real browser: headless Chromium from Debian's packages (chromium, chromium-driver;
`.ci/run` installs them where apt is available), driven with Selenium. It signs in by pressing the
link page's button, finds the live counts in the abandoned-cart diagram's DOM and a contact's trace,
and saves screenshots (written to docs/ by `python -m tests.scenarios.test_console_browser`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from console.auth import login_link
from contacts.events import NormalizedEvent
from contacts.models import Contact
from core.clock import ManualClock
from core.services import Services
from journeys import library
from journeys.store import publish
from pipeline.ingest import ingest

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="Debian's chromium and chromium-driver (`.ci/run` installs them with apt)")
Drive = Callable[[], Awaitable[int]]


def chromium() -> Any:
    """Debian's headless Chromium through its own chromedriver (Selenium Manager downloads nothing)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1600"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(DRIVER)))
    driver.implicitly_wait(5)  # a page the click leads to has a moment to load before it is read
    return driver


@pytest.fixture
def browser() -> Iterator[object]:
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


async def _story(services: Services, drive: Drive, clock: ManualClock) -> Contact:
    await library.install("abandoned-cart")
    await publish("abandoned-cart")
    for n in range(3):
        await ingest(services, [NormalizedEvent(
            type="checkout.abandoned", source="shopify", idempotency_key=f"cart-{n}", occurred_at=clock.now(),
            email=f"buyer{n}@example.com", object_key=f"checkout:c{n}", profile={"first_name": f"Buyer {n}"},
            properties={"token": f"c{n}", "line_items": [], "total_price": "20.00", "currency": "EUR"})])
    await drive()
    clock.advance(dt.timedelta(hours=2))
    await drive()  # the reminders went out; all three wait for a click
    contact = await Contact.get(email="buyer0@example.com")
    return contact


async def test_the_diagram_and_a_contact_s_story_in_chromium(
    client: TestClient, services: Services, drive: Drive, clock: ManualClock, browser: object,
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By

    contact = await _story(services, drive, clock)
    base = str(client.make_url("")).rstrip("/")
    link = base + login_link(services, "UREP1").split(services.settings.public_url.rstrip("/"), 1)[1]

    def sign_in_and_look() -> dict[str, str]:
        browser.get(link)  # type: ignore[attr-defined]
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()  # type: ignore[attr-defined]
        listed = browser.find_element(By.CSS_SELECTOR, 'tr[data-journey="abandoned-cart"]').text  # type: ignore[attr-defined]
        browser.get(f"{base}/console/journeys/abandoned-cart")  # type: ignore[attr-defined]
        reminder = browser.find_element(By.CSS_SELECTOR, "#diagram svg g#step_1").text  # type: ignore[attr-defined]
        trigger = browser.find_element(By.CSS_SELECTOR, "#diagram svg").text  # type: ignore[attr-defined]
        browser.save_screenshot(str(tmp_path / "journey.png"))  # type: ignore[attr-defined]
        browser.get(f"{base}/console/contacts/{contact.id}")  # type: ignore[attr-defined]
        trace = browser.find_element(By.ID, "trace").text  # type: ignore[attr-defined]
        browser.save_screenshot(str(tmp_path / "contact.png"))  # type: ignore[attr-defined]
        return {"listed": listed, "reminder": reminder, "trigger": trigger, "trace": trace}

    seen = await asyncio.to_thread(sign_in_and_look)  # the browser waits on our server, in this loop
    assert "Abandoned cart recovery" in seen["listed"] and " 3 " in f" {seen['listed']} "
    assert "Email: cart reminder" in seen["reminder"] and "passed 3" in seen["reminder"]
    assert "entered 3" in seen["trigger"] and "waiting 3" in seen["trigger"]
    assert "entered abandoned-cart because checkout.abandoned arrived" in seen["trace"]
    assert (tmp_path / "journey.png").stat().st_size > 10_000 and (tmp_path / "contact.png").stat().st_size > 5_000
    if os.environ.get("NURTURE_SCREENSHOTS"):  # refresh the README's pictures
        for name in ("journey", "contact"):
            shutil.copy(tmp_path / f"{name}.png", Path(__file__).parents[2] / "docs" / f"console-{name}.png")


def test_the_demo_ends_with_a_console_link_that_shows_its_month(tmp_path: Path) -> None:
    """As `make demo` does, in a process of its own: the printed link opens the demo's console."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    done = subprocess.run([sys.executable, "-m", "tests.scenarios.demo_console", str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert "/console/login/" in seen["link"] and seen["link"] in done.stdout  # printed at the end of the demo
    assert "entered 2" in seen["diagram"]  # Jonas's and Li's carts (Ana's checkout completed)
    assert "Email: cart reminder" in seen["reminder"] and "passed 2" in seen["reminder"]
    assert "entered abandoned-cart" in seen["trace"]
