"""The console sub-application's typed keys (aiohttp AppKey)."""

from __future__ import annotations

from aiohttp import web
from jinja2 import Environment

from core.services import Services

SERVICES = web.AppKey("console_services", Services)
PAGES = web.AppKey("console_pages", Environment)
