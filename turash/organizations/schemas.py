from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from turash.kit.codes import normalise_country, normalise_nace

OrganizationKind = Literal["sme", "enterprise", "municipality", "utility", "facilitator"]
MemberRole = Literal["owner", "admin", "member", "viewer"]


class _Codes(BaseModel):
    @field_validator("nace", check_fields=False)
    @classmethod
    def _nace(cls, value: str | None) -> str | None:
        return normalise_nace(value) if value else None

    @field_validator("country", check_fields=False)
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return normalise_country(value) if value else None


class OrganizationCreate(_Codes):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Kalundborg Forsyning", "kind": "utility", "nace": "35.30", "country": "DK"}]
        },
    )

    name: str = Field(min_length=1, max_length=300)
    kind: OrganizationKind = "sme"
    nace: str | None = Field(None, description="NACE Rev. 2 code, e.g. `19.20` or `C19.2.0`.")
    country: str | None = Field(None, description="ISO 3166-1 alpha-2.")
    description: str | None = Field(None, max_length=5000)
    website: str | None = Field(None, max_length=500)


class OrganizationUpdate(_Codes):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=300)
    kind: OrganizationKind | None = None
    nace: str | None = None
    country: str | None = None
    description: str | None = Field(None, max_length=5000)
    website: str | None = Field(None, max_length=500)


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: str
    nace: str | None
    country: str | None
    description: str | None
    website: str | None
    source: str
    created_at: datetime
    role: MemberRole | None = Field(None, description="The caller's role in it, if a member.")
    attribution: str | None = Field(None, description="Data source to credit, for organisations from public registers.")


class MemberAdd(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "bo@example.org", "role": "member"}]}
    )

    email: EmailStr
    role: MemberRole = "member"


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: MemberRole


class MemberRead(BaseModel):
    user_id: str
    email: str
    name: str
    role: MemberRole
    since: datetime


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict | None  # type: ignore[type-arg]
    after: dict | None  # type: ignore[type-arg]
