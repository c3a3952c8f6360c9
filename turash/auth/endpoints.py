from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from turash.auth import service
from turash.auth.dependencies import PrincipalDep, RuntimeDep, UowDep
from turash.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead, RefreshRequest, TokenPair, UserCreate, UserRead

router = APIRouter(tags=["auth"])


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/auth/register", status_code=status.HTTP_201_CREATED, response_model=UserRead, operation_id="register")
def register(data: UserCreate, uow: UowDep, request: Request, runtime: RuntimeDep) -> UserRead:
    """Create a user account (passwords are stored as argon2id hashes)."""
    from turash.kit import ratelimit

    ratelimit.hit(runtime.cache, "register", _client_ip(request), 20, 3600)
    return UserRead.model_validate(service.register(uow.session, data))


@router.post("/auth/token", response_model=TokenPair, operation_id="login")
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], uow: UowDep, runtime: RuntimeDep, request: Request
) -> TokenPair:
    """OAuth2 password flow: `username` (e-mail) and `password` as form fields. Rate-limited per user and address."""
    return service.login(
        uow.session,
        runtime.cache,
        runtime.settings,
        username=form.username,
        password=form.password,
        client_ip=_client_ip(request),
    )


@router.post("/auth/refresh", response_model=TokenPair, operation_id="refresh_token")
def refresh(data: RefreshRequest, uow: UowDep, runtime: RuntimeDep) -> TokenPair:
    """Exchange a refresh token for a new pair; the old refresh token stops working."""
    return service.refresh(uow.session, runtime.cache, runtime.settings, data.refresh_token)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, operation_id="logout")
def logout(principal: PrincipalDep, runtime: RuntimeDep, everywhere: bool = False) -> None:
    """End this session (or, with `everywhere=true`, all of the user's sessions)."""
    service.logout(runtime.cache, principal, everywhere=everywhere)


@router.get("/users/me", response_model=UserRead, operation_id="get_me")
def me(principal: PrincipalDep) -> UserRead:
    return UserRead.model_validate(principal.user)


@router.post(
    "/users/me/api-keys",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    operation_id="create_api_key",
)
def create_api_key(data: ApiKeyCreate, uow: UowDep, principal: PrincipalDep) -> ApiKeyCreated:
    """Create an API key for machine clients. The secret is in the response once and never again."""
    api_key, secret = service.create_api_key(uow.session, principal, data)
    return ApiKeyCreated(**ApiKeyRead.model_validate(api_key).model_dump(), key=secret)


@router.get("/users/me/api-keys", response_model=list[ApiKeyRead], operation_id="list_api_keys")
def list_api_keys(uow: UowDep, principal: PrincipalDep) -> list[ApiKeyRead]:
    return [ApiKeyRead.model_validate(k) for k in service.list_api_keys(uow.session, principal)]


@router.delete("/users/me/api-keys/{key_id}", response_model=ApiKeyRead, operation_id="revoke_api_key")
def revoke_api_key(key_id: str, uow: UowDep, principal: PrincipalDep) -> ApiKeyRead:
    return ApiKeyRead.model_validate(service.revoke_api_key(uow.session, principal, key_id))
