from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from turash.models.base import Base, new_id, utcnow


class AuditEntry(Base):
    """Who changed what, when, from what to what. Written automatically for every ORM change (kit/audit.py)."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    actor: Mapped[str] = mapped_column(sa.String(200))  # "user:<email>", "api-key:<prefix>", "cli", "system"
    action: Mapped[str] = mapped_column(sa.String(16))  # create | update | delete | import
    entity: Mapped[str] = mapped_column(sa.String(64))
    entity_id: Mapped[str] = mapped_column(sa.String(64))
    organization_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
