from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from turash.models.base import Base, IdMixin, TimestampMixin

if TYPE_CHECKING:
    from turash.models.user import User

ORGANIZATION_KINDS = ("sme", "enterprise", "municipality", "utility", "facilitator")
MEMBER_ROLES = ("owner", "admin", "member", "viewer")  # most to least powerful
# Where an organisation came from. Organisations derived from public registers are public data; the others are
# private to their members and seen by others only through matching and search.
ORGANIZATION_SOURCES = ("user", "import", "register")


class Organization(IdMixin, TimestampMixin, Base):
    __tablename__ = "organizations"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN {ORGANIZATION_KINDS}", name="kind"),
        sa.CheckConstraint(f"source IN {ORGANIZATION_SOURCES}", name="source"),
    )

    name: Mapped[str] = mapped_column(sa.String(300))
    name_key: Mapped[str] = mapped_column(sa.String(300), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16), default="sme")
    nace: Mapped[str | None] = mapped_column(sa.String(16), index=True)
    country: Mapped[str | None] = mapped_column(sa.String(2), index=True)
    description: Mapped[str | None] = mapped_column(sa.Text)
    website: Mapped[str | None] = mapped_column(sa.String(500))
    source: Mapped[str] = mapped_column(sa.String(16), default="user")
    source_ref: Mapped[str | None] = mapped_column(sa.String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class Membership(IdMixin, TimestampMixin, Base):
    __tablename__ = "memberships"
    __table_args__ = (
        sa.UniqueConstraint("organization_id", "user_id"),
        sa.CheckConstraint(f"role IN {MEMBER_ROLES}", name="role"),
    )

    organization_id: Mapped[str] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))

    organization: Mapped[Organization] = relationship(lazy="raise")
    user: Mapped[User] = relationship(lazy="raise")
