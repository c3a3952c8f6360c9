"""FastAPI dependency aliases. Authorisation is a dependency, never an `if` inside a route.

`UowDep` opens the request's unit of work and commits it once the route function has returned (before the
response is sent, so a failed commit is an error response, not a false success). `PrincipalDep` authenticates a
bearer JWT or an `X-API-Key`. `OrgViewer`/`OrgMember`/`OrgAdmin`/`OrgOwner` load the organisation in the path and
check the caller's role; `SiteAccess`, `FlowAccess`, `ServiceAccess` do the same through the entity's organisation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from turash.audit.service import Actor
from turash.auth import crypto, service
from turash.auth.service import Principal
from turash.kit import ratelimit
from turash.kit.db import UnitOfWork
from turash.kit.errors import NotAuthenticated, NotFound
from turash.kit.runtime import Runtime
from turash.models import Organization, ResourceFlow, ServiceOffering, Site
from turash.organizations.service import OrgAccess, get_organization, require_role


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_uow(request: Request, runtime: RuntimeDep) -> Iterator[UnitOfWork]:
    with runtime.uow() as uow:
        uow.session.info["actor"] = Actor("anonymous", request_id=getattr(request.state, "request_id", None))
        yield uow
        uow.commit()


UowDep = Annotated[UnitOfWork, Depends(get_uow, scope="function")]

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key created at /api/v1/users/me/api-keys"
)


def get_principal(
    request: Request,
    runtime: RuntimeDep,
    uow: UowDep,
    token: Annotated[str | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    settings = runtime.settings
    try:
        if token:
            principal = service.principal_from_bearer(uow.session, runtime.cache, settings, token)
        elif api_key:
            principal = service.principal_from_api_key(uow.session, api_key)
        else:
            raise NotAuthenticated("sign in: send `Authorization: Bearer <token>` or `X-API-Key: <key>`")
    except NotAuthenticated:
        # Guessing keys, or forging tokens, is limited per address; an expired or signed-out token (every client
        # sends one now and then, then refreshes) is not counted.
        if (api_key and not token) or (token and not crypto.signed_by_us(token, settings.resolved_secret_key())):
            client = request.client.host if request.client else "unknown"
            ratelimit.hit(
                runtime.cache, "auth-fail", client, settings.auth_failure_limit, settings.api_rate_window_seconds
            )
        raise
    # Per user and per API key, in the shared cache (Redis when configured: the limit holds across replicas).
    caller = f"key:{principal.api_key_id}" if principal.via == "api_key" else f"user:{principal.user.id}"
    ratelimit.hit(runtime.cache, "api", caller, settings.api_rate_limit, settings.api_rate_window_seconds)
    uow.session.info["actor"] = Actor(principal.label, principal.user.id, getattr(request.state, "request_id", None))
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_platform_admin(principal: PrincipalDep) -> Principal:
    from turash.kit.errors import Forbidden

    if not principal.is_admin:
        raise Forbidden("this needs a platform administrator")
    return principal


PlatformAdmin = Annotated[Principal, Depends(require_platform_admin)]


def _org_dependency(min_role: str) -> Callable[..., OrgAccess]:
    def dependency(organization_id: str, uow: UowDep, principal: PrincipalDep) -> OrgAccess:
        return require_role(uow.session, principal, get_organization(uow.session, organization_id), min_role)

    return dependency


OrgViewer = Annotated[OrgAccess, Depends(_org_dependency("viewer"))]
OrgMember = Annotated[OrgAccess, Depends(_org_dependency("member"))]
OrgAdmin = Annotated[OrgAccess, Depends(_org_dependency("admin"))]
OrgOwner = Annotated[OrgAccess, Depends(_org_dependency("owner"))]


@dataclass(frozen=True)
class EntityAccess:
    entity: Any
    access: OrgAccess


def _entity_access(
    uow: UnitOfWork, principal: Principal, model: type, kind: str, ident: str, min_role: str
) -> EntityAccess:
    entity = uow.session.get(model, ident)
    if entity is None:
        raise NotFound.of(kind, ident)
    org = uow.session.get(Organization, entity.organization_id)
    if org is None:  # foreign keys make this impossible; keep the error honest if it happens
        raise NotFound.of("organization", entity.organization_id)
    return EntityAccess(entity, require_role(uow.session, principal, org, min_role))


def site_access(min_role: str) -> Callable[..., EntityAccess]:
    def dependency(site_id: str, uow: UowDep, principal: PrincipalDep) -> EntityAccess:
        return _entity_access(uow, principal, Site, "site", site_id, min_role)

    return dependency


def flow_access(min_role: str) -> Callable[..., EntityAccess]:
    def dependency(flow_id: str, uow: UowDep, principal: PrincipalDep) -> EntityAccess:
        return _entity_access(uow, principal, ResourceFlow, "flow", flow_id, min_role)

    return dependency


def service_access(min_role: str) -> Callable[..., EntityAccess]:
    def dependency(service_id: str, uow: UowDep, principal: PrincipalDep) -> EntityAccess:
        return _entity_access(uow, principal, ServiceOffering, "service", service_id, min_role)

    return dependency


SiteViewer = Annotated[EntityAccess, Depends(site_access("viewer"))]
SiteEditor = Annotated[EntityAccess, Depends(site_access("member"))]
FlowViewer = Annotated[EntityAccess, Depends(flow_access("viewer"))]
FlowEditor = Annotated[EntityAccess, Depends(flow_access("member"))]
ServiceViewer = Annotated[EntityAccess, Depends(service_access("viewer"))]
ServiceEditor = Annotated[EntityAccess, Depends(service_access("member"))]
