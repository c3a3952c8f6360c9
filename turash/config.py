"""Settings: every knob is a `TURASH_*` environment variable (or a line in `.env`).

Unset means the embedded default: SQLite file `./turash.db`, in-process cache and event bus, so `pip install`
alone runs everything. Production picks PostgreSQL+PostGIS, Redis and NATS JetStream by URL.
The README's configuration table is generated from this class (`turash config --markdown`).
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "TURASH_"


class ConfigurationError(ValueError):
    """A setting that cannot be used: the message names the variable and what is wrong."""


def settings_problems(exc: ValidationError) -> str:
    """A Settings validation error as `TURASH_NAME: what is wrong (got ...)` lines."""
    lines = []
    for error in exc.errors(include_url=False):
        name = f"{ENV_PREFIX}{'_'.join(str(p) for p in error['loc']).upper()}"
        lines.append(f"{name}: {error['msg']} (got {error['input']!r})")
    return "; ".join(lines)


class FileSettingsSource(PydanticBaseSettingsSource):
    """`TURASH_<NAME>_FILE=/run/secrets/x` sets `TURASH_<NAME>` to that file's content (trailing newline removed):
    the Docker/Kubernetes way of passing secrets, e.g. `TURASH_DATABASE_URL_FILE`, `TURASH_SMTP_URL_FILE`. A
    variable set directly wins; an unreadable file is an error naming the variable and the path."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is read in __call__

    def __call__(self) -> dict[str, Any]:
        fields = self.settings_cls.model_fields
        out: dict[str, Any] = {}
        for name in fields:
            if f"{name}_file" in fields:  # has a field of its own (secret_key_file), read where it is used
                continue
            variable = f"{ENV_PREFIX}{name.upper()}"
            path = os.environ.get(f"{variable}_FILE")
            if not path or os.environ.get(variable):
                continue
            try:
                out[name] = Path(path).read_text().rstrip("\r\n")
            except OSError as exc:
                raise ConfigurationError(f"{variable}_FILE={path}: cannot read the file ({exc.strerror})") from None
        return out


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Arguments, then the environment, then `TURASH_*_FILE` files, then `.env`.
        return init_settings, env_settings, FileSettingsSource(settings_cls), dotenv_settings, file_secret_settings

    database_url: str = Field(
        "sqlite:///./turash.db",
        description="SQLAlchemy URL. `sqlite:///./turash.db` (embedded) or `postgresql+psycopg://user@host/db`.",
    )
    secret_key: str = Field(
        "",
        description="Key that signs JWTs. Unset: a random key per process (tokens die with the process) "
        "and a warning. Required in production.",
    )
    secret_key_file: Path | None = Field(
        None, description="File holding the secret key (e.g. a Docker/Kubernetes secret); wins over unset."
    )
    redis_url: str | None = Field(
        None, description="`redis://host:6379/0`: cache, refresh tokens and rate limits in Redis."
    )
    nats_url: str | None = Field(
        None, description="`nats://host:4222`: domain events on NATS JetStream instead of in-process."
    )
    nats_stream: str = Field("TURASH", description="JetStream stream name for domain events.")
    job_queue: str = Field(
        "inprocess",
        pattern="^(inprocess|nats)$",
        description="`inprocess`: each `turash serve` runs its own background jobs; `nats`: jobs go to the JetStream "
        "work queue `<TURASH_NATS_STREAM>_JOBS` and `turash worker` processes run them.",
    )
    job_partitions: int = Field(
        16, ge=1, le=256, description="Partitions of the job queue (geographic cells are hashed onto them)."
    )
    job_ack_wait_seconds: float = Field(
        600.0, ge=5, description="A job not acknowledged this long after delivery (its worker died) is delivered again."
    )
    rematch_interval_minutes: int = Field(
        360, ge=1, description="`turash scheduler` queues a re-match of every populated cell this often."
    )
    mqtt_url: str | None = Field(None, description="`mqtt://host:1883`: meter readings broker (ingestion).")
    data_dir: Path | None = Field(
        None,
        description="Folder with the reference data files (Hotmaps, E-PRTR, EWC...). Unset: `../shared/data` "
        "beside the checkout, else a user cache folder filled by download.",
    )
    economics_file: Path | None = Field(
        None,
        description="YAML file of the operator's economic assumptions (`default:` and `countries: {DK: ...}`, "
        "name: value) over the built-in defaults, e.g. discount rate, prices, carbon price. Re-read when it changes.",
    )
    data_mirror_url: str | None = Field(
        None,
        description="Base URL serving the reference files under their local names; replaces the upstream "
        "addresses (offline mirrors, tests).",
    )
    access_token_minutes: int = Field(15, ge=1, le=1440, description="Lifetime of a JWT access token.")
    refresh_token_hours: int = Field(24, ge=1, le=24 * 30, description="Lifetime of a refresh token / session.")
    login_rate_limit: int = Field(10, ge=1, description="Login attempts allowed per user name and IP address...")
    login_rate_window_seconds: int = Field(60, ge=1, description="...in this many seconds; then HTTP 429.")
    api_rate_limit: int = Field(
        3000, ge=1, description="API requests allowed per user (bearer token) or API key in each window..."
    )
    api_rate_window_seconds: int = Field(60, ge=1, description="...of this many seconds; then HTTP 429.")
    auth_failure_limit: int = Field(
        30, ge=1, description="Requests with an invalid token or API key allowed per IP address in each API window."
    )
    content_security_policy: str = Field(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https:; "
        "connect-src 'self' ws: wss: https:; worker-src 'self' blob:; child-src blob:; font-src 'self' data:; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        description="Content-Security-Policy of every response but the Swagger UI page (https: images and "
        "connections are for an online tile server).",
    )
    hsts_seconds: int = Field(
        31536000, ge=0, description="Strict-Transport-Security max-age sent on HTTPS requests (0: not sent)."
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        None,
        description="`http://collector:4318`: send OpenTelemetry traces (OTLP over HTTP) of requests, imports and "
        "match runs. Unset: no tracing.",
    )
    otel_service_name: str = Field("turash", description="service.name of the traces.")
    otel_sample_ratio: float = Field(1.0, ge=0, le=1, description="Share of requests traced (parent-based).")
    max_requests_in_flight: int = Field(
        16,
        ge=1,
        le=19,
        description="API requests handled at once per process; more wait their turn. Below the 20 database "
        "connections of the pool, so requests waiting for a connection can never hold every worker thread.",
    )
    graphql_max_depth: int = Field(10, ge=2, le=50, description="Deepest nesting a GraphQL query may have.")
    graphql_max_cost: int = Field(
        25000,
        ge=10,
        description="Largest estimated cost of a GraphQL query: fields times the page sizes above them, matches "
        "weighing 10 and business cases 25 (docs/graphql.md).",
    )
    auto_migrate: bool = Field(True, description="Apply database migrations on start (`serve`, `demo`, `import`...).")
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS (JSON list).")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING, ERROR.")
    log_json: bool = Field(False, description="Structured JSON logs (for production log shipping).")
    max_upload_mb: int = Field(50, ge=1, description="Largest accepted upload or request body.")
    network_max_nodes: int = Field(
        5000, ge=1, description="Most nodes `GET /api/v1/network` returns; a larger box is refused with what to narrow."
    )
    network_max_edges: int = Field(20000, ge=1, description="Most edges `GET /api/v1/network` returns.")
    smtp_url: str | None = Field(
        None,
        description="`smtp://user:password@host:587` (STARTTLS) or `smtps://...:465`: send e-mail. Unset: e-mails "
        "are written as .eml files into TURASH_MAIL_DIR.",
    )
    mail_dir: Path = Field(Path("var/mail"), description="Folder of the e-mail file sink (when no SMTP is set).")
    mail_from: str = Field("Turash <noreply@turash.invalid>", description="Sender of notification e-mails.")
    public_url: str = Field("http://127.0.0.1:8000", description="The web app's address, for links in e-mails.")
    delivery_mode: str = Field(
        "background",
        pattern="^(background|inline)$",
        description="`background`: e-mails and webhooks are sent by a worker thread (retries with backoff); "
        "`inline`: right after the event (tests, one-off CLI runs).",
    )

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        # Accept the common libpq-style spellings and pin the psycopg 3 driver.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        if self.secret_key_file is not None:
            return self.secret_key_file.read_text().strip()
        return _ephemeral_secret()


@lru_cache(maxsize=1)
def _ephemeral_secret() -> str:
    return secrets.token_urlsafe(48)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
