"""Matching engine benchmark: synthetic clustered flows, engine vs PostGIS vs a bare cKDTree search.

    python bench/bench_matching.py --sizes 10000,100000,1000000 [--no-postgis] [--dsn postgresql://...]

For each N (fixed seed; ~2500 flows per industrial cluster, so a few hundred clusters at 1M; half supply,
half demand; 150 classes with sparse compatibility) it measures, in a fresh process:
- build: `MatchIndex.build` (packed columns, class × Morton-cell entry lists);
- match-all: `match_all` with top-10 per flow on both sides within 20 km, every rule, every scorer, diversity
  (max 2 per counterpart organisation) and the fallback for flows without candidates;
- single query: `match_one` for 1000 flows (p50/p99 over prepared queries; "raw" includes computing the
  query's features from a one-row FlowArrays);
- update: add 1 % new flows and remove 1 % (`MatchIndex.update`) vs a full rebuild;
- peak RSS of the process from just before the build (the generated flows are in it; the bench then keeps
  only the index, as a service would);
- cKDTree: the same candidate search with scipy (one tree per demand class, `query_ball_point` for the
  supplies of each compatible class within the radius) — no rules, no scores, no ranking;
- PostGIS: the same query as a LATERAL join (EPSG:3035 points, GiST index): for each supply its top 10
  compatible demands of another organisation within 20 km by fit × distance decay — one direction, a simpler
  score, so it flatters PostGIS. Loaded with COPY; bounded by `statement_timeout` (reported when hit).
Multi-class flows use their first class in the cKDTree and PostGIS baselines.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from turash.matching.engine import (  # noqa: E402
    HAVE_NUMBA,
    MatchIndex,
    MatchParams,
    MatchStats,
    match_all,
    match_one,
    prefilter_pairs,
    prepare_queries,
    score_pairs,
)
from turash.matching.engine.geo import chord_for_km, unit_xyz  # noqa: E402
from turash.matching.engine.synthetic import synthetic_catalogue, synthetic_flows  # noqa: E402

RADIUS_KM = 20.0
TOP_K = 10


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB."""
    cur = peak = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            cur = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return cur, peak


def _reset_peak() -> None:
    """Restart the kernel's peak-RSS counter (Linux: write 5 to /proc/self/clear_refs)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _warm_up() -> float:
    """Compile (or load from numba's cache) every kernel on a tiny input; returns seconds."""
    t = time.perf_counter()
    cat = synthetic_catalogue()
    fl = synthetic_flows(2000, cat, seed=1)
    idx = MatchIndex.build(fl, cat.compatibility)
    p = MatchParams(max_radius_km=RADIUS_KM)
    res = match_all(idx, p)
    q = prepare_queries(fl.take(np.arange(20)))
    for i in range(20):
        match_one(idx, q, i, p)
    match_one(idx, fl.take([3]), 0, p)
    score_pairs(idx, res.supply_row[:5], res.demand_row[:5], res.class_pair[:5], p)
    prefilter_pairs(idx, res.supply_row[:5], res.demand_row[:5], res.class_pair[:5], p)
    idx.update(added=fl.take(np.arange(5)).replace(key=fl.key[:5] + 10**9), removed=fl.key[5:10])
    return time.perf_counter() - t


def cold_compile() -> dict[str, float]:
    """First-call compile time on an empty numba cache (a fresh process and cache directory): what tests and
    the CLI pay once after an install or a code change, and the service at start-up. Then the same warm-up
    again in another process, loading the now-cached machine code."""
    import tempfile

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="turash-numba-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold_compile_s", "cached_load_s"):
            proc = subprocess.run(
                [sys.executable, __file__, "--warm-up-only"], capture_output=True, text=True, check=True, env=env
            )
            out[label] = float(proc.stdout.strip().splitlines()[-1])
    return out


def ckdtree_search(fl: Any, compat: Any) -> tuple[float, int]:
    from scipy.spatial import cKDTree

    cls = fl.class_index[fl.class_indptr[:-1]]
    xyz = unit_xyz(fl.lat, fl.lon)
    r = chord_for_km(RADIUS_KM)
    t = time.perf_counter()
    sup = fl.is_supply
    trees = {}
    for c in np.unique(cls[~sup]):
        rows = np.flatnonzero(~sup & (cls == c))
        trees[int(c)] = (cKDTree(xyz[rows]), rows)
    pairs = 0
    for c in np.unique(cls[sup]):
        srows = np.flatnonzero(sup & (cls == c))
        for k in range(compat.indptr[c], compat.indptr[c + 1]):
            tree = trees.get(int(compat.indices[k]))
            if tree is None:
                continue
            hits = tree[0].query_ball_point(xyz[srows], r)
            pairs += sum(len(h) for h in hits)
    return time.perf_counter() - t, pairs


def postgis_query(fl: Any, compat: Any, dsn: str, timeout_s: int) -> tuple[float | None, str]:
    import psycopg

    base_dsn = dsn.rsplit("/", 1)[0] + "/postgres"
    db = dsn.rsplit("/", 1)[1]
    with psycopg.connect(base_dsn, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone():
            conn.execute(f'CREATE DATABASE "{db}"')
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        conn.execute("DROP TABLE IF EXISTS bench_flows, bench_compat")
        conn.execute(
            "CREATE UNLOGGED TABLE bench_flows (id bigint, cls int, is_supply bool, org int, lon float8, lat float8)"
        )
        conn.execute("CREATE UNLOGGED TABLE bench_compat (s_cls int, d_cls int, fit float8)")
        cls = fl.class_index[fl.class_indptr[:-1]]
        buf = io.StringIO()
        for row in zip(
            fl.key.tolist(),
            cls.tolist(),
            fl.is_supply.tolist(),
            fl.org.tolist(),
            fl.lon.tolist(),
            fl.lat.tolist(),
            strict=True,
        ):
            buf.write(f"{row[0]}\t{row[1]}\t{'t' if row[2] else 'f'}\t{row[3]}\t{row[4]:.7f}\t{row[5]:.7f}\n")
        with conn.cursor() as cur, cur.copy("COPY bench_flows FROM STDIN") as cp:
            cp.write(buf.getvalue())
        rows = compat.row_of_entry
        buf = io.StringIO()
        for s, d, f in zip(rows.tolist(), compat.indices.tolist(), compat.fit.tolist(), strict=True):
            buf.write(f"{s}\t{d}\t{f}\n")
        with conn.cursor() as cur, cur.copy("COPY bench_compat FROM STDIN") as cp:
            cp.write(buf.getvalue())
        conn.execute("ALTER TABLE bench_flows ADD COLUMN geom geometry(Point, 3035)")
        conn.execute("UPDATE bench_flows SET geom = ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 3035)")
        # (class, point) in one GiST index (btree_gist): each compatible class is one index range scan
        conn.execute("CREATE INDEX ON bench_flows USING gist (cls, geom) WHERE NOT is_supply")
        conn.execute("CREATE INDEX ON bench_compat (s_cls)")
        conn.execute("ANALYZE bench_flows")
        conn.execute("ANALYZE bench_compat")
        conn.execute(f"SET statement_timeout = '{int(timeout_s)}s'")
        conn.execute("SET jit = off")  # many tiny lateral queries: JIT only adds compile time
        # OFFSET 0 keeps the planner from flattening the lateral subqueries: without it, it scans all points
        # within the radius and joins the classes afterwards (~35x slower on this data).
        r = RADIUS_KM * 1000
        sql = f"""
            SELECT count(*) FROM bench_flows s
            CROSS JOIN LATERAL (
                SELECT d.id
                FROM (SELECT d_cls, fit FROM bench_compat WHERE s_cls = s.cls OFFSET 0) c
                CROSS JOIN LATERAL (
                    SELECT d.id, d.geom FROM bench_flows d
                    WHERE d.cls = c.d_cls AND NOT d.is_supply AND d.org <> s.org AND ST_DWithin(s.geom, d.geom, {r})
                    OFFSET 0
                ) d
                ORDER BY c.fit * exp(-2 * ST_Distance(s.geom, d.geom) / {r}) DESC, d.id
                LIMIT {TOP_K}
            ) m
            WHERE s.is_supply"""
        t = time.perf_counter()
        try:
            n = conn.execute(sql).fetchone()
        except psycopg.errors.QueryCanceled:
            return None, f"timeout after {timeout_s} s"
        return time.perf_counter() - t, f"{n[0] if n else 0} rows"


def run_one(n: int, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"n": n, "numba": HAVE_NUMBA}
    out["warmup_s"] = _warm_up()
    gc.collect()
    cat = synthetic_catalogue()
    fl = synthetic_flows(n, cat, seed=args.seed)
    params = MatchParams(max_radius_km=RADIUS_KM, top_k=TOP_K)
    gc.collect()
    _reset_peak()
    out["rss_before_mb"] = _rss_mb()[0]

    t = time.perf_counter()
    idx = MatchIndex.build(fl, cat.compatibility)
    out["build_s"] = time.perf_counter() - t
    # a service keeps only the index (it holds the flows, in its own row order)
    del fl
    gc.collect()
    fl = idx.flows

    # one result alive at a time (as a service holding its latest result): each run's result is dropped first
    times, phases, stats = [], [], MatchStats()
    for _ in range(args.repeat):
        stats = MatchStats()
        t = time.perf_counter()
        res = match_all(idx, params, stats)
        times.append(time.perf_counter() - t)
        phases.append(dict(stats.seconds))
        out["matches"] = len(res)
        del res
        gc.collect()
    out["match_s"] = min(times)
    out["match_all_runs_s"] = times
    out["phases_s"] = {k: min(p[k] for p in phases) for k in phases[0]}
    out["pairs"] = stats.pairs_passed
    out["fallback_flows"] = stats.flows_fallback
    out["unmatched_flows"] = stats.flows_unmatched
    out["rescanned_flows"] = stats.flows_rescanned
    strict = MatchParams(max_radius_km=RADIUS_KM, top_k=TOP_K, fallback=False)
    t = time.perf_counter()
    res = match_all(idx, strict)
    out["match_strict_s"] = time.perf_counter() - t
    del res
    gc.collect()

    rng = np.random.default_rng(args.seed + 1)
    qrows = rng.choice(n, size=min(args.queries, n), replace=False)
    qflows = fl.take(qrows).replace(key=fl.key[qrows] + 10**12, org=fl.org[qrows] + 10**8)
    prepared = prepare_queries(qflows)
    lat: list[float] = []
    for i in range(qflows.n):
        t = time.perf_counter()
        match_one(idx, prepared, i, params)
        lat.append(time.perf_counter() - t)
    raw: list[float] = []
    for i in range(min(200, qflows.n)):
        one = qflows.take([i])
        t = time.perf_counter()
        match_one(idx, one, 0, params)
        raw.append(time.perf_counter() - t)
    out["query_p50_us"] = float(np.percentile(lat, 50) * 1e6)
    out["query_p99_us"] = float(np.percentile(lat, 99) * 1e6)
    out["query_raw_p50_us"] = float(np.percentile(raw, 50) * 1e6)

    out["rss_peak_mb"] = _rss_mb()[1]  # build, match-all, single queries

    n_upd = max(1, n // 100)
    added = synthetic_flows(n_upd, cat, seed=args.seed + 2)
    added = added.replace(key=added.key + 10**13)
    _reset_peak()
    t = time.perf_counter()
    upd = idx.update(added=added, removed=fl.key[:n_upd])
    out["update_1pct_s"] = time.perf_counter() - t
    out["rss_peak_update_mb"] = _rss_mb()[1]  # the old and the new index side by side
    del upd
    out["index_mb"] = (
        idx.table.rec.nbytes
        + idx.table.morton.nbytes
        + sum(a.nbytes for e in (idx.supply, idx.demand) for a in (e.row, e.weight, e.morton, e.cls))
        + sum(getattr(fl, f.name).nbytes for f in dataclasses.fields(fl))
    ) / 2**20

    if not args.no_ckdtree:
        out["ckdtree_s"], out["ckdtree_pairs"] = ckdtree_search(fl, cat.compatibility)
    if not args.no_postgis:
        try:
            out["postgis_s"], out["postgis_note"] = postgis_query(fl, cat.compatibility, args.dsn, args.timeout)
        except Exception as e:  # the engine's figures still stand without PostGIS
            out["postgis_s"], out["postgis_note"] = None, f"failed: {type(e).__name__}: {e}"[:120]
    return out


def _fmt(x: Any, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


def _count(value: object) -> str:
    """A count with thousands separators, or "-" when it was not measured (e.g. --no-ckdtree)."""
    return f"{value:,}" if isinstance(value, int) else "-"


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (
        "N",
        "build s",
        "match-all s",
        "pairs",
        "matches",
        "q p50 µs",
        "q p99 µs",
        "peak RSS MB",
        "PostGIS s",
        "cKDTree s",
        "×PostGIS",
        "×cKDTree",
    )
    lines = [head]
    for r in rows:
        pg, kd, m = r.get("postgis_s"), r.get("ckdtree_s"), r["match_s"]
        lines.append(
            (
                f"{r['n']:,}",
                _fmt(r["build_s"]),
                _fmt(m, ".3f"),
                f"{r['pairs']:,}",
                f"{r['matches']:,}",
                _fmt(r["query_p50_us"], ".0f"),
                _fmt(r["query_p99_us"], ".0f"),
                _fmt(r["rss_peak_mb"], ".0f"),
                _fmt(pg) if pg is not None else (r.get("postgis_note") or "-")[:22],
                _fmt(kd),
                _fmt(pg / m, ".1f") if pg else "-",
                _fmt(kd / m, ".1f") if kd else "-",
            )
        )
    widths = [max(len(str(row[i])) for row in lines) for i in range(len(head))]
    for j, row in enumerate(lines):
        print("  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)))
        if j == 0:
            print("  ".join("-" * w for w in widths))
    print()
    print("details:")
    for r in rows:
        ph = ", ".join(f"{k} {v:.3f}" for k, v in r["phases_s"].items())
        print(
            f"  N={r['n']:,}: match-all runs {', '.join(f'{x:.3f}' for x in r['match_all_runs_s'])} s "
            f"[{ph}]; strict only (no fallback) {r['match_strict_s']:.3f} s; fallback flows {r['fallback_flows']:,} "
            f"(still unmatched {r['unmatched_flows']:,}); exact re-ranks {r['rescanned_flows']:,}; "
            f"query raw p50 {r['query_raw_p50_us']:.0f} µs; update 1 % {r['update_1pct_s']:.3f} s vs build "
            f"{r['build_s']:.3f} s (peak RSS {r['rss_peak_update_mb']:.0f} MB with both indexes); index "
            f"{r['index_mb']:.0f} MB; RSS before build {r['rss_before_mb']:.0f} MB "
            f"(flows as generated); cKDTree pairs {_count(r.get('ckdtree_pairs'))}; "
            f"PostGIS {r.get('postgis_note', '-')}; JIT warm-up {r['warmup_s']:.1f} s; numba {r['numba']}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=3, help="match-all runs per size (best is reported)")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--no-postgis", action="store_true")
    ap.add_argument("--no-ckdtree", action="store_true")
    ap.add_argument(
        "--dsn", default=os.environ.get("TURASH_BENCH_DSN", "postgresql://postgres@127.0.0.1:5432/turash_bench")
    )
    ap.add_argument("--timeout", type=int, default=180, help="PostGIS statement_timeout, seconds")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--warm-up-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--compile", action="store_true", help="also measure the first-call compile on an empty cache")
    ap.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = ap.parse_args()
    if args.warm_up_only:
        t = time.perf_counter()
        _warm_up()
        print(time.perf_counter() - t)
        return
    if args.one:
        print(json.dumps(run_one(args.one, args)))
        return
    compile_s = cold_compile() if args.compile else None
    rows = []
    for n in [int(s) for s in args.sizes.split(",") if s]:
        cmd = [
            sys.executable,
            __file__,
            "--one",
            str(n),
            "--seed",
            str(args.seed),
            "--repeat",
            str(args.repeat),
            "--queries",
            str(args.queries),
            "--dsn",
            args.dsn,
            "--timeout",
            str(args.timeout),
        ]
        cmd += ["--no-postgis"] if args.no_postgis else []
        cmd += ["--no-ckdtree"] if args.no_ckdtree else []
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode:
            print(proc.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"benchmark for N={n} failed")
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"N={n:,} done", file=sys.stderr)
    print_table(rows)
    if compile_s is not None:
        print(
            f"numba first call on an empty cache: {compile_s['cold_compile_s']:.1f} s (every kernel, 2000 flows); "
            f"the same from the cache: {compile_s['cached_load_s']:.1f} s"
        )
    if args.json:
        print(json.dumps({"sizes": rows, "compile": compile_s}))


if __name__ == "__main__":
    main()
