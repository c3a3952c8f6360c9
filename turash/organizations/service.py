"""Organisations, members and the access rules every route relies on.

Roles rank owner > admin > member > viewer. Viewers read; members edit sites, flows and services; admins also edit
the organisation and its members; owners also delete it and appoint owners. A platform admin acts as an owner
everywhere. Organisations built from public registers (source `register`) are public data: every signed-in user
reads them; only platform admins change them. Private organisations are invisible to non-members, who only ever
see them in the shapes matching and search expose. An API key limited to one organisation acts only there (and on
public data).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from turash.auth.service import Principal
from turash.kit.errors import Conflict, Forbidden, NotFound
from turash.models import Membership, Organization, User
from turash.models.base import name_key, new_id
from turash.organizations import repository
from turash.organizations.schemas import MemberAdd, OrganizationCreate, OrganizationUpdate

ROLE_RANK = {"viewer": 0, "member": 1, "admin": 2, "owner": 3}


@dataclass(frozen=True)
class OrgAccess:
    organization: Organization
    role: str


def effective_role(session: Session, principal: Principal, org: Organization) -> str | None:
    scoped = principal.api_key_organization_id
    if scoped is not None and scoped != org.id:
        return "viewer" if org.source == "register" else None
    if principal.is_admin:
        return "owner"
    membership = repository.membership_of(session, org.id, principal.user.id)
    if membership is not None:
        return membership.role
    return "viewer" if org.source == "register" else None


def require_role(session: Session, principal: Principal, org: Organization, min_role: str) -> OrgAccess:
    role = effective_role(session, principal, org)
    if role is None:
        # no details: a caller outside the organisation must not learn which organisation holds the record
        raise Forbidden("you have no access to this organisation")
    if org.source == "register" and min_role != "viewer" and not principal.is_admin:
        raise Forbidden("organisations from public registers are read-only", details={"organization_id": org.id})
    if ROLE_RANK[role] < ROLE_RANK[min_role]:
        raise Forbidden(
            f"this needs the {min_role} role; you are {role}",
            details={"organization_id": org.id, "required": min_role, "role": role},
        )
    return OrgAccess(org, role)


def get_organization(session: Session, organization_id: str) -> Organization:
    org = session.get(Organization, organization_id)
    if org is None:
        raise NotFound.of("organization", organization_id)
    return org


def create(session: Session, principal: Principal, data: OrganizationCreate) -> Organization:
    if principal.api_key_organization_id is not None:
        raise Forbidden("an API key limited to one organisation cannot create organisations")
    org = Organization(
        id=new_id(),
        name=data.name.strip(),
        name_key=name_key(data.name),
        kind=data.kind,
        nace=data.nace,
        country=data.country,
        description=data.description,
        website=data.website,
        source="user",
        created_by=principal.user.id,
    )
    session.add(org)
    session.add(Membership(id=new_id(), organization_id=org.id, user_id=principal.user.id, role="owner"))
    session.flush()
    return org


def update(org: Organization, data: OrganizationUpdate) -> Organization:
    for field, value in data.model_dump(exclude_unset=True).items():
        if field == "name":
            if value is None:
                continue
            org.name_key = name_key(value)
            value = value.strip()
        setattr(org, field, value)
    return org


def delete(session: Session, org: Organization) -> None:
    session.delete(org)


def organizations_of(session: Session, principal: Principal) -> list[tuple[Organization, str]]:
    return repository.organizations_of_user(session, principal.user.id)


def add_member(session: Session, access: OrgAccess, data: MemberAdd) -> tuple[Membership, User]:
    if data.role == "owner" and access.role != "owner":
        raise Forbidden("only an owner can appoint owners")
    from turash.auth.repository import user_by_email

    user = user_by_email(session, str(data.email))
    if user is None:
        raise NotFound(f"no user with e-mail {data.email}; they must register first", code="user_not_found")
    if repository.membership_of(session, access.organization.id, user.id) is not None:
        raise Conflict(f"{data.email} is already a member", code="already_member")
    membership = Membership(id=new_id(), organization_id=access.organization.id, user_id=user.id, role=data.role)
    session.add(membership)
    session.flush()
    return membership, user


def _membership(session: Session, access: OrgAccess, user_id: str) -> Membership:
    membership = repository.membership_of(session, access.organization.id, user_id)
    if membership is None:
        raise NotFound.of("member", user_id)
    return membership


def change_role(session: Session, access: OrgAccess, user_id: str, role: str) -> Membership:
    membership = _membership(session, access, user_id)
    if "owner" in (role, membership.role) and access.role != "owner":
        raise Forbidden("only an owner can appoint or demote owners")
    if membership.role == "owner" and role != "owner" and repository.count_owners(session, access.organization.id) <= 1:
        raise Conflict("an organisation needs at least one owner; appoint another first", code="last_owner")
    membership.role = role
    return membership


def remove_member(session: Session, access: OrgAccess, user_id: str) -> None:
    membership = _membership(session, access, user_id)
    if membership.role == "owner" and access.role != "owner":
        raise Forbidden("only an owner can remove an owner")
    if membership.role == "owner" and repository.count_owners(session, access.organization.id) <= 1:
        raise Conflict("an organisation needs at least one owner; appoint another first", code="last_owner")
    session.delete(membership)
