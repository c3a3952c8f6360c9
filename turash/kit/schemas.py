"""Pydantic helpers shared by the domain schemas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BeforeValidator


def optional(parser: Callable[[Any], Any]) -> BeforeValidator:
    """A validator running one of the column parsers (turash.flows.fields) on a value; blank means null.

    Use as `field: Annotated[str | None, optional(fields.direction)] = None`."""

    def validate(value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return parser(value)

    return BeforeValidator(validate)
