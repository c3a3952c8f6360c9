"""FastAPI application factory: routers under /api/v1, one error format, request ids, metrics, the web shell."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from turash import __version__
from turash.config import Settings, get_settings
from turash.kit import tracing
from turash.kit.errors import PayloadTooLarge, TurashError
from turash.kit.logging import configure_logging
from turash.kit.metrics import REQUEST_LATENCY, install_queue_depth
from turash.kit.runtime import Runtime

log = structlog.get_logger(__name__)

API_PREFIX = "/api/v1"
DESCRIPTION = """Turash finds, explains and prices industrial-symbiosis exchanges: one company's waste, by-product
or surplus becomes another's input.

Authenticate with `POST /api/v1/auth/token` (OAuth2 password flow) and send `Authorization: Bearer <token>`,
or send an API key as `X-API-Key`. Errors are always `{"error": {"code", "message", "details"?}}`.

Public data shown through this API (organisations, sites and flows from public registers) carries its attribution:
Hotmaps Industrial Database (Fraunhofer ISI, CC BY 4.0); E-PRTR (European Environment Agency).
"""
TAGS = [
    {"name": "auth", "description": "Registration, tokens, API keys."},
    {"name": "organizations", "description": "Organisations and their members."},
    {"name": "sites", "description": "Physical locations of organisations."},
    {"name": "flows", "description": "Resources a site has (supply) or needs (demand)."},
    {"name": "services", "description": "Transport, treatment, storage... offered by organisations."},
    {"name": "matching", "description": "Ranked, explained partners for flows and organisations."},
    {"name": "economics", "description": "Business cases: NPV, IRR, payback, CO2, ranges, price band, risk."},
    {"name": "potential", "description": "Regional symbiosis potential from declared, register and inferred flows."},
    {"name": "proposals", "description": "Deals: proposals, their states and trail, staged disclosure, notifications."},
    {"name": "facilitation", "description": "Facilitators, the marketplace of facilitated matches, claims, outcomes."},
    {"name": "notifications", "description": "Preferences, webhooks and the live WebSocket (/api/v1/ws)."},
    {"name": "network", "description": "The symbiosis network: graph for the map, anchors, parks, resilience."},
    {"name": "analytics", "description": "KPIs of regions, organisations and facilitators; time series; reports."},
    {"name": "export", "description": "Bulk export of what the caller may read, streamed as NDJSON or CSV."},
    {"name": "search", "description": "Full-text, typo-tolerant, faceted search near a point."},
    {"name": "system", "description": "Health and metadata."},
]


def _error(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or str(loc[0] if loc else "request")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TurashError)
    async def turash_error(_request: Request, exc: TurashError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        retry = getattr(exc, "retry_after", None)
        if retry is not None:
            headers = {"Retry-After": str(retry)}
        return _error(exc.status_code, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for err in exc.errors():
            message = str(err.get("msg", "invalid"))
            details.append(
                {
                    "field": _location(err.get("loc", ())),
                    "message": message.removeprefix("Value error, "),
                    "type": err.get("type"),
                }
            )
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
        return _error(422, "validation_error", f"invalid request: {summary}", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated", 403: "forbidden"}
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return _error(
            exc.status_code, codes.get(exc.status_code, "http_error"), message, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(OperationalError)
    async def database_busy(request: Request, exc: OperationalError) -> JSONResponse:
        """SQLite takes one writer at a time: a write that met another one is a 503 to retry, not a 500."""
        if "database is locked" in str(exc.orig) or "database is busy" in str(exc.orig):
            log.warning("database_busy", path=request.url.path)
            return _error(
                503,
                "database_busy",
                "the database is busy with another write (SQLite allows one writer at a time): retry in a moment",
                headers={"Retry-After": "1"},
            )
        return await unexpected(request, exc)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path, request_id=getattr(request.state, "request_id", None))
        return _error(
            500,
            "internal_error",
            "an unexpected error occurred; it has been logged",
            {"request_id": getattr(request.state, "request_id", None)},
        )


# Probes and scrapes answer under any load (health takes one short connection of the pool's spare four);
# static files need no connection.
_UNGATED = ("/api/v1/health", "/metrics", "/assets/")
_REQUEST_ID = re.compile(r"[^A-Za-z0-9._:-]")  # a caller's X-Request-ID goes into logs: no spaces or newlines


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: a request body past `max_bytes` is refused with 413, whether its size was declared
    (`Content-Length`, checked before anything is read) or not (chunked transfer: counted as it arrives)."""

    def __init__(self, app: Any, max_bytes: int, max_mb: int) -> None:
        self.app, self.max_bytes, self.max_mb = app, max_bytes, max_mb

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen = 0
        exceeded = replaced = started = False

        async def counted_receive() -> Any:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge  # the body parser turns it into its own error answer, replaced below
            return message

        async def refuse() -> None:
            exc = PayloadTooLarge(f"request body exceeds {self.max_mb} MB")
            await _error(exc.status_code, exc.code, exc.message)(scope, receive, send)

        async def watched_send(message: Any) -> None:
            nonlocal replaced, started
            if exceeded and not started:  # the app's answer to a body cut short: 413 instead
                if not replaced:
                    replaced = True
                    await refuse()
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except _BodyTooLarge:
            if started or replaced:
                raise
            await refuse()


def install_middleware(app: FastAPI, settings: Settings) -> None:
    max_body = settings.max_upload_mb * 1024 * 1024
    csp = settings.content_security_policy.strip()
    hsts = f"max-age={settings.hsts_seconds}; includeSubDomains" if settings.hsts_seconds else ""
    # One access line per request with its id: at INFO for log shipping (TURASH_LOG_JSON), at DEBUG for people.
    access_level = "info" if settings.log_json else "debug"
    gate = asyncio.Semaphore(settings.max_requests_in_flight)

    @app.middleware("http")
    async def request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request_id = _REQUEST_ID.sub("", request.headers.get("X-Request-ID") or "")[:64] or uuid.uuid4().hex
        request.state.request_id = request_id
        # every log line of this request carries its id (structlog's contextvars, merged by the log config)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            length = request.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > max_body:
                exc = PayloadTooLarge(f"request body exceeds {settings.max_upload_mb} MB")
                response: Response = _error(exc.status_code, exc.code, exc.message)
            else:
                start = time.perf_counter()
                try:
                    if request.url.path.startswith(_UNGATED):
                        response = await call_next(request)
                    else:
                        # Each request holds one pooled connection from its first query to its end, across the
                        # worker threads its dependencies and handler run in: with more requests in flight than
                        # connections, the threads can all be taken by requests waiting for a connection (a
                        # deadlock broken only by the pool's timeout). Waiting here costs no thread.
                        async with gate:
                            response = await call_next(request)
                except Exception:  # a crash (answered 500 by the outermost handler) counts as a 5xx too
                    template = getattr(request.scope.get("route"), "path", "unmatched")
                    REQUEST_LATENCY.labels(request.method, template, "5xx").observe(time.perf_counter() - start)
                    raise
                route = request.scope.get("route")
                seconds = time.perf_counter() - start
                template = getattr(route, "path", "unmatched")
                REQUEST_LATENCY.labels(request.method, template, f"{response.status_code // 100}xx").observe(seconds)
                getattr(log, access_level)(
                    "request",
                    method=request.method,
                    route=template,
                    status=response.status_code,
                    ms=round(seconds * 1000, 2),
                )
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
        headers = response.headers
        headers["X-Request-ID"] = request_id
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(self), payment=()")
        if csp and request.url.path != "/api/docs":  # Swagger UI's page starts itself with an inline script
            headers.setdefault("Content-Security-Policy", csp)
        if hsts and request.url.scheme == "https":
            headers.setdefault("Strict-Transport-Security", hsts)
        return response

    app.add_middleware(BodyLimit, max_bytes=max_body, max_mb=settings.max_upload_mb)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            allow_credentials=False,
        )


def system_router() -> APIRouter:
    router = APIRouter(tags=["system"])

    @router.get("/health/live", operation_id="health_live")
    def live() -> dict[str, str]:
        """Liveness: the process answers (no dependency is checked: a database outage must not get every replica
        restarted). For a container's liveness probe."""
        return {"status": "ok", "version": __version__}

    @router.get("/health/ready", operation_id="health_ready")
    def ready(request: Request) -> JSONResponse:
        """Readiness: the same checks as /health (database, cache, event bus); 503 takes the replica out of the
        load balancer until they pass again."""
        return health(request)

    @router.get("/health", operation_id="health")
    def health(request: Request) -> JSONResponse:
        """Liveness and dependencies: database, cache, event bus. 503 when one is down."""
        runtime: Runtime = request.app.state.runtime
        checks: dict[str, str] = {}
        try:
            with runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # report, never raise: this route must answer
            checks["database"] = f"error: {type(exc).__name__}"
        checks["cache"] = "ok" if runtime.cache.ping() else "error"
        checks["bus"] = "ok" if runtime.bus.ping() else "error"
        healthy = all(v == "ok" for v in checks.values())
        body = {
            "status": "ok" if healthy else "degraded",
            "version": __version__,
            "database": runtime.engine.dialect.name,
            "checks": checks,
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    return router


def _warm_up() -> None:
    try:
        from turash.matching.service import warm_up

        log.info("matching_engine_ready", seconds=round(warm_up(), 2))
    except Exception:  # a warm-up failure must not stop the server; the first request will say what is wrong
        log.exception("matching_warm_up_failed")


def install_docs(app: FastAPI) -> None:
    """Swagger UI served from this process (assets from the fastapi-offline package), so the API docs work
    without internet access, unlike FastAPI's default CDN links."""
    from importlib import resources

    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    assets = resources.files("fastapi_offline") / "static"
    app.mount("/api/docs-static", StaticFiles(directory=str(assets)), name="docs-static")

    @app.get("/api/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Turash API",
            swagger_js_url="/api/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/api/docs-static/swagger-ui.css",
            swagger_favicon_url="/favicon.svg",
        )


def create_app(runtime: Runtime | None = None, settings: Settings | None = None) -> FastAPI:
    from turash.analytics.endpoints import router as analytics_router
    from turash.auth.endpoints import router as auth_router
    from turash.chains.endpoints import router as chains_router
    from turash.economics.endpoints import router as economics_router
    from turash.export.endpoints import router as export_router
    from turash.facilitation.endpoints import router as facilitation_router
    from turash.flows.endpoints import router as flows_router
    from turash.graphql.endpoints import router as graphql_router
    from turash.ingestion import jobs as ingestion_jobs
    from turash.ingestion import tasks as ingestion_tasks
    from turash.ingestion.endpoints import router as ingestion_router
    from turash.matching.endpoints import router as matching_router
    from turash.network.endpoints import router as network_router
    from turash.notifications import handlers as notification_handlers
    from turash.notifications.endpoints import router as notifications_router
    from turash.organizations.endpoints import router as organizations_router
    from turash.potential.endpoints import router as potential_router
    from turash.proposals.endpoints import router as proposals_router
    from turash.search.endpoints import router as search_router
    from turash.services.endpoints import router as services_router
    from turash.sites.endpoints import router as sites_router
    from turash.webshell.endpoints import router as webshell_router

    settings = settings or (runtime.settings if runtime else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        if not settings.secret_key and settings.secret_key_file is None:
            log.warning(
                "secret_key_unset",
                hint="set TURASH_SECRET_KEY; tokens are signed with a per-process key "
                "and stop working when the server restarts",
            )
        if owned:
            # each server process (uvicorn --workers starts several) logs as configured, JSON included
            configure_logging(settings.log_level, settings.log_json)
            app.state.runtime = Runtime.from_settings(settings)
        rt = app.state.runtime
        install_queue_depth(rt.engine)  # turash_queue_depth at /metrics
        notification_handlers.install(rt)  # e-mail, WebSocket and webhooks from the domain events
        ingestion_tasks.install(rt)  # re-match a flow its meters moved
        if owned and rt.settings.job_queue == "inprocess":  # bulk jobs a crash or restart interrupted
            threading.Thread(target=ingestion_jobs.resume_pending, args=(rt,), name="turash-jobs", daemon=True).start()
        worker = None
        if owned and rt.settings.delivery_mode == "background":
            worker = rt.extras["delivery_worker"] = notification_handlers.DeliveryWorker(rt).start()
        # Compile (or load) the matching kernels in the background, so the first matching request is fast.
        threading.Thread(target=_warm_up, name="turash-warm-up", daemon=True).start()
        yield
        if worker is not None:
            worker.stop()
        if owned:
            app.state.runtime.close()

    app = FastAPI(
        title="Turash API",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    install_docs(app)
    if runtime is not None:
        app.state.runtime = runtime
    install_error_handlers(app)
    install_middleware(app, settings)
    for router in (
        system_router(),
        auth_router,
        organizations_router,
        sites_router,
        flows_router,
        services_router,
        matching_router,
        chains_router,
        economics_router,
        potential_router,
        proposals_router,
        facilitation_router,
        notifications_router,
        ingestion_router,
        network_router,
        graphql_router,
        analytics_router,
        export_router,
        search_router,
    ):
        app.include_router(router, prefix=API_PREFIX)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    install_web(app, webshell_router)
    tracing.instrument(app, settings)
    return app


WEBAPP_DIST = Path(__file__).resolve().parent / "webapp_dist"


def install_web(app: FastAPI, webshell: APIRouter) -> None:
    """The web app (built from web/ into turash/webapp_dist) at `/`, with index.html for client-side routes; the
    server-rendered list of public-register sites at `/registry` (and at `/` when the web app is not built)."""
    from fastapi.responses import FileResponse

    app.include_router(webshell, prefix="/registry")
    if not (WEBAPP_DIST / "index.html").is_file():
        app.include_router(webshell)
        return
    root = WEBAPP_DIST.resolve()

    @app.get("/{path:path}", include_in_schema=False)
    def web_app(path: str) -> FileResponse:
        if path.startswith("api/"):
            raise StarletteHTTPException(404, "no such API route")
        candidate = (root / path).resolve()
        if path and candidate.is_file() and root in candidate.parents:
            return FileResponse(candidate)
        return FileResponse(root / "index.html", headers={"Cache-Control": "no-cache"})
