"""Credential primitives: argon2id password hashes, HS256 JWT access tokens, API key and refresh token secrets."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2id with the library's defaults (RFC 9106 "second recommended option": t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()
# A valid hash of a random password: verifying against it when the user does not exist costs the same time,
# so response times do not reveal which e-mail addresses are registered.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

API_KEY_PREFIX = "tk_"
JWT_ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def encode_access_token(*, user_id: str, session_id: str, secret: str, minutes: int) -> tuple[str, int]:
    now = datetime.now(UTC)
    claims = {
        "sub": user_id,
        "sid": session_id,
        "typ": "access",
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM), minutes * 60


def decode_access_token(token: str, secret: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired access token, or None."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "sub", "typ"]}
        )
    except jwt.PyJWTError:
        return None
    return claims if claims.get("typ") == "access" else None


def signed_by_us(token: str, secret: str) -> bool:
    """Whether a token carries our signature, expired or not: a token that does not is forged or garbage."""
    try:
        jwt.decode(token, secret, algorithms=[JWT_ALGORITHM], options={"verify_exp": False})
    except jwt.PyJWTError:
        return False
    return True


def new_api_key() -> tuple[str, str, str]:
    """(secret shown once, display prefix, sha256 stored)."""
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return secret, secret[:10], sha256_hex(secret)


def new_refresh_secret() -> str:
    return secrets.token_urlsafe(32)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
