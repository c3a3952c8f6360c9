"""Load test of the main REST routes: a fixed number of concurrent clients for a bounded time, per route and overall.

By default the bench starts its own `turash serve` on 127.0.0.1 and a free port, with its own SQLite database in a
temporary folder loaded with the demo data (`turash demo --no-serve`: Hotmaps, E-PRTR, EU chemical parks), or it
targets a running server with `--url`. It registers users through the REST auth routes, creates two organisations
near Kalundborg (a power station and a cement works, each with a site and a few flows, the load users members of
one or the other), proposals between them, then, for each concurrency in `--concurrency`, runs that many asyncio
workers for `--seconds` over a weighted mix of routes: health, sites and flows lists with filters, an organisation's
matches and a flow's matches (cache hits, and misses with a never-sent `min_score`: the warm-up fills the 15-minute
match cache for every parameter combination the hit routes send), ad-hoc `POST /matching/query`, the economics of a
match, proposals, organisation search, the catalogue search when the server has one (none today), and sign-in (paced
to the login rate limit, per user and address, unless `--login-rate-limit` raises it on the bench's own server).

It prints, per route and overall: requests, errors (non-2xx by status; 429 on sign-in counted apart, as expected),
throughput, latency p50/p95/p99/max (client side, ms, numpy percentiles), the server's CPU time (own server) and
what its log says (database busy, unhandled errors), and the slowest requests at the lowest concurrency. The load
generator and the server share this machine's cores: the figures are the pair's, not the server's alone. The
bench's own server gets TURASH_API_RATE_LIMIT raised (printed), so that it measures the server, not its limiter.
Exit status 1 when any request had an unexpected error.

    python bench/bench_load.py [--seconds 20] [--concurrency 16 | 1,16,64] [--json PATH] [--url URL]
        [--users 6] [--login-users 3] [--login-rate-limit N] [--api-rate-limit N] [--demo-limit N]
        [--server-log PATH] [--no-uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import heapq
import itertools
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"
PASSWORD = "bench load password 2026"  # noqa: S105 - throwaway users of a throwaway database
REGISTER_LIMIT_PER_HOUR = 20  # the server's registrations per address per hour (turash/auth/endpoints.py)
DEFAULT_LOGIN_LIMIT = (10, 60)  # TURASH_LOGIN_RATE_LIMIT, TURASH_LOGIN_RATE_WINDOW_SECONDS defaults
DEFAULT_API_LIMIT = 3000  # TURASH_API_RATE_LIMIT default (per user per 60 s)
BENCH_API_LIMIT = 1_000_000_000

# Industrial clusters the demo data covers (lat, lon): centres for radius searches, boxes and ad-hoc queries.
CLUSTERS = [
    (55.66, 11.09),  # Kalundborg
    (51.90, 4.35),  # Rotterdam
    (49.50, 8.42),  # Ludwigshafen
    (51.28, 4.33),  # Antwerp
    (51.45, 6.73),  # Duisburg
    (41.13, 1.20),  # Tarragona
    (54.37, 18.65),  # Gdansk
    (45.45, 9.19),  # Milan
]
QUERIES = [  # ad-hoc "I have / I need" in a plant manager's words
    {"direction": "supply", "resource": "waste heat", "quantity": 8, "unit": "MW", "temperature_c": 90},
    {"direction": "supply", "resource": "fly ash", "quantity": 40000, "unit": "t/yr", "ewc_code": "10 01 02"},
    {"direction": "supply", "resource": "CO2", "quantity": 50000, "unit": "t/yr"},
    {"direction": "supply", "resource": "spent grain", "quantity": 5000, "unit": "t/yr"},
    {"direction": "supply", "resource": "treated wastewater", "quantity": 40, "unit": "m3/h"},
    {"direction": "supply", "resource": "FGD gypsum", "quantity": 20000, "unit": "t/yr"},
    {"direction": "demand", "resource": "heat for district heating", "quantity": 5, "unit": "MW"},
    {"direction": "demand", "resource": "steam 12 bar", "quantity": 3, "unit": "MW"},
    {"direction": "demand", "resource": "pozzolanic additive for blended cement", "quantity": 25000, "unit": "t/yr"},
    {"direction": "demand", "resource": "cattle feed", "quantity": 3000, "unit": "t/yr"},
    {"direction": "demand", "resource": "CO2 for greenhouses", "quantity": 5000, "unit": "t/yr"},
    {"direction": "demand", "resource": "waste heat", "quantity": 10, "unit": "MW", "temperature_c": 70},
]
TEXT = ["cement", "steel", "refinery", "paper", "chemical", "power", "glass", "energy"]
COUNTRY_NACE = [("DE", "23"), ("DK", "35"), ("NL", "20"), ("FR", "24"), ("ES", "19"), ("IT", "23.51"), ("PL", "17")]


# ------------------------------------------------------------------------------------------------------ figures
@dataclass
class RouteStats:
    latencies: list[float] = field(default_factory=list)  # seconds, every answered request (any status)
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    failures: collections.Counter[str] = field(default_factory=collections.Counter)  # no answer: exception name
    samples: dict[str, str] = field(default_factory=dict)  # first body per unexpected status, for the report
    slowest: list[tuple[float, int, str]] = field(default_factory=list)  # (seconds, status, request), a min-heap
    items: list[int] = field(default_factory=list)  # per 2xx list answer, its length (matches or items)

    def add(self, status: int, seconds: float, request: str = "") -> None:
        self.latencies.append(seconds)
        self.statuses[status] += 1
        if len(self.slowest) < 5:
            heapq.heappush(self.slowest, (seconds, status, request))
        elif seconds > self.slowest[0][0]:
            heapq.heapreplace(self.slowest, (seconds, status, request))


def summarise(stats: RouteStats, elapsed: float, expected: set[int] | None = None) -> dict[str, Any]:
    """Requests, errors by status (expected ones apart), req/s and latency percentiles (ms) of one route."""
    expected = expected or set()
    ms = np.asarray(stats.latencies, dtype=float) * 1000.0
    errors = {str(s): n for s, n in sorted(stats.statuses.items()) if not 200 <= s < 300 and s not in expected}
    errors.update({name: n for name, n in sorted(stats.failures.items())})
    expected_errors = {str(s): n for s, n in sorted(stats.statuses.items()) if s in expected}
    requests = len(ms) + sum(stats.failures.values())
    pct = (lambda q: float(np.percentile(ms, q))) if len(ms) else (lambda q: None)
    return {
        "requests": requests,
        "ok": sum(n for s, n in stats.statuses.items() if 200 <= s < 300),
        "errors": errors,
        "expected_errors": expected_errors,
        "throughput_rps": requests / elapsed if elapsed > 0 else 0.0,
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": float(ms.max()) if len(ms) else None,
        "items_per_answer": float(np.mean(stats.items)) if stats.items else None,
        "error_samples": dict(stats.samples),
        "slowest": [
            {"ms": round(t * 1000.0, 1), "status": st, "request": req} for t, st, req in sorted(stats.slowest)[::-1]
        ],
    }


def merge(all_stats: list[RouteStats]) -> RouteStats:
    out = RouteStats()
    for s in all_stats:
        out.latencies.extend(s.latencies)
        out.statuses.update(s.statuses)
        out.failures.update(s.failures)
    return out


class SlidingWindow:
    """At most `limit` events in any `window` seconds (a little wider than the server's fixed window, so the
    server never counts more than its limit in one of its windows)."""

    def __init__(self, limit: int, window: float, margin: float = 2.0) -> None:
        self.limit, self.window = limit, window + margin
        self.events: collections.deque[float] = collections.deque()

    def take(self, now: float) -> bool:
        while self.events and now - self.events[0] >= self.window:
            self.events.popleft()
        if len(self.events) >= self.limit:
            return False
        self.events.append(now)
        return True


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its descendants (psutil when installed, else /proc on Linux)."""
    try:
        import psutil

        proc = psutil.Process(pid)
        total = 0.0
        for p in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total
    except ImportError:
        pass
    except Exception:
        return None
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        table: dict[int, tuple[int, float]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                rest = stat[stat.rindex(")") + 2 :].split()
                table[int(entry.name)] = (int(rest[1]), (int(rest[11]) + int(rest[12])) / tick)
    except OSError:
        return None
    if pid not in table:
        return None
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += table[current][1]
        todo.extend(p for p, (ppid, _) in table.items() if ppid == current)
    return total


# ------------------------------------------------------------------------------------------------------ server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _turash_command() -> list[str]:
    script = Path(sys.executable).with_name("turash")
    return [str(script)] if script.exists() else [sys.executable, "-m", "turash.cli"]


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    settings: dict[str, str] = field(default_factory=dict)
    load_seconds: float | None = None
    load_summary: str = ""
    log_text: str | None = None  # the server's log, once it stopped


@contextlib.contextmanager
def own_server(args: argparse.Namespace) -> Iterator[Server]:
    """A fresh database with the demo data and `turash serve` on 127.0.0.1 in its own process group; always
    stopped (SIGTERM to the group, then SIGKILL) and the folder removed."""
    with tempfile.TemporaryDirectory(prefix="turash-bench-load-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TURASH_") or k == "TURASH_DATA_DIR"}
        settings = {
            "TURASH_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "TURASH_SECRET_KEY": "bench-load-" + uuid.uuid4().hex,
            "TURASH_MAIL_DIR": f"{tmp}/mail",
            "TURASH_LOG_LEVEL": "INFO",
        }
        shared = ROOT.parent / "shared" / "data"
        if "TURASH_DATA_DIR" not in env and shared.is_dir():
            settings["TURASH_DATA_DIR"] = str(shared)
        if args.login_rate_limit:
            settings["TURASH_LOGIN_RATE_LIMIT"] = str(args.login_rate_limit)
        if args.api_rate_limit:
            settings["TURASH_API_RATE_LIMIT"] = str(args.api_rate_limit)
        env.update(settings)
        turash = _turash_command()
        demo = [*turash, "demo", "--no-serve", *(["--limit", str(args.demo_limit)] if args.demo_limit else [])]
        start = time.perf_counter()
        loaded = subprocess.run(demo, env=env, cwd=tmp, capture_output=True, text=True, timeout=900, check=False)
        load_seconds = time.perf_counter() - start
        if loaded.returncode != 0:
            raise SystemExit(f"`turash demo --no-serve` failed ({loaded.returncode}):\n{loaded.stderr[-3000:]}")
        summary = " ".join(loaded.stdout.split("Data:")[0].split())  # the load report, unwrapped
        port = _free_port()
        log_path = Path(tmp) / "serve.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*turash, "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                cwd=tmp,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        shown = {k: v for k, v in settings.items() if k not in ("TURASH_SECRET_KEY", "TURASH_MAIL_DIR")}
        server = Server(f"http://127.0.0.1:{port}", process, log_path, shown, load_seconds, summary)
        try:
            yield server
        except BaseException:
            tail = log_path.read_text(errors="replace").splitlines()[-40:]
            print("turash serve's last log lines:\n  " + "\n  ".join(tail), file=sys.stderr)
            raise
        finally:
            stop(process)
            server.log_text = log_path.read_text(errors="replace")
            if args.server_log:
                shutil.copyfile(log_path, args.server_log)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


async def wait_ready(client: httpx.AsyncClient, server: Server, seconds: float = 180.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            tail = server.log_path.read_text(errors="replace")[-3000:] if server.log_path else ""
            raise SystemExit(f"turash serve exited with code {server.process.returncode}:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get(f"{API}/health", timeout=2.0)).status_code == 200:
                return
        await asyncio.sleep(0.25)
    raise SystemExit(f"{server.base} did not answer /health within {seconds:.0f} s")


EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Timeout|Exit))(?:: (.*))?$")


def log_findings(text: str) -> dict[str, int]:
    """Counts of the server log's warnings and errors by event (unhandled errors, database busy, tracebacks), and
    of the exceptions its tracebacks end with."""
    found: collections.Counter[str] = collections.Counter()
    for line in text.splitlines():
        low = line.lower()
        exc = EXCEPTION_LINE.match(line.strip())
        if exc:
            found[f"{exc.group(1)}: {(exc.group(2) or '')[:100]}"] += 1
        if "traceback (most recent call last)" in low:
            found["traceback"] += 1
        for event in ("unhandled_error", "database_busy", "matching_warm_up_failed"):
            if event in line:
                found[event] += 1
        if exc or "unhandled_error" in line or "traceback" in low:
            continue
        if " error " in low or " critical " in low or "[error" in low:
            found["other ERROR lines"] += 1
        elif (" warning " in low or "[warning" in low) and "database_busy" not in line:
            found["WARNING lines"] += 1
    return dict(found)


# ------------------------------------------------------------------------------------------------------ setup
@dataclass
class User:
    email: str
    token: str = ""
    issued: float = 0.0
    expires_in: float = 900.0


@dataclass
class World:
    """What the setup created: the routes' ids and parameters."""

    org_ids: list[str]
    user_orgs: list[str]  # per worker, the organisation its user belongs to
    flows: dict[str, list[str]]  # per organisation, the flows its members may read (its own and register ones)
    matches: dict[str, list[str]]  # per organisation, matches it takes part in
    proposals: dict[str, list[str]]  # per organisation, proposals it takes part in
    catalog_path: str | None
    notes: list[str] = field(default_factory=list)


class SetupError(SystemExit):
    pass


SETUP_RETRIES: collections.Counter[str] = collections.Counter()  # setup requests retried after a 503


async def _retrying(client: httpx.AsyncClient, method: str, path: str, **kw: Any) -> httpx.Response:
    for _ in range(5):  # SQLite's one writer: the server answers 503 with Retry-After; a client retries
        r = await client.request(method, path, **kw)
        if r.status_code != 503:
            break
        code = r.json().get("error", {}).get("code", "") if r.content else ""
        SETUP_RETRIES[f"{method} {_template(path)} -> 503 {code}"] += 1
        await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
    return r


async def _call(client: httpx.AsyncClient, method: str, path: str, want: int | tuple[int, ...], **kw: Any) -> Any:
    wanted = (want,) if isinstance(want, int) else want
    r = await _retrying(client, method, path, **kw)
    if r.status_code not in wanted:
        raise SetupError(f"setup: {method} {path} -> {r.status_code}: {r.text[:500]}")
    return r.json() if r.content else None


async def login(client: httpx.AsyncClient, user: User) -> None:
    body = await _call(client, "POST", f"{API}/auth/token", 200, data={"username": user.email, "password": PASSWORD})
    user.token, user.issued = body["access_token"], time.monotonic()
    user.expires_in = float(body.get("expires_in") or 900)


def _template(path: str) -> str:
    """/api/v1/organizations/01a2.../matching/direct -> /organizations/{id}/matching/direct"""
    parts = path.removeprefix(API).split("/")
    return "/".join("{id}" if len(p) >= 20 and p.isalnum() and any(c.isdigit() for c in p) else p for p in parts)


def auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


async def register(client: httpx.AsyncClient, email: str, name: str) -> User:
    await _call(client, "POST", f"{API}/auth/register", 201, json={"email": email, "password": PASSWORD, "name": name})
    return User(email)


def _catalog_route(openapi: dict[str, Any]) -> str | None:
    """A GET catalogue search with a `q` parameter, if this server has one."""
    for path, item in openapi.get("paths", {}).items():
        get = item.get("get")
        if (
            "catalog" in path
            and "{" not in path
            and get
            and any(p.get("name") == "q" for p in get.get("parameters", []))
        ):
            return path.removeprefix(API)
    return None


ORGS = [  # two parties near Kalundborg that should match each other and the register's sites
    {
        "org": {"name": "Bench Power and Heat", "nace": "35.11", "country": "DK", "kind": "enterprise"},
        "site": {"name": "Unit 3", "lat": 55.655, "lon": 11.095, "nace": "35.11"},
        "flows": [
            {"direction": "supply", "resource": "waste heat", "quantity": 8, "unit": "MW", "temperature_c": 90},
            {"direction": "supply", "resource": "fly ash", "ewc_code": "10 01 02", "quantity": 40000, "unit": "t/yr"},
            {"direction": "supply", "resource": "CO2", "quantity": 50000, "unit": "t/yr", "purity_pct": 95},
            {"direction": "demand", "resource": "treated wastewater", "quantity": 30, "unit": "m3/h"},
        ],
    },
    {
        "org": {"name": "Bench Baltic Cement", "nace": "23.51", "country": "DK", "kind": "enterprise"},
        "site": {"name": "Kiln 1", "lat": 55.672, "lon": 11.121, "nace": "23.51"},
        "flows": [
            {"direction": "demand", "resource": "pozzolanic additive for blended cement", "quantity": 25000,
             "unit": "t/yr"},
            {"direction": "demand", "resource": "heat for district heating", "quantity": 5, "unit": "MW"},
            {"direction": "supply", "resource": "treated wastewater", "quantity": 40, "unit": "m3/h"},
            {"direction": "supply", "resource": "FGD gypsum", "quantity": 12000, "unit": "t/yr"},
        ],
    },
]  # fmt: skip


async def setup(client: httpx.AsyncClient, args: argparse.Namespace, run: str) -> tuple[World, list[User], list[User]]:
    openapi = (await client.get("/openapi.json")).json()
    paths = set(openapi.get("paths", {}))
    for needed in ("/auth/register", "/auth/token", "/organizations/{organization_id}/matching/direct"):
        if API + needed not in paths:
            raise SetupError(f"setup: the server has no {needed} route")
    total_users = len(ORGS) + args.users + args.login_users
    if total_users > REGISTER_LIMIT_PER_HOUR:
        raise SetupError(f"setup: {total_users} users > the server's {REGISTER_LIMIT_PER_HOUR} registrations/hour")
    owners = [await register(client, f"owner{i}-{run}@example.org", f"Owner {i}") for i in range(len(ORGS))]
    users = [await register(client, f"load{i}-{run}@example.org", f"Load {i}") for i in range(args.users)]
    login_users = [await register(client, f"login{i}-{run}@example.org", f"Login {i}") for i in range(args.login_users)]
    for u in owners + users:
        await login(client, u)
    org_ids: list[str] = []
    flows: dict[str, list[str]] = {}
    for owner, spec in zip(owners, ORGS, strict=True):
        org = await _call(client, "POST", f"{API}/organizations", 201, json=spec["org"], headers=auth(owner))
        org_ids.append(org["id"])
        flows[org["id"]] = []
        site = await _call(
            client, "POST", f"{API}/organizations/{org['id']}/sites", 201, json=spec["site"], headers=auth(owner)
        )
        for flow in spec["flows"]:
            made = await _call(client, "POST", f"{API}/sites/{site['id']}/flows", 201, json=flow, headers=auth(owner))
            flows[org["id"]].append(made["id"])
    user_orgs = []
    for i, u in enumerate(users):  # load users alternate between the two organisations
        org_id, owner = org_ids[i % len(org_ids)], owners[i % len(owners)]
        await _call(
            client,
            "POST",
            f"{API}/organizations/{org_id}/members",
            201,
            json={"email": u.email, "role": "member"},
            headers=auth(owner),
        )
        user_orgs.append(org_id)
    own_flows = {f: org for org, ids in flows.items() for f in ids}
    lat, lon = CLUSTERS[0]
    nearby = await _call(
        client,
        "GET",
        f"{API}/flows",
        200,
        params={"lat": lat, "lon": lon, "radius_km": 30, "limit": 8, "inferred": "false"},
        headers=auth(owners[0]),
    )
    for ids in flows.values():  # register flows are public data: every member reads them
        ids.extend(f["id"] for f in nearby["items"] if f["source"] == "register")
    notes = []
    matches: dict[str, list[str]] = {}
    between: list[tuple[str, User, str]] = []  # matches between the two bench organisations
    for org_id, owner in zip(org_ids, owners, strict=True):
        got = await _call(
            client,
            "GET",
            f"{API}/organizations/{org_id}/matching/direct",
            200,
            params={"top": 10, "radius_km": 50},
            headers=auth(owner),
            timeout=300.0,
        )
        matches[org_id] = [m["id"] for m in got["matches"]][:20]
        for m in got["matches"]:
            other = own_flows.get(m["supply"]["flow_id"]), own_flows.get(m["demand"]["flow_id"])
            if None not in other and m["id"] not in [b[0] for b in between]:
                between.append((m["id"], owner, other[1] if other[0] == org_id else other[0]))
    if not all(matches.values()):
        notes.append(f"matches per bench organisation: {[len(v) for v in matches.values()]}")
    proposals: dict[str, list[str]] = {org: [] for org in org_ids}
    candidates = between[:3] + [(m, owners[k], None) for k, org in enumerate(org_ids) for m in matches[org][:2]]
    for match_id, owner, receiver in candidates:
        proposer = org_ids[owners.index(owner)]
        r = await _retrying(client, "POST", f"{API}/proposals", json={"match_id": match_id}, headers=auth(owner))
        if r.status_code == 201:
            for org in {proposer, receiver} - {None}:
                proposals[org].append(r.json()["id"])
        elif r.status_code != 409:  # 409: that match has a proposal already
            notes.append(f"POST /proposals {match_id} -> {r.status_code}: {r.text[:200]}")
    if not all(proposals.values()):
        notes.append(f"proposals per bench organisation: {[len(v) for v in proposals.values()]}")
    catalog = _catalog_route(openapi)
    if catalog is None:
        notes.append("this server has no catalogue search route in its OpenAPI document: that route is left out")
    world = World(org_ids, user_orgs, flows, matches, proposals, catalog, notes)
    return world, users, login_users


# ------------------------------------------------------------------------------------------------------ the mix
Request = tuple[str, str, dict[str, Any]]  # method, path, httpx keyword arguments


def _near(rng: random.Random, spread: float = 0.05) -> tuple[float, float]:
    lat, lon = rng.choice(CLUSTERS)
    return round(lat + rng.uniform(-spread, spread), 5), round(lon + rng.uniform(-spread, spread), 5)


def _bbox(rng: random.Random) -> str:
    lat, lon = _near(rng)
    half = rng.choice([0.1, 0.25, 0.5])
    return f"{lon - half:.4f},{lat - half:.4f},{lon + half:.4f},{lat + half:.4f}"


# Matching answers are cached 15 min per scope and parameters (turash/matching/endpoints.py). The warm-up fills
# the cache for every combination below, so the plain routes measure cache hits; their "cache miss" twins send a
# min_score never sent before (tiny: it drops nothing), so every such request computes and stores a new run.
TOPS, RADII, CATEGORIES = (5, 10), (25, 50), (None, "heat", "material", "water")
_fresh = itertools.count(1)


def _match_params(rng: random.Random, *, miss: bool, categories: bool = True) -> dict[str, Any]:
    params: dict[str, Any] = {"top": rng.choice(TOPS), "radius_km": rng.choice(RADII)}
    category = rng.choice(CATEGORIES) if categories else None
    if category:
        params["category"] = category
    if miss:
        params["min_score"] = f"{next(_fresh) * 1e-9:.9f}"
    return params


@dataclass
class Route:
    label: str
    weight: float
    build: Callable[[random.Random, World, int], Request]
    auth: bool = True
    expected: set[int] = field(default_factory=set)  # statuses that are not errors here (login: 429)


def routes(world: World) -> list[Route]:
    def health(rng: random.Random, w: World, i: int) -> Request:
        return "GET", f"{API}/health", {}

    def sites_radius(rng: random.Random, w: World, i: int) -> Request:
        lat, lon = _near(rng)
        params = {"lat": lat, "lon": lon, "radius_km": rng.choice([10, 25, 50]), "limit": rng.choice([20, 50])}
        return "GET", f"{API}/sites", {"params": params}

    def sites_filter(rng: random.Random, w: World, i: int) -> Request:
        kind = rng.randrange(3)
        if kind == 0:
            params: dict[str, Any] = {"bbox": _bbox(rng)}
        elif kind == 1:
            country, nace = rng.choice(COUNTRY_NACE)
            params = {"country": country, "nace": nace}
        else:
            params = {"q": rng.choice(TEXT)}
        return "GET", f"{API}/sites", {"params": {**params, "limit": 50, "offset": rng.choice([0, 0, 50])}}

    def flows_filter(rng: random.Random, w: World, i: int) -> Request:
        params: dict[str, Any] = {"limit": rng.choice([20, 50])}
        if rng.random() < 0.5:
            lat, lon = _near(rng)
            params.update(lat=lat, lon=lon, radius_km=rng.choice([10, 25, 50]))
        else:
            params["bbox"] = _bbox(rng)
        if rng.random() < 0.7:
            params["category"] = rng.choice(["heat", "material", "gas", "water", "steam"])
        if rng.random() < 0.7:
            params["direction"] = rng.choice(["supply", "demand"])
        if rng.random() < 0.3:
            params["inferred"] = rng.choice(["true", "false"])
        return "GET", f"{API}/flows", {"params": params}

    def org_matches(rng: random.Random, w: World, i: int) -> Request:
        params = _match_params(rng, miss=False)
        return "GET", f"{API}/organizations/{w.user_orgs[i]}/matching/direct", {"params": params}

    def org_matches_miss(rng: random.Random, w: World, i: int) -> Request:
        params = _match_params(rng, miss=True)
        return "GET", f"{API}/organizations/{w.user_orgs[i]}/matching/direct", {"params": params}

    def flow_matches(rng: random.Random, w: World, i: int) -> Request:
        params = _match_params(rng, miss=False, categories=False)
        return "GET", f"{API}/flows/{rng.choice(w.flows[w.user_orgs[i]])}/matches", {"params": params}

    def flow_matches_miss(rng: random.Random, w: World, i: int) -> Request:
        params = _match_params(rng, miss=True, categories=False)
        return "GET", f"{API}/flows/{rng.choice(w.flows[w.user_orgs[i]])}/matches", {"params": params}

    def query(rng: random.Random, w: World, i: int) -> Request:
        lat, lon = _near(rng)
        body = {**rng.choice(QUERIES), "lat": lat, "lon": lon, "top": 5, "radius_km": rng.choice([20, 50])}
        if rng.random() < 0.5:  # the likely receivers of a supply are mostly inferred (sector profiles)
            body["include_inferred"] = True
        return "POST", f"{API}/matching/query", {"json": body}

    def economics(rng: random.Random, w: World, i: int) -> Request:
        return "GET", f"{API}/matches/{rng.choice(w.matches[w.user_orgs[i]])}/economics", {}

    def proposals(rng: random.Random, w: World, i: int) -> Request:
        params = {"limit": 20} if rng.random() < 0.7 else {"limit": 20, "status": "draft"}
        return "GET", f"{API}/proposals", {"params": params}

    def proposal(rng: random.Random, w: World, i: int) -> Request:
        return "GET", f"{API}/proposals/{rng.choice(w.proposals[w.user_orgs[i]])}", {}

    def org_search(rng: random.Random, w: World, i: int) -> Request:
        return "GET", f"{API}/organizations", {"params": {"q": rng.choice(TEXT), "limit": 20}}

    def catalog(rng: random.Random, w: World, i: int) -> Request:
        q = rng.choice(["fly ash", "waste heat", "spent grain", "gips", "CO2", "Abwärme", "slag", "yeast"])
        return "GET", f"{API}{w.catalog_path}", {"params": {"q": q}}

    def token(rng: random.Random, w: World, i: int) -> Request:
        return "POST", f"{API}/auth/token", {}  # form filled by the worker with a login user (paced)

    out = [
        Route("GET /health", 4, health, auth=False),
        Route("GET /sites radius", 8, sites_radius),
        Route("GET /sites bbox|country+nace|q", 6, sites_filter),
        Route("GET /flows filters", 10, flows_filter),
        Route("GET /organizations/{id}/matching/direct, cached", 8, org_matches),
        Route("GET /organizations/{id}/matching/direct, miss", 2, org_matches_miss),
        Route("GET /flows/{id}/matches, cached", 6, flow_matches),
        Route("GET /flows/{id}/matches, miss", 2, flow_matches_miss),
        Route("POST /matching/query", 10, query),
        Route("GET /proposals", 5, proposals),
        Route("GET /organizations?q=", 4, org_search),
        Route("POST /auth/token", 2, token, auth=False, expected={429}),
    ]
    if all(world.matches.values()):
        out.append(Route("GET /matches/{id}/economics", 6, economics))
    if all(world.proposals.values()):
        out.append(Route("GET /proposals/{id}", 3, proposal))
    if world.catalog_path:
        out.append(Route(f"GET {world.catalog_path}?q=", 5, catalog))
    return out


# ------------------------------------------------------------------------------------------------------ the load
@dataclass
class LoginPacer:
    users: list[User]
    limit: int
    window: float
    windows: dict[str, SlidingWindow] = field(default_factory=dict)

    def next_user(self, now: float) -> User | None:
        for u in random.sample(self.users, len(self.users)):
            win = self.windows.setdefault(u.email, SlidingWindow(self.limit, self.window))
            if win.take(now):
                return u
        return None


async def refresh_tokens(client: httpx.AsyncClient, users: list[User]) -> None:
    for u in users:
        if time.monotonic() - u.issued > u.expires_in / 2:
            await login(client, u)


async def scenario(
    base: str,
    concurrency: int,
    seconds: float,
    world: World,
    mix: list[Route],
    users: list[User],
    pacer: LoginPacer,
    seed: int,
    server: Server,
) -> dict[str, Any]:
    server_pid = server.process.pid if server.process else None
    log_start = server.log_path.stat().st_size if server.log_path else 0
    stats = {r.label: RouteStats() for r in mix}
    weights = [r.weight for r in mix]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(60.0, connect=10.0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        await refresh_tokens(client, users)
        per_worker_orgs = World(**{**world.__dict__})
        per_worker_orgs.user_orgs = [world.user_orgs[i % len(users)] for i in range(concurrency)]
        cpu0, client0, t0 = (cpu_seconds(server_pid) if server_pid else None), time.process_time(), time.perf_counter()
        deadline = t0 + seconds

        async def worker(i: int) -> None:
            rng = random.Random(seed * 1000 + i)
            user = users[i % len(users)]
            while time.perf_counter() < deadline:
                route = rng.choices(mix, weights)[0]
                method, path, kw = route.build(rng, per_worker_orgs, i)
                if route.label == "POST /auth/token":
                    login_user = pacer.next_user(time.monotonic())
                    if login_user is None:  # every login user is at the limit: do something else
                        continue
                    kw = {"data": {"username": login_user.email, "password": PASSWORD}}
                headers = auth(user) if route.auth else {}
                st = stats[route.label]
                start = time.perf_counter()
                try:
                    r = await client.request(method, path, headers=headers, **kw)
                except httpx.HTTPError as exc:
                    st.failures[type(exc).__name__] += 1
                    continue
                seen = time.perf_counter() - start
                target = f"{method} {r.request.url.raw_path.decode()}"
                if method == "POST" and "json" in kw:
                    target += " " + json.dumps(kw["json"], ensure_ascii=False)
                st.add(r.status_code, seen, target)
                if 200 <= r.status_code < 300 and r.headers.get("content-type", "").startswith("application/json"):
                    try:
                        body = r.json()
                    except ValueError:
                        st.failures["invalid JSON"] += 1
                        continue
                    listed = body.get("matches", body.get("items")) if isinstance(body, dict) else body
                    if isinstance(listed, list):
                        st.items.append(len(listed))
                if not 200 <= r.status_code < 300 and str(r.status_code) not in st.samples:
                    st.samples[str(r.status_code)] = f"{target}: {r.text[:300]}"

        tasks = [asyncio.create_task(worker(i)) for i in range(concurrency)]
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + 120)
        except TimeoutError:
            for t in tasks:
                t.cancel()
        elapsed = time.perf_counter() - t0
        client_cpu = time.process_time() - client0
        cpu1 = cpu_seconds(server_pid) if server_pid else None
    findings = None
    if server.log_path:
        with server.log_path.open("rb") as handle:
            handle.seek(log_start)
            findings = log_findings(handle.read().decode(errors="replace"))
    per_route = {r.label: summarise(stats[r.label], elapsed, r.expected) for r in mix}
    overall = summarise(merge(list(stats.values())), elapsed)
    login_429 = stats["POST /auth/token"].statuses.get(429, 0)
    if login_429:  # expected on sign-in only: counted apart
        overall["errors"]["429"] -= login_429
        if not overall["errors"]["429"]:
            del overall["errors"]["429"]
        overall["expected_errors"] = {"429": login_429}
    server_cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "routes": per_route,
        "overall": overall,
        "server_cpu_s": server_cpu,
        "server_cpu_pct_of_one_core": None if server_cpu is None else 100.0 * server_cpu / elapsed,
        "client_cpu_s": client_cpu,
        "client_cpu_pct_of_one_core": 100.0 * client_cpu / elapsed,
        "server_log": findings,
    }


async def warm_up(base: str, world: World, mix: list[Route], users: list[User]) -> tuple[dict[str, float], int]:
    """One at a time: each route once per organisation (the first matching request builds the matching state;
    its time is returned), then every cached parameter combination of the matching routes and the economics of
    every match, so that the scenarios measure cache hits there and the miss routes measure misses."""
    first: dict[str, float] = {}
    rng = random.Random(1)
    sent = 0
    member = {org: next(u for j, u in enumerate(users) if world.user_orgs[j] == org) for org in world.org_ids}

    async def get(client: httpx.AsyncClient, user: User | None, method: str, path: str, **kw: Any) -> float:
        nonlocal sent
        start = time.perf_counter()
        r = await _retrying(client, method, path, headers=auth(user) if user else {}, **kw)
        sent += 1
        if not 200 <= r.status_code < 300:
            raise SetupError(f"warm-up: {method} {path} -> {r.status_code}: {r.text[:500]}")
        return (time.perf_counter() - start) * 1000.0

    async with httpx.AsyncClient(base_url=base, timeout=300.0) as client:
        for k, org in enumerate(world.org_ids):
            for route in mix:
                if route.label != "POST /auth/token":
                    method, path, kw = route.build(rng, world, k)
                    ms = await get(client, member[org] if route.auth else None, method, path, **kw)
                    first.setdefault(route.label, ms)
        for org in world.org_ids:
            grid = [(t, r, c) for t in TOPS for r in RADII for c in CATEGORIES]
            for top, radius, category in grid:
                params = {"top": top, "radius_km": radius, **({"category": category} if category else {})}
                await get(client, member[org], "GET", f"{API}/organizations/{org}/matching/direct", params=params)
            for flow in world.flows[org]:
                for top, radius in {(t, r) for t, r, _ in grid}:
                    params = {"top": top, "radius_km": radius}
                    await get(client, member[org], "GET", f"{API}/flows/{flow}/matches", params=params)
            for match in world.matches[org]:
                await get(client, member[org], "GET", f"{API}/matches/{match}/economics")
    return first, sent


# ------------------------------------------------------------------------------------------------------ report
LABEL = 48  # width of the route column


def _ms(v: float | None) -> str:
    return "-" if v is None else (f"{v:.0f}" if v >= 100 else f"{v:.1f}")


def _errors(d: dict[str, int]) -> str:
    return ", ".join(f"{k}×{v}" for k, v in d.items()) if d else "0"


def table(result: dict[str, Any]) -> str:
    head = f"{'route':<{LABEL}} {'requests':>8} {'req/s':>6} {'errors':>9} {'429 exp.':>8} {'items':>5} "
    head += f"{'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}"
    lines = [head + "   (ms)", "-" * (len(head) + 7)]

    def row(label: str, s: dict[str, Any]) -> str:
        items = "-" if s["items_per_answer"] is None else f"{s['items_per_answer']:.1f}"
        return (
            f"{label:<{LABEL}} {s['requests']:>8,} {s['throughput_rps']:>6.1f} {_errors(s['errors']):>9} "
            f"{_errors(s['expected_errors']) if s['expected_errors'] else '-':>8} {items:>5} "
            f"{_ms(s['p50_ms']):>7} {_ms(s['p95_ms']):>7} {_ms(s['p99_ms']):>7} {_ms(s['max_ms']):>7}"
        )

    for label, s in result["routes"].items():
        lines.append(row(label, s))
    lines.append("-" * (len(head) + 7))
    lines.append(row("overall", result["overall"]))
    cpu = result["server_cpu_s"]
    cpu_text = "server CPU n/a"
    if cpu is not None:
        cpu_text = f"server CPU {cpu:.1f} s ({result['server_cpu_pct_of_one_core']:.0f} % of one core)"
    lines.append(
        f"{cpu_text}; load generator CPU {result['client_cpu_s']:.1f} s "
        f"({result['client_cpu_pct_of_one_core']:.0f} % of one core); {result['seconds']:.1f} s measured"
    )
    if result.get("server_log") is not None:
        found = result["server_log"]
        lines.append("server log: " + ("; ".join(f"{k} ×{v}" for k, v in found.items()) or "no warnings or errors"))
    return "\n".join(lines)


def slowest(result: dict[str, Any], n: int = 5) -> str:
    rows = sorted(
        ((r["ms"], r["status"], r["request"]) for s in result["routes"].values() for r in s["slowest"]), reverse=True
    )[:n]
    lines = [f"slowest requests at concurrency {result['concurrency']}:"]
    lines += [f"  {ms:>8.1f} ms  {status}  {req[:150]}" for ms, status, req in rows]
    return "\n".join(lines)


def unexpected(results: list[dict[str, Any]]) -> list[str]:
    out = []
    for res in results:
        for label, s in res["routes"].items():
            if s["errors"]:
                samples = "; ".join(f"{k}: {v}" for k, v in s["error_samples"].items())
                out.append(f"concurrency {res['concurrency']}: {label}: {_errors(s['errors'])}  {samples}")
    return out


# ------------------------------------------------------------------------------------------------------ main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=20.0, help="Duration of each scenario (default 20).")
    p.add_argument("--concurrency", default="16", help="Concurrent clients, or a list run in turn: 1,16,64.")
    p.add_argument("--json", type=Path, help="Write the figures to this JSON file.")
    p.add_argument("--url", help="Target a running server (e.g. http://127.0.0.1:8000) instead of starting one.")
    p.add_argument("--users", type=int, default=6, help="Signed-in load users (workers share them round-robin).")
    p.add_argument("--login-users", type=int, default=3, help="Users whose sign-in is the login route's load.")
    p.add_argument(
        "--login-rate-limit",
        type=int,
        default=0,
        help="Own server only: TURASH_LOGIN_RATE_LIMIT (default: the server's, 10 per 60 s per user and address).",
    )
    p.add_argument(
        "--api-rate-limit",
        type=int,
        default=BENCH_API_LIMIT,
        help="Own server only: TURASH_API_RATE_LIMIT per user per 60 s (default: raised so that the bench measures "
        "the server, not its limiter; 0 keeps the server's 3000).",
    )
    p.add_argument("--login-window", type=int, default=DEFAULT_LOGIN_LIMIT[1], help="Login window of --url (s).")
    p.add_argument("--demo-limit", type=int, default=0, help="Load at most this many demo sites (quick runs).")
    p.add_argument("--server-log", type=Path, help="Own server only: keep its log in this file.")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-uvloop", action="store_true", help="Run the client on asyncio's default loop.")
    args = p.parse_args(argv)
    args.levels = [int(c) for c in str(args.concurrency).split(",") if c.strip()]
    if not args.levels or min(args.levels) < 1:
        p.error("--concurrency needs positive integers, e.g. 1,16,64")
    if args.users < 1 or args.login_users < 1:
        p.error("--users and --login-users must be at least 1")
    if args.url and not args.url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        p.error("--url must be a server on this machine (127.0.0.1)")
    return args


def _loop_name(args: argparse.Namespace) -> tuple[Callable[[], asyncio.AbstractEventLoop] | None, str]:
    if args.no_uvloop:
        return None, "asyncio"
    try:
        import uvloop
    except ImportError:
        return None, "asyncio (uvloop not installed)"
    return uvloop.new_event_loop, f"uvloop {uvloop.__version__}"


async def bench(args: argparse.Namespace, server: Server, loop_name: str) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=server.base, timeout=httpx.Timeout(120.0, connect=10.0)) as client:
        await wait_ready(client, server)
        t = time.perf_counter()
        world, users, login_users = await setup(client, args, run)
        setup_seconds = time.perf_counter() - t
    mix = routes(world)
    t = time.perf_counter()
    first_call, warm_requests = await warm_up(server.base, world, mix, users)
    warm_seconds = time.perf_counter() - t
    for what, n in SETUP_RETRIES.items():
        world.notes.append(f"setup and warm-up retried {what} {n}× (one request at a time, before the load)")
    own = server.process is not None
    login_limit = args.login_rate_limit if (own and args.login_rate_limit) else DEFAULT_LOGIN_LIMIT[0]
    pacer = LoginPacer(login_users, login_limit, args.login_window)
    cores = os.cpu_count() or 0
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "target": server.base + (" (own turash serve, SQLite, demo data)" if own else " (--url)"),
        "cpu_count": cores,
        "python": platform.python_version(),
        "client_loop": loop_name,
        "seconds_per_scenario": args.seconds,
        "concurrency": args.levels,
        "users": args.users,
        "login_users": args.login_users,
        "login_pacing": f"{login_limit} per {args.login_window} s per login user and address",
        "server_settings": server.settings,
        "demo_load_seconds": server.load_seconds,
        "demo_load": server.load_summary,
        "setup_seconds": setup_seconds,
        "setup_notes": world.notes,
        "world": {
            "organizations": len(world.org_ids),
            "flows_for_flow_matches": {k: len(v) for k, v in world.flows.items()},
            "matches_for_economics": {k: len(v) for k, v in world.matches.items()},
            "proposals": {k: len(v) for k, v in world.proposals.items()},
            "catalog_route": world.catalog_path,
        },
        "weights": {r.label: r.weight for r in mix},
        "first_call_ms": first_call,
        "warm_up": {"requests": warm_requests, "seconds": warm_seconds},
    }
    print(_header(meta), flush=True)
    results = []
    for i, c in enumerate(args.levels):
        res = await scenario(
            server.base,
            c,
            args.seconds,
            world,
            mix,
            users,
            pacer,
            args.seed + i,
            server,
        )
        print(f"\nconcurrency {c} ({cores} cores shared by the server and this load generator, client on {loop_name})")
        print(table(res), flush=True)
        if c == min(args.levels):  # without queueing, the slowest requests are the server's own cost
            print(slowest(res), flush=True)
        results.append(res)
    return {"meta": meta, "scenarios": results}


def _header(meta: dict[str, Any]) -> str:
    lines = [
        f"Turash load test, {meta['date']}: {meta['target']}",
        f"Machine: {meta['cpu_count']} cores, shared by the server and the load generator (one Python process, "
        f"client on {meta['client_loop']}): the figures are the pair's, not the server's alone.",
    ]
    if meta["demo_load_seconds"] is not None:
        lines.append(f"Demo data loaded in {meta['demo_load_seconds']:.1f} s. {meta['demo_load']}")
    if meta["server_settings"]:
        shown = ", ".join(f"{k}={v}" for k, v in meta["server_settings"].items() if k != "TURASH_DATABASE_URL")
        lines.append(f"Server settings: {shown}")
    api = meta["server_settings"].get("TURASH_API_RATE_LIMIT")
    if api:
        lines.append(f"  (per-user API limit raised from {DEFAULT_API_LIMIT} to {int(api):,} per 60 s for the bench)")
    lines.append(
        f"{meta['users']} load users (members of the 2 bench organisations), {meta['login_users']} login users; "
        f"sign-in paced to {meta['login_pacing']}; a 429 there is counted apart, as expected."
    )
    w = meta["world"]
    lines.append(
        f"Setup {meta['setup_seconds']:.1f} s: {w['organizations']} organisations; per organisation, flows for "
        f"flow matches {list(w['flows_for_flow_matches'].values())}, matches for economics "
        f"{list(w['matches_for_economics'].values())}, proposals {list(w['proposals'].values())}; "
        f"catalogue route: {w['catalog_route'] or 'none'}."
    )
    for note in meta["setup_notes"]:
        lines.append(f"Note: {note}")
    lines.append(
        f"Warm-up: {meta['warm_up']['requests']} requests in {meta['warm_up']['seconds']:.1f} s (every cached matching "
        "parameter combination and every match's economics); first call of each route, one at a time, ms: "
        + ", ".join(f"{k} {v:.0f}" for k, v in meta["first_call_ms"].items())
    )
    lines.append(
        f"Each scenario: {meta['seconds_per_scenario']:g} s; latency is client side over every answered request; "
        "errors = non-2xx (by status) and requests without an answer; items = mean length of the list answered "
        "(matches or items)."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    loop_factory, loop_name = _loop_name(args)

    def go(server: Server) -> dict[str, Any]:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(bench(args, server, loop_name))

    if args.url:
        server = Server(args.url.rstrip("/"))
        report = go(server)
    else:
        with own_server(args) as server:
            report = go(server)
    if server.log_text is not None:
        findings = log_findings(server.log_text)
        report["server_log"] = findings
        shown = "; ".join(f"{k} ×{v}" for k, v in findings.items()) or "no warnings or errors"
        print(f"\nServer log, whole run (setup and warm-up included): {shown}")
    problems = unexpected(report["scenarios"])
    report["unexpected_errors"] = problems
    print("Unexpected errors: " + ("none" if not problems else "\n  " + "\n  ".join(problems)))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"Figures written to {args.json}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
