from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

SearchKind = Literal["organization", "site", "flow", "service"]


class SearchHitRead(BaseModel):
    kind: SearchKind
    id: str
    title: str
    snippet: str = Field(description="Part of the indexed text around the first matched word.")
    highlights: dict[str, list[tuple[int, int]]] = Field(
        description="Matched words as [start, end) character offsets into `title` and `snippet`."
    )
    score: float = Field(description="Relevance (bm25 or ts_rank + word similarity), divided by 1 + distance/scale.")
    distance_km: float | None = None
    lat: float | None = None
    lon: float | None = None
    organization_id: str | None = None
    organization: str | None = None
    facets: dict[str, Any] = Field(
        default_factory=dict, description="The record's facet values: direction, category, country, NACE, ..."
    )


class SearchPage(BaseModel):
    items: list[SearchHitRead]
    total: int
    limit: int
    offset: int
    facets: dict[str, dict[str, int]] = Field(description="Counts per value of each facet over all results.")
    classes: list[str] = Field(
        default_factory=list, description="Resource classes the catalogue read in the query (synonyms, languages)."
    )
