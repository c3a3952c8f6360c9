from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, Session

from turash.models import Membership, Organization, User
from turash.models.base import name_key

if TYPE_CHECKING:
    from turash.auth.service import Principal


def membership_of(session: Session, organization_id: str, user_id: str) -> Membership | None:
    return session.scalar(
        sa.select(Membership).where(Membership.organization_id == organization_id, Membership.user_id == user_id)
    )


def organizations_of_user(session: Session, user_id: str) -> list[tuple[Organization, str]]:
    rows = session.execute(
        sa.select(Organization, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by(Organization.name, Organization.id)
    )
    return [(org, role) for org, role in rows]


def member_org_ids(user_id: str) -> sa.Select[str]:
    return sa.select(Membership.organization_id).where(Membership.user_id == user_id)


def members(session: Session, organization_id: str) -> list[tuple[Membership, User]]:
    rows = session.execute(
        sa.select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization_id)
        .order_by(User.email)
    )
    return [(m, u) for m, u in rows]


def count_owners(session: Session, organization_id: str) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Membership)
            .where(Membership.organization_id == organization_id, Membership.role == "owner")
        )
        or 0
    )


def find_by_name(session: Session, name: str) -> Organization | None:
    return session.scalar(
        sa.select(Organization)
        .where(Organization.name_key == name_key(name))
        .order_by(Organization.created_at)
        .limit(1)
    )


def visible_to(
    principal: Principal, org_id_column: sa.ColumnElement[str] | QueryableAttribute[str]
) -> sa.ColumnElement[bool]:
    """Rows of organisations the caller may read in full: its own, and public-register ones (public data)."""
    public = sa.select(Organization.id).where(Organization.source == "register")
    if principal.api_key_organization_id is not None:
        return sa.or_(org_id_column == principal.api_key_organization_id, org_id_column.in_(public))
    if principal.is_admin:
        return sa.true()
    return sa.or_(org_id_column.in_(member_org_ids(principal.user.id)), org_id_column.in_(public))


def search(
    session: Session,
    principal: Principal,
    *,
    q: str | None,
    country: str | None,
    source: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Organization], int]:
    query = sa.select(Organization).where(visible_to(principal, Organization.id))
    if q:
        query = query.where(Organization.name_key.contains(name_key(q), autoescape=True))
    if country:
        query = query.where(Organization.country == country.upper())
    if source:
        query = query.where(Organization.source == source)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Organization.name, Organization.id).limit(limit).offset(offset))
    return list(rows), total
