from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from turash.flows.schemas import FlowFields


class MatchSide(BaseModel):
    organization: str
    site: str
    flow_id: str
    resource: str = Field(description="The resource words as declared; for an inferred flow, its class name.")
    resource_class: str | None
    inferred: bool
    sector: str | None = Field(
        None, description="NACE code of an organisation shown anonymously (staged disclosure), in place of its name."
    )


class MatchEconomics(BaseModel):
    npv_eur: float | None
    payback_years: float | None
    irr: float | None
    co2_avoided_t_per_year: float | None
    price_band: dict[str, Any] | None = Field(
        None, description="Win-win transfer prices {low, high, unit}: both sides beat their alternative."
    )

    model_config = ConfigDict(extra="allow")


class Match(BaseModel):
    """A match as `turash match --format json` prints it (contract/cli.md), plus routing and constraints."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="Stable id of the pair (the same in the CLI, the API and proposals).")
    supply: MatchSide
    demand: MatchSide
    score: float = Field(ge=0, le=1)
    scores: dict[str, float | None]
    distance_km: float
    economics: MatchEconomics
    explanation: str
    category: str | None = None
    route: Literal["automated", "facilitated"] | None = None
    route_reasons: list[str] = Field(default_factory=list)
    constraints: list[dict[str, str]] = Field(default_factory=list)
    relaxations: list[str] = Field(default_factory=list)
    outcomes: dict[str, float] | None = Field(
        None, description="Earlier exchanges of this kind: agreed, failed, and the factor applied to the score."
    )


class MatchList(BaseModel):
    matches: list[Match]
    summary: dict[str, Any] | None = None


class MatchQuery(FlowFields):
    """An ad-hoc flow ("I have 5,000 t/yr of spent grain here: who takes it?"), matched without being saved."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "direction": "supply",
                    "resource": "spent grain",
                    "quantity": 5000,
                    "unit": "t/yr",
                    "lat": 55.68,
                    "lon": 11.10,
                    "top": 5,
                    "radius_km": 100,
                }
            ]
        },
    )

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    nace: str | None = Field(None, description="NACE code of the asking site (helps read the resource text).")
    top: int = Field(5, ge=1, le=100)
    radius_km: float = Field(50.0, gt=0, le=2000)
    include_inferred: bool = False

    @model_validator(mode="after")
    def _required(self) -> MatchQuery:
        missing = [name for name in ("direction", "resource") if not getattr(self, name)]
        if missing:
            raise ValueError(f"missing required field(s): {', '.join(missing)}")
        return self
