"""Typed aiohttp application keys shared by the HTTP edges."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from core.services import Services

SERVICES: web.AppKey[Services] = web.AppKey("services")
