"""Learning from outcomes: what became of earlier exchanges of the same kind adjusts the ranking.

A kind is a (supply class, demand class) pair. Successes are proposals that reached `agreed` or `implemented` and
facilitation cases closed as agreed; failures are proposals `rejected` or `failed` and cases closed as failed
(a withdrawn proposal says nothing about the exchange). With a Beta(2, 2) prior (two successes and two failures
assumed: a few outcomes move the estimate only a little), the success rate is p = (s + 2) / (n + 4), and the final
score is multiplied by 0.8 + 0.4·p: ×1 with no history, up to ×1.2 for a kind that keeps succeeding, down to
×0.8 for one that keeps failing. The match JSON shows the counts and the factor under `outcomes`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.models import FacilitationCase, Proposal

SUCCESS_STATES = ("agreed", "implemented")
FAILURE_STATES = ("rejected", "failed")
PRIOR_SUCCESSES = PRIOR_FAILURES = 2.0
FACTOR_LOW, FACTOR_SPAN = 0.8, 0.4


@dataclass(frozen=True)
class Outcome:
    agreed: int
    failed: int

    @property
    def factor(self) -> float:
        n = self.agreed + self.failed
        p = (self.agreed + PRIOR_SUCCESSES) / (n + PRIOR_SUCCESSES + PRIOR_FAILURES)
        return FACTOR_LOW + FACTOR_SPAN * p

    def as_dict(self) -> dict[str, Any]:
        return {"agreed": self.agreed, "failed": self.failed, "factor": round(self.factor, 4)}


@dataclass(frozen=True)
class OutcomeTable:
    """Outcomes by (supply class, demand class), and the version of the data they were read from."""

    version: tuple[Any, ...] = ()
    by_pair: dict[tuple[str, str], Outcome] = field(default_factory=dict)

    def factors(self, supply_classes: list[str], demand_classes: list[str]) -> np.ndarray[Any, Any]:
        """The score factor of each (supply class, demand class) row; 1 where there is no history."""
        if not self.by_pair:
            return np.ones(len(supply_classes), dtype=np.float32)
        return np.array(
            [
                o.factor if (o := self.by_pair.get((s, d))) is not None else 1.0
                for s, d in zip(supply_classes, demand_classes, strict=True)
            ],
            dtype=np.float32,
        )


def version(session: Session) -> tuple[Any, ...]:
    """Cheap check for new outcomes: counts and newest change of closed proposals and cases."""
    closed = (*SUCCESS_STATES, *FAILURE_STATES)
    p = session.execute(
        sa.select(sa.func.count(), sa.func.max(Proposal.updated_at)).where(Proposal.status.in_(closed))
    ).one()
    c = session.execute(
        sa.select(sa.func.count(), sa.func.max(FacilitationCase.updated_at)).where(
            FacilitationCase.status.in_(("agreed", "failed"))
        )
    ).one()
    return (p[0], str(p[1]), c[0], str(c[1]))


def load(session: Session) -> OutcomeTable:
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    closed = (*SUCCESS_STATES, *FAILURE_STATES)
    from_cases: set[str] = set()
    for case_status, s, d, proposal_id in session.execute(
        sa.select(
            FacilitationCase.status,
            FacilitationCase.supply_class,
            FacilitationCase.demand_class,
            FacilitationCase.proposal_id,
        ).where(FacilitationCase.status.in_(("agreed", "failed")))
    ):
        if s and d:
            counts[(s, d)][0 if case_status == "agreed" else 1] += 1
            if proposal_id:
                from_cases.add(proposal_id)  # its proposal is the same exchange: count it once
    for proposal_id, status, snapshot in session.execute(
        sa.select(Proposal.id, Proposal.status, Proposal.snapshot).where(Proposal.status.in_(closed))
    ):
        if proposal_id in from_cases:
            continue
        s = ((snapshot or {}).get("supply") or {}).get("resource_class")
        d = ((snapshot or {}).get("demand") or {}).get("resource_class")
        if s and d:
            counts[(s, d)][0 if status in SUCCESS_STATES else 1] += 1
    return OutcomeTable(version(session), {k: Outcome(a, f) for k, (a, f) in counts.items()})
