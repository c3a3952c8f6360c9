from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from turash.kit.codes import normalise_country, normalise_ewc

ServiceKind = Literal["transport", "treatment", "storage", "maintenance", "consulting", "heat_pump"]


class _ServiceFields(BaseModel):
    @field_validator("countries", check_fields=False)
    @classmethod
    def _countries(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [normalise_country(c) for c in value]

    @field_validator("ewc_codes", check_fields=False)
    @classmethod
    def _ewc(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [normalise_ewc(c)[0] for c in value]

    @field_validator("attributes", check_fields=False)
    @classmethod
    def _transform(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        """`attributes.transform` declares what the service does to a resource (docs/chains.md); checked when
        present, the other attributes stay free-form."""
        from turash.chains.schemas import check_attributes

        return check_attributes(value)


class ServiceCreate(_ServiceFields):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "transport",
                    "name": "Bulk tipper haulage",
                    "resources": ["fly ash", "FGD gypsum"],
                    "center_lat": 55.68,
                    "center_lon": 11.08,
                    "radius_km": 150,
                    "capacity": 200000,
                    "capacity_unit": "t/yr",
                    "price_eur_per_unit": 0.09,
                }
            ]
        },
    )

    kind: ServiceKind
    name: str = Field(min_length=1, max_length=300)
    description: str | None = Field(None, max_length=5000)
    resources: list[str] = Field(default_factory=list, description="Resources handled, in your words.")
    ewc_codes: list[str] = Field(default_factory=list, description="EWC codes the service is permitted to handle.")
    center_lat: float | None = Field(None, ge=-90, le=90)
    center_lon: float | None = Field(None, ge=-180, le=180)
    radius_km: float | None = Field(None, gt=0, le=5000)
    countries: list[str] = Field(default_factory=list, description="ISO codes of countries served.")
    capacity: float | None = Field(None, ge=0)
    capacity_unit: str | None = Field(None, max_length=50)
    price_eur_per_unit: float | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _area(self) -> ServiceCreate:
        circle = (self.center_lat, self.center_lon, self.radius_km)
        if any(v is not None for v in circle) and any(v is None for v in circle):
            raise ValueError("an area served by radius needs center_lat, center_lon and radius_km")
        return self


class ServiceUpdate(_ServiceFields):
    model_config = ConfigDict(extra="forbid")

    kind: ServiceKind | None = None
    name: str | None = Field(None, min_length=1, max_length=300)
    description: str | None = Field(None, max_length=5000)
    resources: list[str] | None = None
    ewc_codes: list[str] | None = None
    center_lat: float | None = Field(None, ge=-90, le=90)
    center_lon: float | None = Field(None, ge=-180, le=180)
    radius_km: float | None = Field(None, gt=0, le=5000)
    countries: list[str] | None = None
    capacity: float | None = Field(None, ge=0)
    capacity_unit: str | None = Field(None, max_length=50)
    price_eur_per_unit: float | None = None
    attributes: dict[str, Any] | None = None


class ServiceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    organization_id: str
    kind: str
    name: str
    description: str | None
    resources: list[str]
    ewc_codes: list[str]
    center_lat: float | None
    center_lon: float | None
    radius_km: float | None
    countries: list[str]
    capacity: float | None
    capacity_unit: str | None
    price_eur_per_unit: float | None
    attributes: dict[str, Any]
    created_at: datetime
