"""Shapes of the analytics responses (JSON); CSV, XLSX and PDF are renderings of the same (turash.analytics.report)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class KpiFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"
    pdf = "pdf"


class SeriesFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class FlowsKpi(BaseModel):
    listed: int = Field(description="Flows listed (supply + demand), inferred ones not counted.")
    supply: int
    demand: int
    inferred: int = Field(description="Flows inferred from sector profiles, apart.")
    by_category: dict[str, dict[str, int]]


class MatchesKpi(BaseModel):
    found: int = Field(description="Stored matches (served by a match run).")
    automated: int
    facilitated: int


class Rates(BaseModel):
    proposal_rate: float | None = Field(description="Matches proposed / matches found.")
    acceptance_rate: float | None = Field(description="Accepted or later / sent.")
    agreement_rate: float | None = Field(description="Agreed or implemented / accepted or later.")
    conversion_rate: float | None = Field(description="Agreed or implemented / sent.")


class ProposalsKpi(BaseModel):
    total: int
    by_state: dict[str, int]
    sent: int
    accepted: int
    agreed: int
    rates: Rates


class ExchangedKpi(BaseModel):
    exchanges: int = Field(description="Agreed or implemented proposals.")
    implemented: int
    suppressed: bool = Field(description="True when the totals would disclose fewer than 3 organisations' figures.")
    reason: str | None = None
    energy_gwh_per_year: float | None = None
    mass_t_per_year: float | None = None
    volume_m3_per_year: float | None = None
    without_quantity: int | None = None
    co2_avoided_t_per_year: float | None = None
    with_co2: int | None = None
    npv_eur: float | None = None
    with_npv: int | None = None


class Party(BaseModel):
    resource: str | None
    organization: str | None
    sector: str | None


class TopExchange(BaseModel):
    proposal_id: str | None = Field(description="Only for the caller's own proposals.")
    status: str
    category: str | None
    supply: Party
    demand: Party
    quantity: float | None
    quantity_band: str | None = Field(description="Instead of the quantity when a party is not the caller's.")
    unit: str | None
    co2_avoided_t_per_year: float | None
    npv_eur: float | None
    agreed_at: str | None


class CasesKpi(BaseModel):
    claimed: int
    agreed: int
    failed: int
    success_rate: float | None


class Kpis(BaseModel):
    scope: str
    label: str
    region: dict[str, Any] | None
    organization_id: str | None
    generated_at: str
    flows: FlowsKpi
    matches: MatchesKpi
    proposals: ProposalsKpi
    exchanged: ExchangedKpi
    top_exchanges: list[TopExchange]
    attribution: str | None
    cases: CasesKpi | None = None


class Month(BaseModel):
    month: str
    flows_listed: int
    matches_found: int
    proposals_created: int
    proposals_agreed: int
    energy_gwh_per_year: float
    mass_t_per_year: float
    volume_m3_per_year: float


class TimeSeries(BaseModel):
    scope: str
    label: str
    from_: str = Field(alias="from")
    to: str
    quantities_suppressed: bool
    months: list[Month]

    model_config = {"populate_by_name": True}
