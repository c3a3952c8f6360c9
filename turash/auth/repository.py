from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.models import ApiKey, User


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def user_by_id(session: Session, user_id: str) -> User | None:
    return session.get(User, user_id)


def api_key_by_hash(session: Session, key_hash: str) -> ApiKey | None:
    return session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == key_hash))


def api_keys_of(session: Session, user_id: str) -> list[ApiKey]:
    return list(session.scalars(sa.select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at)))
