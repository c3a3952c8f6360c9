"""Responses of the network routes (turash.network.service builds them; these document and check the shape)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

NodeKindName = Literal["organization", "site", "flow", "service"]
EdgeKindName = Literal["owns", "located_at", "match", "exchange", "service"]


class OrgRef(BaseModel):
    id: str | None = Field(description="The organisation's id, or an opaque stable alias for one not disclosed.")
    name: str | None = Field(description='Its name, or "private organisation".')
    sector: str | None = Field(None, description="NACE code.")


class NetworkNode(BaseModel):
    id: str
    kind: NodeKindName
    label: str
    lat: float | None
    lon: float | None
    organization: OrgRef
    metrics: dict[str, float | None] = Field(
        default_factory=dict,
        description="Organisations: weighted_degree, partners, matches, exchanges, betweenness.",
    )
    direction: Literal["supply", "demand"] | None = None
    resource_class: str | None = None
    category: str | None = None
    service_kind: str | None = None


class NetworkEdge(BaseModel):
    id: str | None = Field(description="Match or proposal id (when both parties are disclosed).")
    source: str
    target: str
    kind: EdgeKindName
    weight: float = Field(description="Match score (0..1); 1 for exchanges and structural edges.")
    count: int = Field(description="Edges merged into this one (links with an undisclosed organisation).")
    amount: float | None = Field(description="Yearly amount matched or exchanged (the smaller side).")
    unit: str | None
    co2_t_per_year: float | None
    distance_km: float | None
    status: str | None = Field(None, description="Proposal status of an exchange: agreed or implemented.")


class NetworkView(BaseModel):
    bbox: list[float]
    nodes: list[NetworkNode]
    edges: list[NetworkEdge]
    counts: dict[str, int]


class OrgEntry(OrgRef):
    lat: float | None
    lon: float | None


class Anchor(BaseModel):
    rank: int
    organization: OrgEntry
    weighted_degree: float
    betweenness: float | None = Field(
        description="Within the organisation's region (links up to 50 km); null for a region too large to compute."
    )
    partners: int
    matches: int
    exchanges: int


class AnchorList(BaseModel):
    by: Literal["strength", "betweenness"]
    anchors: list[Anchor]


class ClusterMember(OrgEntry):
    weighted_degree: float


class ClusterItem(BaseModel):
    rank: int
    size: int
    centroid: dict[str, float | None]
    radius_km: float | None
    links: int
    matches: int
    exchanges: int
    weight: float
    matched: dict[str, float] = Field(description="Yearly amounts of the matches inside: t/yr, GWh/yr, m3/yr.")
    exchanged: dict[str, float] = Field(description="Yearly amounts of the exchanges inside.")
    co2_t_per_year: dict[str, float] = Field(description="CO2 avoided per year by the matches and the exchanges.")
    members: list[ClusterMember]


class ClusterList(BaseModel):
    max_km: float
    min_size: int
    count: int
    clusters: list[ClusterItem]


class ResilienceReport(BaseModel):
    target: dict[str, Any]
    removed_flows: int
    summary: dict[str, Any]
    dependents: list[dict[str, Any]]
    truncated: bool


class NetworkStats(BaseModel):
    nodes: dict[str, int]
    edges: dict[str, int]
    organizations_linked: int
    organization_links: int
    connected_groups: int
    largest_group: int
    density: float
    totals: dict[str, dict[str, float]]
    version: str | None
    built_seconds: float
