from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ProfileWrite(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "regions": ["DK", "SE"],
                    "specialities": ["heat", "coal_fly_ash"],
                    "fee_model": "success",
                    "fee_eur": 5000,
                    "fee_note": "2 % of the first year's savings, at least 5,000 EUR",
                    "sla_hours": 48,
                }
            ]
        },
    )
    regions: list[str] = Field(default_factory=list, max_length=60, description="ISO country codes; empty: all.")
    specialities: list[str] = Field(
        default_factory=list, max_length=200, description="Categories or resource classes; empty: all."
    )
    fee_model: Literal["fixed", "success", "hourly", "free"] = "success"
    fee_eur: float | None = Field(None, ge=0, description="Per case (fixed), per hour, or the success fee's minimum.")
    fee_note: str | None = Field(None, max_length=2000)
    sla_hours: int = Field(72, ge=1, le=24 * 60, description="Hours from a claim to the first step.")
    active: bool = True


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organization_id: str | None = Field(None, description="Which of your facilitator organisations claims it.")


class Outcome(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"outcome": "failed", "reason": "x"}]})
    outcome: Literal["agreed", "failed"]
    reason: str | None = Field(None, max_length=5000, description="Required when the outcome is failed.")


class FacilitatorAssignment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organization_id: str | None = Field(description="A facilitator organisation with an active profile; null: none.")
