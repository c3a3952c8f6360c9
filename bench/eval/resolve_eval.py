"""First-stage recall on documented exchanges: do both sides' own words resolve to compatible classes?

For every case of `bench/eval/cases.yaml` the supplier's and the receiver's texts are resolved independently (with
their NACE codes as hints, as an import would), then:

- `expected`: the expected class is among the candidates (diagnostic: our reading of the case);
- `compat@1`: the best supply class can serve the best demand class;
- `compat@any`: some pair of candidates is compatible (what the matching engine can still find);
- `score`: the best weight_s × weight_d × compatibility score over all pairs.

    python bench/eval/resolve_eval.py [--no-hints] [--verbose] [--min-recall 0.8]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from turash.catalog import get_catalog  # noqa: E402
from turash.catalog.model import Resolution  # noqa: E402

CASES = Path(__file__).with_name("cases.yaml")


@dataclass
class Outcome:
    case_id: str
    supply: Resolution
    demand: Resolution
    expected_supply: bool
    expected_demand: bool
    compat_top1: bool
    compat_any: bool
    score: float


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        cases = yaml.safe_load(handle)
    if not isinstance(cases, list):
        raise SystemExit(f"{path}: expected a list of cases")
    ids = [c["id"] for c in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise SystemExit(f"{path}: duplicate case ids {sorted(duplicates)}")
    return cases


def evaluate(cases: list[dict[str, Any]], hints: bool = True) -> list[Outcome]:
    cat = get_catalog()
    out = []
    for case in cases:
        s_nace = case["supplier"].get("nace") if hints else None
        d_nace = case["receiver"].get("nace") if hints else None
        supply = cat.resolve(case["supply"]["text"], nace=s_nace, direction="supply")
        demand = cat.resolve(case["demand"]["text"], nace=d_nace, direction="demand")
        expected = case.get("expected") or {}
        s_ids = {c.class_id for c in supply.candidates}
        d_ids = {c.class_id for c in demand.candidates}
        top1 = bool(supply.best and demand.best and cat.compatibility(supply.best, demand.best))
        best = 0.0
        for s in supply.candidates:
            for d in demand.candidates:
                comp = cat.compatibility(s.class_id, d.class_id)
                if comp is not None:
                    best = max(best, s.weight * d.weight * comp.score)
        out.append(
            Outcome(
                case_id=case["id"],
                supply=supply,
                demand=demand,
                expected_supply=expected.get("supply") in s_ids,
                expected_demand=expected.get("demand") in d_ids,
                compat_top1=top1,
                compat_any=best > 0,
                score=best,
            )
        )
    return out


def _flag(ok: bool) -> str:
    return " ok " if ok else " -- "


def _fmt(res: Resolution) -> str:
    if not res.candidates:
        return "—"
    return ", ".join(f"{c.class_id}:{c.weight:.2f}" for c in res.candidates[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-hints", action="store_true", help="resolve without NACE hints")
    parser.add_argument("--verbose", action="store_true", help="print the texts and all candidates")
    parser.add_argument("--min-recall", type=float, default=None, help="exit 1 if compat@any recall is lower")
    args = parser.parse_args(argv)

    cases = load_cases()
    outcomes = evaluate(cases, hints=not args.no_hints)
    by_id = {c["id"]: c for c in cases}
    width = max(len(o.case_id) for o in outcomes)
    print(f"{'case':{width}}  exp_s exp_d top1 any   score  supply → demand")
    for o in outcomes:
        print(
            f"{o.case_id:{width}} {_flag(o.expected_supply)} {_flag(o.expected_demand)}{_flag(o.compat_top1)}"
            f"{_flag(o.compat_any)} {o.score:5.2f}  {_fmt(o.supply)}  →  {_fmt(o.demand)}"
        )
        if args.verbose:
            case = by_id[o.case_id]
            print(f"{'':{width}}   supply: {case['supply']['text']!r}   demand: {case['demand']['text']!r}")
    n = len(outcomes)
    totals = {
        "expected supply class found": sum(o.expected_supply for o in outcomes),
        "expected demand class found": sum(o.expected_demand for o in outcomes),
        "compatible (best × best)": sum(o.compat_top1 for o in outcomes),
        "compatible (any candidates)": sum(o.compat_any for o in outcomes),
    }
    print()
    print(f"cases: {n}  (NACE hints {'off' if args.no_hints else 'on'})")
    for label, value in totals.items():
        print(f"  {label:30} {value:3d}/{n}  {value / n:6.1%}")
    print(f"  {'mean best weighted score':30} {sum(o.score for o in outcomes) / n:9.3f}")
    recall = totals["compatible (any candidates)"] / n
    if args.min_recall is not None and recall < args.min_recall:
        print(f"recall {recall:.1%} below the required {args.min_recall:.1%}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
