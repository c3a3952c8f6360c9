"""Input and output models of the chain finder, and the declaration of what a service transforms."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from turash.matching.schemas import MatchQuery

Category = Literal["heat", "steam", "water", "material", "gas", "energy", "service"]
Role = Literal["supplier", "service", "receiver"]


class TransformDeclaration(BaseModel):
    """What a service does to a resource: `attributes["transform"]` of a service offering (docs/chains.md).

    Every field is optional; the defaults follow the service's kind (a heat pump takes heat, a treatment does the
    treatment the catalogue asks for, storage makes a supply available all year, transport extends the reach to
    the service's radius). Classes are catalogue ids (`turash catalog`); without `input_classes` the service's
    `resources` texts and `ewc_codes` say what it takes."""

    model_config = ConfigDict(extra="forbid")

    input_classes: list[str] = Field(default_factory=list, description="Catalogue classes taken (descendants too).")
    input_categories: list[Category] = Field(default_factory=list)
    output_class: str | None = Field(None, description="Catalogue class that leaves the service (default: same).")
    output_hazardous: bool | None = Field(None, description="false: the output is no longer hazardous.")
    output_purity_pct: float | None = Field(None, ge=0, le=100)
    output_temperature_c: float | None = Field(None, ge=-50, le=1000, description="Heat pump: delivered °C.")
    min_source_temperature_c: float | None = Field(None, ge=-50, le=1000)
    max_lift_k: float | None = Field(None, gt=0, le=150, description="Heat pump: largest lift, K (default 60).")
    efficiency: float | None = Field(None, gt=0, lt=1, description="Heat pump: Lorenz efficiency (default 0.55).")
    sink_spread_k: float | None = Field(None, gt=0, le=100, description="Heat pump: sink supply − return, K.")
    input_moisture_pct: float | None = Field(None, ge=0, lt=100, description="Drying: water content in, %.")
    output_moisture_pct: float | None = Field(None, ge=0, lt=100, description="Drying: water content out, %.")
    mass_yield: float | None = Field(None, gt=0, le=10, description="Output per unit of input (default 1).")
    removes_treatment_need: bool | None = None
    reach_km: float | None = Field(None, gt=0, le=5000, description="Transport: how far it carries the resource.")
    all_year: bool | None = Field(None, description="Storage: the output is available in every month.")
    storage_days: int | None = Field(None, ge=0, le=3650)
    at_plant: bool | None = Field(None, description="The resource goes to the service's site and leaves from it.")

    @model_validator(mode="after")
    def _known_classes(self) -> TransformDeclaration:
        from turash.catalog import get_catalog

        catalog = get_catalog()
        known = set(catalog.class_ids)
        for name in [*self.input_classes, *([self.output_class] if self.output_class else [])]:
            if name not in known:
                raise ValueError(f"unknown resource class {name!r} (see `turash catalog` for the ids)")
        if (self.input_moisture_pct is None) != (self.output_moisture_pct is None):
            raise ValueError("drying needs both input_moisture_pct and output_moisture_pct")
        if (
            self.input_moisture_pct is not None
            and self.output_moisture_pct is not None
            and self.output_moisture_pct > self.input_moisture_pct
        ):
            raise ValueError("drying lowers the moisture: output_moisture_pct must not exceed input_moisture_pct")
        return self


def check_attributes(attributes: dict[str, Any] | None) -> dict[str, Any] | None:
    """Validate `attributes["transform"]` when present (other attributes stay free-form)."""
    if attributes and "transform" in attributes and attributes["transform"] is not None:
        try:
            TransformDeclaration.model_validate(attributes["transform"])
        except ValidationError as exc:
            problems = "; ".join(
                f"transform.{'.'.join(str(p) for p in e['loc']) or '(declaration)'}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(problems) from None
    return attributes


class ChainQuery(MatchQuery):
    """Ad-hoc: "I have this supply here: which service makes it fit whom?" (the fields of `POST
    /matching/query`; supplies only). Nothing is saved."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "direction": "supply",
                    "resource": "data centre waste heat",
                    "quantity": 20000,
                    "unit": "MWh/yr",
                    "temperature_c": 30,
                    "lat": 59.33,
                    "lon": 18.06,
                }
            ]
        },
    )

    @model_validator(mode="after")
    def _supply(self) -> ChainQuery:
        if self.direction != "supply":
            raise ValueError("a chain starts from a supply: direction must be 'supply'")
        return self


class ChainProposalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"chain_id": "c..."}]})
    chain_id: str = Field(min_length=1, max_length=120, description="A chain id, as the chain routes return it.")


class ChainList(BaseModel):
    chains: list[dict[str, Any]]
    rejected_services: list[dict[str, Any]] = Field(
        default_factory=list, description="Services near the supply that cannot take it, and why."
    )
    dropped_for_direct: int = Field(0, description="Chains dropped because the direct exchange serves as well.")


class CycleList(BaseModel):
    cycles: list[dict[str, Any]]
