"""The template library: ready journeys under journeys/templates/, installed as drafts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import BadRequest, NotFound
from journeys.models import Journey
from journeys.spec import JourneySpec
from journeys.store import import_spec
from journeys.validation import load_spec

TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class Template:
    key: str
    name: str
    description: str
    spec: JourneySpec


def templates() -> list[Template]:
    found = []
    for path in sorted(TEMPLATES.glob("*.yml")):
        spec = load_spec(path.read_text())
        found.append(Template(spec.key, spec.name, " ".join(spec.description.split()), spec))
    return found


def template(key: str) -> Template:
    for item in templates():
        if item.key == key:
            return item
    names = ", ".join(t.key for t in templates())
    raise NotFound(f"no template {key!r}; available: {names}")


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:100] or "journey"


async def install(key: str, as_name: str | None = None, created_by: str = "") -> Journey:
    """Copy a template in as a draft journey (under a new key when `as_name` is given)."""
    chosen = template(key)
    new_key = slug(as_name) if as_name else chosen.key
    if await Journey.exists(key=new_key):
        raise BadRequest(f"a journey {new_key!r} exists already: pick another name with --as")
    spec = chosen.spec.model_copy(update={"key": new_key, "name": as_name or chosen.name})
    journey, _ = await import_spec(spec, created_by=created_by, template_key=chosen.key)
    return journey
