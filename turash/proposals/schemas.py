from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProposalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"match_id": "m01a2...01a2..."}]})
    match_id: str = Field(min_length=1, max_length=80, description="A match id, as matching returns it.")


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "sent", "note": "Hi!"}]})
    status: str = Field(
        description="draft, sent, accepted, rejected, withdrawn, in_negotiation, agreed, failed, implemented"
    )
    note: str | None = Field(None, max_length=5000)


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=10000)


class NdaRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=2000, description="e.g. the NDA's reference or date of signature.")
