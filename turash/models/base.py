"""Declarative base, id generation and column helpers shared by every model."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names: Alembic needs them to alter constraints, SQLite batch mode included.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def new_id() -> str:
    """32 hex chars: 48-bit millisecond time then 80 random bits, so ids sort by creation time (like ULID/UUIDv7)."""
    return f"{int(time.time() * 1000):012x}{os.urandom(10).hex()}"


def new_ids(count: int) -> list[str]:
    """`count` ids at once (one clock read and one random read): for bulk inserts."""
    prefix = f"{int(time.time() * 1000):012x}"
    noise = os.urandom(10 * count).hex()
    return [prefix + noise[20 * i : 20 * i + 20] for i in range(count)]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns: read them as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dict[str, Any]: JSONType,
        datetime: sa.DateTime(timezone=True),
    }


class IdMixin:
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def name_key(name: str) -> str:
    """Case- and space-insensitive key for finding an organisation or site by the name a file gives."""
    return " ".join(name.casefold().split())
