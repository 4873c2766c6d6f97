"""Load a journey document and report every problem with its path in the document."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from journeys.spec import STEP_KINDS, JourneySpec


class SpecError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _path(loc: tuple[Any, ...], kind_tags: set[str]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
            continue
        name = str(item).rstrip("_")
        # Discriminated unions add the step kind to the location: `steps[2].wait.wait` reads
        # better as `steps[2].wait`; model names in unions are noise.
        if name in kind_tags and parts and parts[-1] == f".{name}":
            continue
        if name[:1].isupper() or name.startswith("function-"):
            continue
        parts.append(f".{name}" if parts else name)
    return "".join(parts) or "(document)"


def _message(error: dict[str, Any]) -> str:
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        message = f"a step needs exactly one of: {', '.join(STEP_KINDS)}"
    return message


def describe(error: ValidationError) -> list[str]:
    tags = set(STEP_KINDS)
    seen: list[str] = []
    for item in error.errors():
        line = f"{_path(tuple(item['loc']), tags)}: {_message(dict(item))}"
        if line not in seen:
            seen.append(line)
    return seen


def parse_spec(data: Any) -> JourneySpec:
    try:
        return JourneySpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(describe(error)) from None


def load_spec(text: str) -> JourneySpec:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SpecError([f"(document): not valid YAML: {error}"]) from None
    if not isinstance(data, dict):
        raise SpecError(["(document): a journey is a YAML mapping with key, name, trigger and steps"])
    return parse_spec(data)
