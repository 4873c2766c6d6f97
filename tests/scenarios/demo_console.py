"""`python -m tests.scenarios.demo_console VAR_DIR`: play the demo's month and, its server still up,
open the console link it prints in headless Chromium; prints what the pages showed, as JSON
(tests/scenarios/test_console_browser.py runs it in a process of its own, as `nurture demo` runs)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from contacts.models import Contact
from core.services import Services
from nurture.demo import demo_settings, run_scenario
from nurture.migrate import apply_migrations
from nurture.settings import load_settings
from nurture.slack_double import SlackApiDouble
from tests.scenarios.test_console_browser import chromium


def _look(link: str, base: str, contact_id: int) -> dict[str, str]:
    from selenium.webdriver.common.by import By

    browser = chromium()
    try:
        browser.get(link)
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        browser.find_element(By.ID, "journeys")  # signed in: the journeys page (the implicit wait allows for it)
        browser.get(f"{base}/console/journeys/abandoned-cart")
        reminder = browser.find_element(By.CSS_SELECTOR, "#diagram svg g#step_1").text
        diagram = browser.find_element(By.CSS_SELECTOR, "#diagram svg").text
        browser.get(f"{base}/console/contacts/{contact_id}")
        trace = browser.find_element(By.ID, "trace").text
        return {"diagram": diagram, "reminder": reminder, "trace": trace}
    finally:
        browser.quit()


async def main(var_dir: Path) -> dict[str, Any]:
    base = load_settings(dotenv_path=None, overrides={"NURTURE_VAR_DIR": str(var_dir)})
    slack = SlackApiDouble()
    slack_server = TestServer(slack.app())
    await slack_server.start_server()
    settings = demo_settings(base, str(slack_server.make_url("/api/")))
    await apply_migrations(settings)
    seen: dict[str, Any] = {}

    async def look(services: Services, link: str) -> None:
        jonas = await Contact.get(email="jonas.berg@example.com")
        seen.update(link=link, **await asyncio.to_thread(_look, link, settings.public_url, jonas.id))

    try:
        await run_scenario(settings, slack, progress_to_console=False, while_serving=look)
    finally:
        await slack_server.close()
    return seen


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(Path(sys.argv[1])))))
