from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from turash.models.base import Base, IdMixin, TimestampMixin

PLATFORM_ROLES = ("user", "admin")


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint("role IN ('user', 'admin')", name="role"),)

    email: Mapped[str] = mapped_column(sa.String(320), unique=True, index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(16), default="user")
    is_active: Mapped[bool] = mapped_column(default=True)


class ApiKey(IdMixin, TimestampMixin, Base):
    """A machine credential. Only a SHA-256 of the secret is stored; the secret is shown once at creation.

    SHA-256 (not argon2) is right here: the secret is 256 random bits, so it cannot be brute-forced, and every API
    request must verify it fast.
    """

    __tablename__ = "api_keys"

    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    last_used_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(lazy="raise")
