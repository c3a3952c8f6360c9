"""Single-query latency through REST: `POST /api/v1/matching/query` against a running `turash serve`.

Generates N flows with the import contract's columns (bench_import.write_file: clustered sites, plant-manager
resource words), imports them into a fresh SQLite database, starts `turash serve` on 127.0.0.1 in a separate
process, signs in, warms the matching state up (the first query builds it), then sends `--queries` ad-hoc
queries one after the other over one keep-alive connection (httpx), each a supply or a demand at a site of the
file with that site's resource words, and prints p50/p95/p99 of the client-side latency: HTTP, auth, reading the
resource text, the engine's query, explanations, economics of the returned matches, disclosure, JSON.

    python bench/bench_query_rest.py [--flows 100000] [--queries 500] [--top 5]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_import import write_file  # noqa: E402

PASSWORD = "bench password 2026"  # noqa: S105 - a throwaway user of a throwaway database


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _queries(path: Path, n: int, seed: int) -> list[dict[str, object]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rng = random.Random(seed)
    out = []
    for row in rng.sample(rows, min(n, len(rows))):
        out.append(
            {
                "direction": row["direction"],
                "resource": row["resource"],
                "quantity": float(row["quantity"]) if row.get("quantity") else None,
                "unit": row.get("unit") or None,
                "lat": float(row["lat"]) + rng.uniform(-0.01, 0.01),
                "lon": float(row["lon"]) + rng.uniform(-0.01, 0.01),
            }
        )
    return out


def _wait(base: str, server: subprocess.Popen[bytes], seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"turash serve exited with code {server.returncode}")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"turash serve did not answer on {base} within {seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--radius-km", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        flows = Path(tmp) / "flows.csv"
        write_file(flows, args.flows)
        env = {**os.environ, "TURASH_DATABASE_URL": f"sqlite:///{tmp}/bench.db", "TURASH_SECRET_KEY": "bench-" * 8}
        env.pop("TURASH_REDIS_URL", None)
        env.pop("TURASH_NATS_URL", None)
        turash = [sys.executable, "-m", "turash.cli"]
        subprocess.run([*turash, "import", "flows", str(flows)], env=env, check=True, capture_output=True)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [*turash, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(base, server)
            with httpx.Client(base_url=base, timeout=120.0) as client:
                email = "bench@example.org"
                client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Bench"})
                token = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
                token.raise_for_status()
                client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
                queries = _queries(flows, args.queries + 1, args.seed)
                extra = {"top": args.top, "radius_km": args.radius_km}
                start = time.perf_counter()
                first = client.post("/api/v1/matching/query", json={**queries[0], **extra})
                first.raise_for_status()
                warm_up = time.perf_counter() - start
                latencies, matches, failed = [], 0, 0
                for q in queries[1:]:
                    start = time.perf_counter()
                    r = client.post("/api/v1/matching/query", json={**q, **extra})
                    latencies.append(time.perf_counter() - start)
                    if r.status_code != 200:
                        failed += 1
                        continue
                    matches += len(r.json()["matches"])
        finally:
            server.terminate()
            server.wait(timeout=30)
    ms = np.asarray(latencies) * 1000.0
    print(f"flows {args.flows:,}; first query (builds the matching state) {warm_up:.2f} s")
    print(
        f"{len(ms)} queries (top {args.top}, {args.radius_km:g} km), one keep-alive connection: "
        f"p50 {np.percentile(ms, 50):.2f} ms, p95 {np.percentile(ms, 95):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms, "
        f"max {ms.max():.2f} ms; {matches / max(1, len(ms) - failed):.1f} matches per answer; {failed} failed"
    )


if __name__ == "__main__":
    main()
