from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from turash.flows import fields
from turash.kit.schemas import optional

_EXAMPLE: dict[str, Any] = {
    "direction": "supply",
    "resource": "fly ash",
    "ewc_code": "10 01 02",
    "quantity": 40000,
    "unit": "t/yr",
    "schedule": "24/7",
    "price_eur_per_unit": -5,
    "precision": "estimated",
    "description": "dry ash from coal and biomass co-firing",
}


# One alias per column rule (turash.flows.fields): blank means null, anything else must parse.
Direction = Annotated[str | None, optional(fields.direction)]
Category = Annotated[str | None, optional(fields.category)]
EwcCode = Annotated[str | None, optional(fields.ewc_code)]
Unit = Annotated[str | None, optional(fields.unit)]
Precision = Annotated[str | None, optional(fields.precision)]
Flag = Annotated[bool | None, optional(fields.boolean)]
Day = Annotated[date | None, optional(fields.iso_date)]
Number = Annotated[float | None, optional(fields.number)]
Quantity = Annotated[float | None, optional(fields.bounded(0, None, "quantity"))]
Temperature = Annotated[float | None, optional(fields.bounded(-273.15, 3000, "temperature"))]
Pressure = Annotated[float | None, optional(fields.bounded(0, 1000, "pressure"))]
Percent = Annotated[float | None, optional(fields.bounded(0, 100, "purity"))]
Text200 = Annotated[str | None, optional(fields.text(200))]
Text500 = Annotated[str | None, optional(fields.text(500))]
Text5000 = Annotated[str | None, optional(fields.text(5000))]


class FlowFields(BaseModel):
    """The columns of a `turash import flows` row, minus organisation and site (contract/cli.md)."""

    direction: Direction = Field(None, description="`supply` (has it) or `demand` (needs it).")
    resource: Text500 = Field(None, description="What flows, in the plant manager's words.")
    category: Category = Field(None, description="heat, steam, water, material, gas, energy or service; inferred.")
    ewc_code: EwcCode = Field(None, description="European Waste Catalogue code, `10 01 02` or `100102`.")
    quantity: Quantity = None
    unit: Unit = Field(None, description="e.g. `t/yr`, `MW`, `GWh/yr`, `m3/h`.")
    temperature_c: Temperature = None
    pressure_bar: Pressure = None
    purity_pct: Percent = None
    hazardous: Flag = Field(None, description="Derived from the EWC code when empty.")
    available_from: Day = None
    available_to: Day = None
    schedule: Text200 = Field(None, description="e.g. `24/7`, `weekdays 6-22`, `Oct-Apr`.")
    price_eur_per_unit: Number = Field(
        None, description="Asking price (supply) or willingness to pay (demand); negative = gate fee."
    )
    precision: Precision = Field(None, description="rough, estimated (default) or measured.")
    description: Text5000 = None
    attributes: dict[str, Any] = Field(default_factory=dict, description="Free attributes.")


class FlowCreate(FlowFields):
    """Unknown fields are kept as free attributes, as unknown CSV columns are."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [_EXAMPLE]})

    @model_validator(mode="after")
    def _required(self) -> FlowCreate:
        missing = [name for name in fields.REQUIRED_FLOW if getattr(self, name) in (None, "")]
        if missing:
            raise ValueError(f"missing required field(s): {', '.join(missing)}")
        return self

    def values(self) -> dict[str, Any]:
        extra = self.model_extra or {}
        values = self.model_dump(exclude={"attributes", *extra})
        values["attributes"] = {**extra, **self.attributes}
        return values


class FlowUpdate(FlowFields):
    model_config = ConfigDict(extra="forbid")


class FlowRead(BaseModel):
    id: str
    organization_id: str
    site_id: str
    organization: str | None = None
    site: str | None = None
    lat: float | None = None
    lon: float | None = None
    direction: str
    resource: str
    resource_class: str | None
    resource_classes: list[Any] = Field(default_factory=list, description="[[class id, weight], ...] best first.")
    category: str | None
    ewc_code: str | None
    quantity: float | None
    unit: str | None
    quantity_kind: str | None
    quantity_si: float | None
    si_unit: str | None
    quantity_min: float | None
    quantity_max: float | None
    temperature_c: float | None
    pressure_bar: float | None
    purity_pct: float | None
    hazardous: bool | None
    available_from: date | None
    available_to: date | None
    schedule: str | None
    price_eur_per_unit: float | None
    precision: str
    description: str | None
    attributes: dict[str, Any]
    inferred: bool
    inferred_from: str | None
    source: str
    created_at: datetime
    updated_at: datetime
