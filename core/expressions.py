"""Filter and branch expressions: Jinja expressions compiled in the sandbox.

A bad expression is a validation error when the journey is loaded, never a crash
while it runs. At run time an expression that fails (e.g. comparing a missing
value with a number) counts as false, and the trace says why.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=ChainableUndefined)


class ExpressionError(ValueError):
    pass


def _check_names(tree: nodes.Node, source: str) -> None:
    for node in tree.find_all((nodes.Getattr, nodes.Name)):
        name = str(getattr(node, "attr", None) or getattr(node, "name", "") or "")
        if name.startswith("_"):
            raise ExpressionError(f"{source!r}: names starting with '_' are not allowed")


@lru_cache(maxsize=4096)
def _compiled(source: str) -> Any:
    return _ENV.compile_expression(source, undefined_to_none=False)


def validate_expression(source: str) -> str:
    text = source.strip()
    if not text:
        raise ExpressionError("expression is empty")
    try:
        _check_names(_ENV.parse("{{ " + text + " }}"), text)
        _compiled(text)
    except TemplateSyntaxError as error:
        raise ExpressionError(f"{text!r} is not a valid expression: {error.message}") from None
    return text


def evaluate(source: str, context: dict[str, Any]) -> tuple[bool, str]:
    """Returns (truth, error); error is '' when the expression evaluated cleanly."""
    try:
        value = _compiled(source)(**context)
    except Exception as error:  # sandbox violations and type errors alike count as false
        return False, f"{type(error).__name__}: {error}"
    if isinstance(value, ChainableUndefined):
        return False, ""
    return bool(value), ""


def value_of(source: str, context: dict[str, Any]) -> Any:
    try:
        value = _compiled(source)(**context)
    except Exception:
        return None
    return None if isinstance(value, ChainableUndefined) else value
