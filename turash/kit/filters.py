"""Small SQL filter builders shared by list endpoints."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute


def nace_matches(
    column: sa.ColumnElement[str | None] | QueryableAttribute[str | None], code: str
) -> sa.ColumnElement[bool]:
    """A NACE filter matches the code and everything below it: `19` matches 19, 19.2 and 19.20."""
    prefix = code + "." if len(code) == 2 else code
    return sa.or_(column == code, column.startswith(prefix, autoescape=True))
