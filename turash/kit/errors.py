"""One error hierarchy. Services raise these; the API renders them as `{"error": {...}}`, the CLI prints them."""

from __future__ import annotations

from typing import Any


class TurashError(Exception):
    """Base of every expected error. `status_code` is the HTTP status, `code` a stable machine-readable name."""

    status_code: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class ValidationFailed(TurashError):
    status_code = 422
    code = "validation_error"


class NotAuthenticated(TurashError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(TurashError):
    status_code = 403
    code = "forbidden"


class NotFound(TurashError):
    status_code = 404
    code = "not_found"

    @classmethod
    def of(cls, kind: str, ident: str) -> NotFound:
        return cls(f"{kind} '{ident}' not found", details={"kind": kind, "id": ident})


class Conflict(TurashError):
    status_code = 409
    code = "conflict"


class RateLimited(TurashError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after_seconds": retry_after})
        self.retry_after = retry_after


class PayloadTooLarge(TurashError):
    status_code = 413
    code = "payload_too_large"


class Unavailable(TurashError):
    """A dependency (data download, external service) cannot be reached."""

    status_code = 503
    code = "unavailable"
