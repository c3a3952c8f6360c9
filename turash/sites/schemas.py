from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from turash.flows import fields
from turash.kit.schemas import optional

Lat = Annotated[float, BeforeValidator(fields.latitude)]
Lon = Annotated[float, BeforeValidator(fields.longitude)]
Nace = Annotated[str | None, optional(fields.nace)]
Country = Annotated[str | None, optional(fields.country)]


class SiteCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Asnæs power station", "lat": 55.6603, "lon": 11.0868, "nace": "35.11", "country": "DK"}
            ]
        },
    )

    name: str = Field(min_length=1, max_length=300)
    lat: Lat = Field(description="WGS84 latitude, degrees.")
    lon: Lon = Field(description="WGS84 longitude, degrees.")
    nace: Nace = Field(None, description="NACE Rev. 2 code, e.g. `19.20` or `C19.2.0`.")
    country: Country = Field(None, description="ISO 3166-1 alpha-2.")
    address: str | None = Field(None, max_length=500)
    city: str | None = Field(None, max_length=200)
    employees: int | None = Field(None, ge=0, le=10_000_000)
    description: str | None = Field(None, max_length=5000)
    permits: dict[str, Any] = Field(
        default_factory=dict, description='Waste permits, e.g. {"hazardous_waste": true, "ewc_codes": ["100104"]}.'
    )


class SiteUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=300)
    lat: Lat | None = None
    lon: Lon | None = None
    nace: Nace = None
    country: Country = None
    address: str | None = Field(None, max_length=500)
    city: str | None = Field(None, max_length=200)
    employees: int | None = Field(None, ge=0, le=10_000_000)
    description: str | None = Field(None, max_length=5000)
    permits: dict[str, Any] | None = None


class SiteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    organization_id: str
    name: str
    lat: float
    lon: float
    country: str | None
    nace: str | None
    address: str | None
    city: str | None
    employees: int | None
    description: str | None
    permits: dict[str, Any]
    source: str
    created_at: datetime
    distance_km: float | None = Field(None, description="Distance from the query point, for radius searches.")
