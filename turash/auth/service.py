"""Authentication use cases: registration, login, token refresh with rotation, logout, API keys.

Sessions live in the cache (in-process, or Redis when configured) for `refresh_token_hours` from login: key
`sess:<user>:<sid>` holds the hash of the current refresh token and the session's absolute expiry. Access tokens
(JWT, `access_token_minutes`) name their session, so logging out revokes them at once. A refresh token is used once:
refreshing rotates it, and presenting an already-rotated token ends the session (stolen-token detection).
"""

from __future__ import annotations

import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from turash.auth import crypto, repository
from turash.auth.schemas import ApiKeyCreate, TokenPair, UserCreate
from turash.config import Settings
from turash.kit import ratelimit
from turash.kit.cache import Cache
from turash.kit.errors import Conflict, Forbidden, NotAuthenticated, NotFound
from turash.kit.metrics import LOGIN_ATTEMPTS
from turash.models import ApiKey, User
from turash.models.base import as_utc, new_id
from turash.organizations.repository import membership_of


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, through a JWT session or an API key (which may be limited to one organisation)."""

    user: User
    via: str  # "jwt" | "api_key"
    session_id: str | None = None
    api_key_id: str | None = None
    api_key_organization_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"

    @property
    def label(self) -> str:
        return f"user:{self.user.email}" if self.via == "jwt" else f"api-key:{self.api_key_id}"


def create_user(session: Session, *, email: str, name: str, password: str, role: str = "user") -> User:
    email = email.strip().lower()
    if repository.user_by_email(session, email) is not None:
        raise Conflict(f"a user with e-mail {email} already exists", code="email_taken")
    user = User(id=new_id(), email=email, name=name.strip(), password_hash=crypto.hash_password(password), role=role)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # a concurrent registration won the race
        raise Conflict(f"a user with e-mail {email} already exists", code="email_taken") from None
    return user


def register(session: Session, data: UserCreate) -> User:
    return create_user(session, email=str(data.email), name=data.name, password=data.password)


def _session_key(user_id: str, session_id: str) -> str:
    return f"sess:{user_id}:{session_id}"


def _issue(cache: Cache, settings: Settings, user: User, session_id: str, expires_at: float) -> TokenPair:
    secret = crypto.new_refresh_secret()
    remaining = max(1, int(expires_at - time.time()))
    cache.set(
        _session_key(user.id, session_id),
        json.dumps({"refresh": crypto.sha256_hex(secret), "expires_at": expires_at}),
        remaining,
    )
    access, expires_in = crypto.encode_access_token(
        user_id=user.id,
        session_id=session_id,
        secret=settings.resolved_secret_key(),
        minutes=settings.access_token_minutes,
    )
    return TokenPair(
        access_token=access,
        expires_in=expires_in,
        refresh_token=f"{user.id}.{session_id}.{secret}",
        refresh_expires_in=remaining,
    )


def login(
    session: Session, cache: Cache, settings: Settings, *, username: str, password: str, client_ip: str
) -> TokenPair:
    email = username.strip().lower()
    ratelimit.hit(cache, "login", f"{email}|{client_ip}", settings.login_rate_limit, settings.login_rate_window_seconds)
    user = repository.user_by_email(session, email)
    if not crypto.verify_password(user.password_hash if user else None, password) or user is None:
        LOGIN_ATTEMPTS.labels("failed").inc()
        raise NotAuthenticated("wrong e-mail or password", code="invalid_credentials")
    if not user.is_active:
        LOGIN_ATTEMPTS.labels("inactive").inc()
        raise NotAuthenticated("this account is disabled", code="account_disabled")
    if crypto.needs_rehash(user.password_hash):
        user.password_hash = crypto.hash_password(password)
    LOGIN_ATTEMPTS.labels("ok").inc()
    expires_at = time.time() + settings.refresh_token_hours * 3600
    return _issue(cache, settings, user, new_id(), expires_at)


def refresh(session: Session, cache: Cache, settings: Settings, refresh_token: str) -> TokenPair:
    invalid = NotAuthenticated("refresh token is invalid or expired", code="invalid_refresh_token")
    parts = refresh_token.split(".")
    if len(parts) != 3:
        raise invalid
    user_id, session_id, secret = parts
    raw = cache.get(_session_key(user_id, session_id))
    if raw is None:
        raise invalid
    stored = json.loads(raw)
    if not hmac.compare_digest(stored["refresh"], crypto.sha256_hex(secret)):
        cache.delete(_session_key(user_id, session_id))  # a rotated token came back: assume theft
        raise invalid
    user = repository.user_by_id(session, user_id)
    if user is None or not user.is_active:
        raise invalid
    return _issue(cache, settings, user, session_id, float(stored["expires_at"]))


def logout(cache: Cache, principal: Principal, *, everywhere: bool = False) -> None:
    if everywhere:
        cache.delete_prefix(f"sess:{principal.user.id}:")
    elif principal.session_id:
        cache.delete(_session_key(principal.user.id, principal.session_id))


def principal_from_bearer(session: Session, cache: Cache, settings: Settings, token: str) -> Principal:
    claims = crypto.decode_access_token(token, settings.resolved_secret_key())
    if claims is None:
        raise NotAuthenticated("access token is invalid or expired", code="invalid_token")
    user_id, session_id = str(claims["sub"]), str(claims.get("sid", ""))
    if cache.get(_session_key(user_id, session_id)) is None:
        raise NotAuthenticated("session has ended; log in again", code="session_ended")
    user = repository.user_by_id(session, user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("account not found or disabled", code="invalid_token")
    return Principal(user=user, via="jwt", session_id=session_id)


def principal_from_api_key(session: Session, key: str) -> Principal:
    api_key = repository.api_key_by_hash(session, crypto.sha256_hex(key.strip()))
    now = datetime.now(UTC)
    if api_key is None or api_key.revoked_at is not None:
        raise NotAuthenticated("API key is invalid or revoked", code="invalid_api_key")
    if api_key.expires_at is not None and as_utc(api_key.expires_at) <= now:
        raise NotAuthenticated("API key has expired", code="invalid_api_key")
    user = repository.user_by_id(session, api_key.user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("API key owner is disabled", code="invalid_api_key")
    # Touch at most once a minute: a write per request would serialise machine clients on SQLite.
    if api_key.last_used_at is None or now - as_utc(api_key.last_used_at) > timedelta(minutes=1):
        api_key.last_used_at = now
    return Principal(user=user, via="api_key", api_key_id=api_key.id, api_key_organization_id=api_key.organization_id)


def create_api_key(session: Session, principal: Principal, data: ApiKeyCreate) -> tuple[ApiKey, str]:
    if principal.via == "api_key":
        raise Forbidden("an API key cannot create API keys; log in as the user")
    if (
        data.organization_id is not None
        and not principal.is_admin
        and membership_of(session, data.organization_id, principal.user.id) is None
    ):
        raise Forbidden("you are not a member of that organisation")
    secret, prefix, key_hash = crypto.new_api_key()
    expires = datetime.now(UTC) + timedelta(days=data.expires_in_days) if data.expires_in_days else None
    api_key = ApiKey(
        id=new_id(),
        user_id=principal.user.id,
        organization_id=data.organization_id,
        name=data.name,
        prefix=prefix,
        key_hash=key_hash,
        expires_at=expires,
    )
    session.add(api_key)
    session.flush()
    return api_key, secret


def list_api_keys(session: Session, principal: Principal) -> list[ApiKey]:
    return repository.api_keys_of(session, principal.user.id)


def revoke_api_key(session: Session, principal: Principal, key_id: str) -> ApiKey:
    api_key = session.get(ApiKey, key_id)
    if api_key is None or (api_key.user_id != principal.user.id and not principal.is_admin):
        raise NotFound.of("API key", key_id)
    if api_key.revoked_at is None:
        api_key.revoked_at = datetime.now(UTC)  # the audit listener records the change
    return api_key
