"""Errors raised by email rendering; callers catch one type whatever stage failed."""

from __future__ import annotations


class TemplateError(Exception):
    """A template cannot be compiled or rendered: MJML problem, Jinja syntax, unsafe expression.

    `line` is 1-based when known (for MJML problems it counts lines of the assembled MJML,
    i.e. after the layout and blocks were put together).
    """

    def __init__(self, message: str, *, template: str = "", line: int | None = None) -> None:
        self.template = template
        self.line = line
        where = template + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {message}" if where else message)
        self.detail = message
