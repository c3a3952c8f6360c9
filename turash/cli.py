"""The `turash` command (typer + rich). Thin: each command parses arguments, opens a unit of work, calls a service,
commits and prints. The public surface is contract/cli.md; it may grow, never break."""

from __future__ import annotations

import csv
import getpass
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from turash.audit.service import Actor, acting_as
from turash.config import Settings, get_settings
from turash.kit.errors import TurashError
from turash.kit.logging import configure_logging
from turash.kit.runtime import Runtime
from turash.kit.tabular import csv_safe

app = typer.Typer(
    name="turash",
    help="Turash: industrial symbiosis platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
import_app = typer.Typer(
    help="Import files (CSV, JSON, JSON Lines, XML, XLSX) into the register.", no_args_is_help=True
)
ingest_app = typer.Typer(help="Streamed and polled meter readings (MQTT, NATS JetStream, OPC UA, Modbus).")
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
flows_app = typer.Typer(help="Resource flows.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Rows that failed validation.", no_args_is_help=True)
export_app = typer.Typer(help="Export data.", no_args_is_help=True)
facilitation_app = typer.Typer(help="The facilitators' marketplace.", no_args_is_help=True)
notifications_app = typer.Typer(help="E-mail, webhook and digest delivery.", no_args_is_help=True)
network_app = typer.Typer(
    help="The symbiosis network: totals, anchor tenants, candidate parks, resilience.", no_args_is_help=True
)
report_app = typer.Typer(help="KPIs and reports of a region or an organisation.", no_args_is_help=True)
for sub, name in (
    (import_app, "import"),
    (db_app, "db"),
    (users_app, "users"),
    (flows_app, "flows"),
    (quarantine_app, "quarantine"),
    (export_app, "export"),
    (facilitation_app, "facilitation"),
    (notifications_app, "notifications"),
    (ingest_app, "ingest"),
    (network_app, "network"),
    (report_app, "report"),
):
    app.add_typer(sub, name=name)

# Tables piped to a file or another program get room instead of 80 columns of wrapped cells.
out = Console(width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@contextmanager
def _runtime(settings: Settings | None = None) -> Iterator[Runtime]:
    settings = settings or get_settings()
    configure_logging(settings.log_level if settings.log_level != "INFO" else "WARNING", settings.log_json)
    try:
        runtime = Runtime.from_settings(settings)
    except TurashError as exc:
        raise _fail(exc.message) from None
    except Exception as exc:  # e.g. the database or the bus is unreachable: say which, without a traceback
        from sqlalchemy.exc import SQLAlchemyError

        first_line = str(exc).splitlines()[0] if str(exc) else ""
        if isinstance(exc, SQLAlchemyError):
            raise _fail(
                f"cannot open the database {_safe_url(settings.database_url)}: {type(exc).__name__}: {first_line}"
            ) from None
        raise _fail(f"cannot start (cache, event bus or queue): {type(exc).__name__}: {first_line}") from None
    try:
        with acting_as(Actor("cli")):
            yield runtime
    except TurashError as exc:
        raise _fail(exc.message) from None
    finally:
        runtime.close()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _add_row(table: Table, *cells: str) -> None:
    """A table row of plain text: the cells hold users' words and error texts, which may contain square
    brackets (pint's "[length]") that rich would otherwise read as markup and drop."""
    table.add_row(*(escape(c) for c in cells))


def _print_json(payload: Any, file: Path | None = None) -> None:
    """JSON on stdout, or into `file` (orjson: several times faster than the standard library on large outputs,
    and it writes NaN as null, where the standard library would write invalid JSON)."""
    import orjson

    data = orjson.dumps(payload, default=_json_default, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY)
    if file is not None:
        file.write_bytes(data)
        return
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


# ---------------------------------------------------------------------------------------------------------- serve
@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the REST API (/api/v1), its docs (/api/docs) and the web app (/)."""
    import uvicorn

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    with _runtime(settings):
        pass  # apply migrations once, before workers start
    out.print(f"Turash serving on http://{host}:{port}  (API docs: http://{host}:{port}/api/docs)")
    uvicorn.run(
        "turash.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the role finishes the job in hand, then stops."""
    import signal

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@app.command()
def worker(
    partitions: Annotated[
        str | None, typer.Option(help="Partitions to take jobs from, e.g. `0-7` or `0,3,5`. Default: all.")
    ] = None,
    max_jobs: Annotated[int | None, typer.Option(min=1, help="Stop after this many jobs.")] = None,
    idle_exit: Annotated[
        float | None, typer.Option(min=0.1, help="Stop when no job came for this many seconds.")
    ] = None,
) -> None:
    """Take background jobs (re-matching a cell, bulk imports) from the NATS JetStream queue and run them.
    Needs TURASH_JOB_QUEUE=nats and TURASH_NATS_URL; run as many workers as you like."""
    from turash.jobs import service as jobs
    from turash.kit.queue import parse_partitions

    settings = get_settings()
    try:
        chosen = parse_partitions(partitions, settings.job_partitions)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    stop = _stop_on_signals()
    done = [0]
    last: list[float | None] = [time.monotonic()]  # when the last job ended; None while one runs

    def on_start(job: Any) -> None:
        last[0] = None

    def on_job(job: Any) -> None:
        done[0] += 1
        last[0] = time.monotonic()
        if max_jobs is not None and done[0] >= max_jobs:
            stop.set()

    def watch_idle() -> None:
        while idle_exit is not None and not stop.wait(0.2):
            ended = last[0]
            if ended is not None and time.monotonic() - ended > idle_exit:
                stop.set()

    with _runtime(settings) as runtime:
        threading.Thread(target=watch_idle, daemon=True).start()
        handled = jobs.run_worker(runtime, stop, partitions=chosen, on_job=on_job, on_start=on_start)
    err.print(f"worker stopped after {handled} jobs")


@app.command()
def scheduler(
    once: Annotated[bool, typer.Option("--once", help="Queue one round, then exit (for cron).")] = False,
    top: Annotated[int, typer.Option(min=1, max=100, help="Each flow's K best counterparts.")] = 5,
    radius_km: Annotated[float, typer.Option(min=0.001, help="Largest distance considered.")] = 50.0,
) -> None:
    """Queue the periodic jobs: a re-match of every populated cell each TURASH_REMATCH_INTERVAL_MINUTES, and bulk
    imports that never reached the queue. With the embedded in-process queue, `--once` runs them here."""
    from turash.jobs import service as jobs
    from turash.kit.queue import InProcessQueue

    with _runtime() as runtime:
        if once:
            result = jobs.schedule_round(runtime, top=top, radius_km=radius_km)
            queue = jobs.queue_of(runtime)
            if isinstance(queue, InProcessQueue):
                queue.join()
                result["ran_here"] = result["queued"]
            _print_json(result)
            return
        stop = _stop_on_signals()
        rounds = jobs.run_scheduler(runtime, stop, top=top, radius_km=radius_km)
    err.print(f"scheduler stopped after {rounds} rounds")


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after loading.")] = True,
    limit: Annotated[int | None, typer.Option(help="Load at most this many sites (for a quick look).")] = None,
) -> None:
    """Load real public sites (Hotmaps, E-PRTR, EU chemical parks) into the database, then serve the platform."""
    from turash.registers import service as registers

    with _runtime() as runtime, runtime.uow() as uow:
        with _progress("Loading public registers") as (progress, task):

            def tick(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            report = registers.load_registers(uow.session, limit=limit, progress=tick)
        uow.commit()
    _print_register_load(report)
    if serve_after:
        serve(host=host, port=port)


def _print_register_load(report: Any) -> None:
    out.print(
        f"Registers {', '.join(report.sources)}: {report.records_read:,} records "
        f"({report.skipped_no_location:,} without coordinates left out) → {report.sites_seen:,} sites "
        f"({report.merged_records:,} records merged into a site another register lists too; "
        f"{report.sites_in_parks:,} in chemical parks). Created {report.sites_created:,} sites and "
        f"{report.flows_created:,} flows (register figures, and each site's likely flows from its sector "
        "profile, marked inferred)."
    )
    out.print(f"Data: {report.attribution}")


@contextmanager
def _progress(description: str) -> Iterator[tuple[Progress, Any]]:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with progress:
        yield progress, progress.add_task(description, total=None)


# --------------------------------------------------------------------------------------------------------- import
MapOption = Annotated[
    list[str] | None,
    typer.Option("--map", help='A foreign header and the column it means: --map "Menge=quantity" (repeatable).'),
]
SourceOption = Annotated[
    str | None,
    typer.Option("--source", help="Name of the file's source: its saved mapping applies, and --map saves one."),
]
SuggestOption = Annotated[
    bool, typer.Option("--suggest-mapping", help="Only show what each header most likely means, then stop.")
]


def _mapping(session: Any, kind: str, file: Path, pairs: list[str] | None, source: str | None, suggest: bool) -> Any:
    from turash.ingestion import mapping as header_map
    from turash.ingestion.formats import read_file
    from turash.ingestion.reader import FileUnreadable

    if suggest:
        try:
            parsed = read_file(file, kind=kind)
        except FileUnreadable as exc:
            raise _fail(exc.message) from None
        table = Table(title=f"Header mapping suggested for {file.name}")
        for column in ("header", "column", "score", "alternatives"):
            table.add_column(column)
        for s in header_map.suggest_mapping(parsed.raw_header, kind):
            alternatives = ", ".join(f"{c} {v:.0f}" for c, v in s.alternatives[:3])
            _add_row(table, s.header, s.column or "-", f"{s.score:.0f}", alternatives)
        out.print(table)
        raise typer.Exit(0)
    if pairs:
        columns: dict[str, str] = {}
        for pair in pairs:
            header, sep, column = pair.partition("=")
            if not sep or not header.strip():
                raise _fail(f"--map {pair!r}: write HEADER=COLUMN")
            columns[header.strip()] = column.strip()
        try:
            checked = header_map.check_mapping(columns, kind)
        except FileUnreadable as exc:
            raise _fail(exc.message) from None
        if source:
            header_map.save_mapping(session, None, source, kind, checked)
        return checked
    if source:
        saved = header_map.load_mapping(session, None, source, kind)
        if saved is None:
            raise _fail(f"no mapping saved for source {source!r}; give it once with --map")
        return saved
    return None


def _run_import(
    kind: str,
    file: Path,
    owner: str | None,
    output: OutputFormat,
    pairs: list[str] | None = None,
    source: str | None = None,
    suggest: bool = False,
) -> None:
    from turash.auth.repository import user_by_email
    from turash.ingestion import service as ingestion

    with _runtime() as runtime, runtime.uow() as uow:
        mapping = _mapping(uow.session, kind, file, pairs, source, suggest)
        owner_id = None
        if owner:
            user = user_by_email(uow.session, owner)
            if user is None:
                raise _fail(f"no user with e-mail {owner}; create it with `turash users create`")
            owner_id = user.id
        importer = ingestion.import_flows if kind == "flows" else ingestion.import_sites
        with _progress(f"Importing {file.name}") as (progress, task):

            def tick(done: int, total: int) -> None:
                progress.update(task, completed=done, total=max(total, done))

            report = importer(
                uow.session, file, owner_id=owner_id, progress=tick, checkpoint=uow.commit, mapping=mapping
            )
        uow.commit()
    if output == OutputFormat.json:
        _print_json(report.as_dict())
    else:
        _print_report(report)
    raise typer.Exit(report.exit_code)


def _print_report(report: Any) -> None:
    if report.error:
        err.print(f"[bold red]error:[/] {report.error}")
        err.print("Nothing was imported; the failure is recorded in `turash quarantine list`.")
        return
    out.print(
        f"[bold]{report.file}[/]: {report.rows_total:,} rows → {report.imported:,} imported, "
        f"{report.skipped:,} already present, {report.quarantined:,} quarantined "
        f"({report.organizations_created} organisations and {report.sites_created} sites created)"
    )
    for note in report.notes:
        out.print(f"note: {note}")
    if report.problems:
        table = Table(title="Quarantined rows (kept; see `turash quarantine list`)", show_lines=False)
        for column in ("row", "column", "reason"):
            table.add_column(column)
        for problem in report.problems[:200]:
            _add_row(table, str(problem.row or "-"), problem.column or "-", problem.reason)
        out.print(table)
        if len(report.problems) > 200:
            out.print(f"... and {len(report.problems) - 200} more problems")
    for warning in report.warnings[:50]:
        out.print(f"warning: row {warning.row}: {warning.reason}")
    if report.enriched:
        filled = ", ".join(f"{kind} {count:,}" for kind, count in sorted(report.enriched.items()))
        out.print(f"enriched: {filled} (first notes in `--format json`: enrichments)")
    quality = report.quality.as_dict()
    if quality["records"]:
        missing = ", ".join(f"{name} {count:,}" for name, count in list(quality["missing"].items())[:5])
        out.print(
            f"data quality: mean {quality['mean_score']:.2f} over {quality['records']:,} flows"
            + (f"; most often missing: {missing}" if missing else "")
        )
    if report.merges_proposed:
        out.print(
            f"{report.merges_proposed} possible duplicate organisation(s)/site(s) proposed for merging "
            "(GET /api/v1/merges; a platform admin applies or rejects them)"
        )


@import_app.command("flows")
def import_flows(
    file: Annotated[Path, typer.Argument(help="CSV (any delimiter), JSON, JSON Lines, XML or XLSX; one flow per row.")],
    owner: Annotated[
        str | None, typer.Option(help="E-mail of a user who becomes owner of the organisations this import creates.")
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="Report format.")] = OutputFormat.table,
    pairs: MapOption = None,
    source: SourceOption = None,
    suggest: SuggestOption = False,
) -> None:
    """Import resource flows. Exit status 0: all rows in; 1: some rows quarantined; 2: file unreadable."""
    _run_import("flows", file, owner, output, pairs, source, suggest)


@import_app.command("registers")
def import_registers(
    only: Annotated[
        str | None, typer.Option(help="Comma-separated: hotmaps, eprtr_co2, eprtr_co, chemical_parks.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many records per register.")] = None,
    country: Annotated[str | None, typer.Option(help="Comma-separated ISO country codes to load (e.g. AT,DE).")] = None,
) -> None:
    """Load the public registers (real EU sites), resolving a plant listed in several registers into one site."""
    from turash.registers import service as registers

    sources = tuple(s.strip() for s in only.split(",")) if only else registers.SOURCES
    with _runtime() as runtime, runtime.uow() as uow:
        try:
            with _progress("Loading public registers") as (progress, task):

                def tick(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                report = registers.load_registers(
                    uow.session,
                    sources=sources,
                    limit=limit,
                    countries=country.split(",") if country else None,
                    progress=tick,
                )
        except ValueError as exc:
            raise _fail(str(exc)) from None
        uow.commit()
    _print_register_load(report)


@import_app.command("sites")
def import_sites(
    file: Annotated[Path, typer.Argument(help="CSV: organization, site, lat, lon, country, nace...")],
    owner: Annotated[str | None, typer.Option(help="E-mail of the owner of new organisations.")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="Report format.")] = OutputFormat.table,
    pairs: MapOption = None,
    source: SourceOption = None,
    suggest: SuggestOption = False,
) -> None:
    """Import sites without declared flows."""
    _run_import("sites", file, owner, output, pairs, source, suggest)


@import_app.command("watch")
def import_watch(
    folder: Annotated[Path, typer.Argument(help="Folder to watch; files dropped in it are imported.")],
    kind: Annotated[str, typer.Option(help="flows or sites")] = "flows",
    interval: Annotated[float, typer.Option(help="Seconds between looks.")] = 10.0,
    once: Annotated[bool, typer.Option("--once", help="Import what is there now, then stop.")] = False,
) -> None:
    """Watched-folder import: each new file is imported, then moved to `done/` (or `failed/` when unreadable),
    with its report beside it as JSON. A file already imported (same SHA-256) is imported again harmlessly: its
    flows are recognised by their fingerprints and skipped."""
    import time as clock

    from turash.ingestion import service as ingestion

    if kind not in ("flows", "sites"):
        raise _fail("--kind must be flows or sites")
    if not folder.is_dir():
        raise _fail(f"{folder} is not a folder")
    done, failed = folder / "done", folder / "failed"
    done.mkdir(exist_ok=True)
    failed.mkdir(exist_ok=True)
    importer = ingestion.import_flows if kind == "flows" else ingestion.import_sites
    while True:
        for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
            with _runtime() as runtime, runtime.uow() as uow:
                report = importer(uow.session, path, checkpoint=uow.commit)
                uow.commit()
            target = (failed if report.error else done) / path.name
            path.replace(target)
            target.with_name(target.name + ".report.json").write_text(
                json.dumps(report.as_dict(), default=_json_default, indent=2)
            )
            out.print(
                f"{path.name}: {report.imported} imported, {report.skipped} skipped, "
                f"{report.quarantined} quarantined{' - ' + report.error if report.error else ''}"
            )
        if once:
            return
        clock.sleep(interval)


# ------------------------------------------------------------------------------------------------------------- db
@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from turash.kit import migrations

    settings = get_settings()
    try:
        migrations.upgrade(settings.database_url, revision)
    except Exception as exc:
        raise _fail(f"migration failed: {type(exc).__name__}: {exc}") from None
    out.print(f"database {_safe_url(settings.database_url)} is at revision {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. `base` or `-1`.")]) -> None:
    """Revert migrations down to REVISION."""
    from turash.kit import migrations

    settings = get_settings()
    try:
        migrations.downgrade(settings.database_url, revision)
    except Exception as exc:
        raise _fail(f"migration failed: {type(exc).__name__}: {exc}") from None
    out.print(f"database {_safe_url(settings.database_url)} downgraded to {revision}")


# ---------------------------------------------------------------------------------------------------------- users
@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="E-mail (the login name).")],
    name: Annotated[str, typer.Option(help="Display name.")],
    password: Annotated[
        str | None,
        typer.Option(help="Password; asked for when omitted. TURASH_PASSWORD also works.", envvar="TURASH_PASSWORD"),
    ] = None,
    admin: Annotated[bool, typer.Option(help="Platform administrator.")] = False,
) -> None:
    """Create a user account."""
    from pydantic import ValidationError

    from turash.auth import service as auth
    from turash.auth.schemas import UserCreate

    if password is None:
        password = getpass.getpass("Password: ")
    try:
        data = UserCreate(email=email, name=name, password=password)
    except ValidationError as exc:
        raise _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
    with _runtime() as runtime, runtime.uow() as uow:
        user = auth.create_user(
            uow.session,
            email=str(data.email),
            name=data.name,
            password=data.password,
            role="admin" if admin else "user",
        )
        uow.commit()
    out.print(f"created {'administrator' if admin else 'user'} {user.email} ({user.id})")


# ---------------------------------------------------------------------------------------------------------- flows
def flow_record(flow: Any, org: Any, site: Any) -> dict[str, Any]:
    """A flow as `turash flows list --format json` shows it: every imported column, plus derived fields."""
    record = {
        "flow_id": flow.id,
        "organization": org.name,
        "site": site.name,
        "lat": site.lat,
        "lon": site.lon,
        "country": site.country,
        "nace": site.nace,
    }
    for column in (
        "direction",
        "resource",
        "resource_class",
        "category",
        "ewc_code",
        "quantity",
        "unit",
        "quantity_kind",
        "quantity_si",
        "si_unit",
        "quantity_min",
        "quantity_max",
        "temperature_c",
        "pressure_bar",
        "purity_pct",
        "hazardous",
        "available_from",
        "available_to",
        "schedule",
        "price_eur_per_unit",
        "precision",
        "description",
        "inferred",
        "inferred_from",
        "source",
    ):
        record[column] = getattr(flow, column)
    record["attributes"] = flow.attributes or {}
    return record


def _flows(organization: str | None) -> list[dict[str, Any]]:
    from turash.flows import service as flows
    from turash.flows.repository import FlowFilter
    from turash.organizations.repository import find_by_name

    with _runtime() as runtime, runtime.uow() as uow:
        flt = FlowFilter()
        if organization:
            org = find_by_name(uow.session, organization)
            if org is None:
                return []
            flt = FlowFilter(organization_id=org.id)
        rows, _total = flows.search(uow.session, None, flt, limit=None)
        return [flow_record(f, o, s) for f, o, s, _ in rows]


@flows_app.command("list")
def flows_list(
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    organization: Annotated[str | None, typer.Option(help="Only this organisation's flows.")] = None,
) -> None:
    """List the flows in the database."""
    records = _flows(organization)
    if output == OutputFormat.json:
        _print_json({"flows": records})
        return
    table = Table(title=f"{len(records)} flows")
    for column in (
        "flow_id",
        "organization",
        "site",
        "direction",
        "resource",
        "class",
        "category",
        "quantity",
        "unit",
        "inferred",
    ):
        table.add_column(column)
    for r in records:
        _add_row(
            table,
            r["flow_id"],
            r["organization"],
            r["site"],
            r["direction"],
            r["resource"],
            r["resource_class"] or "",
            r["category"] or "",
            "" if r["quantity"] is None else f"{r['quantity']:g}",
            r["unit"] or "",
            str(r["inferred"]),
        )
    out.print(table)


# ----------------------------------------------------------------------------------------------------- quarantine
@quarantine_app.command("list")
def quarantine_list(
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    all_rows: Annotated[bool, typer.Option("--all", help="Include resolved or superseded rows.")] = False,
) -> None:
    """List quarantined rows with file, row number, column and reason."""
    from turash.ingestion import service as ingestion

    with _runtime() as runtime, runtime.uow() as uow:
        rows = [
            {
                "id": q.id,
                "file": q.file_name,
                "row": q.row_number,
                "column": q.column,
                "reason": q.reason,
                "errors": q.errors,
                "raw": q.raw,
                "import_run_id": q.import_run_id,
                "quarantined_at": q.created_at.isoformat(),
                "resolved": q.resolved_at is not None,
            }
            for q in ingestion.quarantined(uow.session, include_resolved=all_rows)
        ]
    if output == OutputFormat.json:
        _print_json({"quarantine": rows})
        return
    table = Table(title=f"{len(rows)} quarantined rows")
    for column in ("file", "row", "column", "reason"):
        table.add_column(column)
    for r in rows:
        _add_row(table, str(r["file"]), str(r["row"] or "-"), str(r["column"] or "-"), str(r["reason"]))
    out.print(table)


@quarantine_app.command("fix")
def quarantine_fix(
    row_id: Annotated[str, typer.Argument(help="The quarantined row's id (from `turash quarantine list`).")],
    values: Annotated[list[str], typer.Argument(help='Columns to set: unit=t/yr "resource=fly ash"; col= clears.')],
) -> None:
    """Correct a quarantined row in place (then `turash quarantine replay ID`)."""
    from turash.ingestion import quarantine
    from turash.kit.errors import TurashError

    changes: dict[str, Any] = {}
    for pair in values:
        column, sep, value = pair.partition("=")
        if not sep or not column:
            raise _fail(f"{pair!r}: write COLUMN=VALUE")
        changes[column] = value or None
    with _runtime() as runtime, runtime.uow() as uow:
        try:
            row = quarantine.correct(quarantine.get_row(uow.session, None, row_id), changes)
        except TurashError as exc:
            raise _fail(exc.message) from None
        uow.commit()
        out.print(f"row {row.id}: {row.raw}")


@quarantine_app.command("replay")
def quarantine_replay(
    row_ids: Annotated[list[str] | None, typer.Argument(help="Rows to replay; none with --all.")] = None,
    all_rows: Annotated[bool, typer.Option("--all", help="Replay every unresolved row.")] = False,
) -> None:
    """Run quarantined rows through their pipeline again: resolved when they go in, else kept with the reason."""
    from turash.ingestion import quarantine
    from turash.kit.errors import TurashError

    with _runtime() as runtime, runtime.uow() as uow:
        if all_rows:
            ids = [r.id for r in quarantine.list_rows(uow.session, None, limit=1_000_000)[0] if r.row_number]
        elif row_ids:
            ids = row_ids
        else:
            raise _fail("name the rows to replay, or --all")
        resolved = 0
        for row_id in ids:
            try:
                outcome = quarantine.replay(uow.session, quarantine.get_row(uow.session, None, row_id), user_id=None)
            except TurashError as exc:
                err.print(f"{row_id}: {exc.message}")
                continue
            resolved += outcome.resolved
            state = outcome.row.resolution if outcome.resolved else f"still quarantined: {outcome.row.reason}"
            out.print(f"{row_id}: {state}")
            uow.commit()
    out.print(f"{resolved} of {len(ids)} rows resolved")
    raise typer.Exit(0 if resolved == len(ids) else 1)


@quarantine_app.command("dismiss")
def quarantine_dismiss(
    row_id: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option(help="Why the row is resolved without importing it.")],
) -> None:
    """Resolve a row without importing it; it stays listed with `--all`, with the reason."""
    from turash.ingestion import quarantine
    from turash.kit.errors import TurashError

    with _runtime() as runtime, runtime.uow() as uow:
        try:
            quarantine.dismiss(quarantine.get_row(uow.session, None, row_id), reason, "the command line")
        except TurashError as exc:
            raise _fail(exc.message) from None
        uow.commit()


# --------------------------------------------------------------------------------------------------------- ingest
def _wait_for_signal() -> None:
    import signal
    import threading

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


@ingest_app.command("mqtt")
def ingest_mqtt(
    topic_prefix: Annotated[str, typer.Option(help="Topics are PREFIX/<organisation id>/meters/<meter>.")] = "turash",
    client_id: Annotated[str, typer.Option(help="Fixed per consumer: the broker keeps its session.")] = "turash-ingest",
) -> None:
    """Take meter readings from MQTT (TURASH_MQTT_URL) until stopped; acked after they are stored."""
    from turash.ingestion.streams import MqttReadingConsumer

    with _runtime() as runtime:
        if not runtime.settings.mqtt_url:
            raise _fail("set TURASH_MQTT_URL, e.g. mqtt://127.0.0.1:1883")
        consumer = MqttReadingConsumer(
            runtime.settings.mqtt_url, runtime, topic_prefix=topic_prefix, client_id=client_id
        )
        consumer.start()
        out.print(
            f"taking readings from {_safe_url(runtime.settings.mqtt_url)} ({topic_prefix}/+/meters/#); Ctrl-C stops"
        )
        _wait_for_signal()
        consumer.stop(flush=True)
        out.print(str(consumer.counters))


@ingest_app.command("nats")
def ingest_nats() -> None:
    """Take meter readings from NATS JetStream (TURASH_NATS_URL, subjects turash.readings.<org>.<meter>)."""
    from turash.ingestion.streams import NatsReadingConsumer

    with _runtime() as runtime:
        if not runtime.settings.nats_url:
            raise _fail("set TURASH_NATS_URL, e.g. nats://127.0.0.1:4222")
        consumer = NatsReadingConsumer(runtime.settings.nats_url, runtime)
        consumer.start()
        out.print(f"taking readings from {_safe_url(runtime.settings.nats_url)}; Ctrl-C stops")
        _wait_for_signal()
        consumer.stop(flush=True)
        out.print(str(consumer.counters))


@ingest_app.command("scada")
def ingest_scada(
    organization: Annotated[str, typer.Option(help="The organisation whose OPC UA and Modbus meters to poll.")],
    once: Annotated[bool, typer.Option("--once", help="Poll every meter once, print, store, stop.")] = False,
) -> None:
    """Poll the organisation's OPC UA and Modbus meters (their address and config) and store the readings."""
    import asyncio

    import sqlalchemy as sa

    from turash.ingestion.meters import take_readings
    from turash.ingestion.scada import pollers_from_meters
    from turash.models import Meter

    with _runtime() as runtime:
        with runtime.uow() as uow:
            org = find_organization(uow.session, organization)
            org_id = org.id
            meters = list(
                uow.session.scalars(
                    sa.select(Meter).where(Meter.organization_id == org_id, Meter.protocol.in_(("opcua", "modbus")))
                )
            )
            uow.session.expunge_all()

        def store(readings: Any) -> None:
            with runtime.uow() as uow:
                result = take_readings(uow.session, org_id, readings, source="scada", collect=uow.collect)
                uow.commit()
            out.print(f"{result.batch.stored} readings stored, {result.batch.quarantined} quarantined")

        try:
            pollers = pollers_from_meters(meters, lambda rs: asyncio.to_thread(store, rs))
        except ValueError as exc:
            raise _fail(str(exc)) from None
        if not pollers:
            raise _fail(f"{org.name} has no OPC UA or Modbus meters; register them with POST .../meters")

        async def main() -> None:
            if once:
                for poller in pollers:
                    result = await poller.poll()
                    store(result.readings)
                    for problem in result.problems:
                        err.print(f"{problem.meter}: {problem.reason}")
                    await poller.close()
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            import signal

            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await asyncio.gather(*(p.run(stop) for p in pollers))

        asyncio.run(main())


# --------------------------------------------------------------------------------------------------------- export


@export_app.command("flows")
def export_flows(
    output: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.csv,
    file: Annotated[Path | None, typer.Option("--output", "-o", help="File (default: stdout).")] = None,
    organization: Annotated[str | None, typer.Option(help="Only this organisation's flows.")] = None,
) -> None:
    """Export flows as CSV (the import format, re-importable) or JSON."""
    records = _flows(organization)
    handle = file.open("w", encoding="utf-8", newline="") if file else sys.stdout
    try:
        if output == ExportFormat.json:
            handle.write(json.dumps({"flows": records}, default=_json_default, ensure_ascii=False) + "\n")
            return
        columns = [
            "organization",
            "site",
            "lat",
            "lon",
            "country",
            "nace",
            "direction",
            "resource",
            "category",
            "ewc_code",
            "quantity",
            "unit",
            "temperature_c",
            "pressure_bar",
            "purity_pct",
            "hazardous",
            "available_from",
            "available_to",
            "schedule",
            "price_eur_per_unit",
            "precision",
            "description",
            "flow_id",
            "resource_class",
            "inferred",
        ]
        extra = sorted({k for r in records for k in r["attributes"]} - set(columns))
        writer = csv.writer(handle)
        writer.writerow(columns + extra)
        for r in records:
            row = [r.get(c) for c in columns] + [r["attributes"].get(k) for k in extra]
            writer.writerow([csv_safe("" if v is None else v) for v in row])
    finally:
        if file:
            handle.close()
    if file:
        err.print(f"wrote {len(records)} flows to {file}")


# ---------------------------------------------------------------------------------------------------------- match
@app.command("match")
def match(
    output: Annotated[OutputFormat, typer.Option("--format", help="table (default) or json (the contract).")] = (
        OutputFormat.table
    ),
    top: Annotated[int, typer.Option("--top", min=1, max=100, help="Keep each flow's K best counterparts.")] = 5,
    radius_km: Annotated[float, typer.Option("--radius-km", min=0.001, help="Largest distance considered.")] = 50.0,
    organization: Annotated[str | None, typer.Option(help="Only matches this organisation takes part in.")] = None,
    include_inferred: Annotated[bool, typer.Option("--include-inferred", help="Also match inferred flows.")] = False,
    weights: Annotated[str | None, typer.Option(help="Scorer weights, e.g. distance=0.4,quality=0.3.")] = None,
    min_score: Annotated[float, typer.Option(min=0, max=1, help="Drop matches scoring below this.")] = 0.0,
    store: Annotated[
        bool, typer.Option("--store", help="Also store the matches (audit trail, GET /matches/{id}).")
    ] = False,
    chains: Annotated[
        bool,
        typer.Option("--chains", help="Multi-party chains instead: supply → service (heat pump, treatment) → demand."),
    ] = False,
    all_cells: Annotated[
        bool,
        typer.Option("--all", help="Batch re-match of the whole register, one Dask task per 1-degree cell."),
    ] = False,
    dask: Annotated[
        str | None,
        typer.Option(help="With --all: the Dask scheduler, e.g. tcp://host:8786. Default: a local cluster."),
    ] = None,
) -> None:
    """Compute matches on everything in the database (contract: `turash match --format json`)."""
    from turash.matching import service as matching

    if dask is not None and not all_cells:
        raise _fail("--dask goes with --all (the batch re-match by cell)")
    if all_cells:
        if organization or include_inferred or weights or min_score or chains:
            raise _fail(
                "--all re-matches the whole register: leave out --organization, --include-inferred, --weights, "
                "--min-score and --chains"
            )
        _match_all(output, top, radius_km, store, dask)
        return
    with _runtime() as runtime, runtime.uow() as uow:
        org_id = None
        if organization:
            org = find_organization(uow.session, organization)
            if org is None:
                raise _fail(f"no organisation named {organization!r}")
            org_id = org.id
        if chains:
            from turash.chains import service as chain_service

            result = chain_service.find_all(
                uow.session, runtime.extras, top=top, radius_km=radius_km, organization_id=org_id
            )
            _print_chains(result, output, "all supplies")
            return
        request = matching.MatchRequest(
            top_k=top,
            radius_km=radius_km,
            organization_id=org_id,
            include_inferred=include_inferred,
            weights=matching.parse_weights(weights),
            min_score=min_score,
        )
        matches, summary = matching.find_matches(uow.session, runtime.extras, request)
        if store:
            matching.record_run(uow.session, request, matches, summary, trigger="cli", collect=uow.collect)
            uow.commit()
    if output == OutputFormat.json:
        _print_json({"matches": matches})
        return
    table = Table(
        title=f"{len(matches)} matches ({summary['facilitated']} for a facilitator) among {summary['flows']} flows"
    )
    for column in ("score", "supply", "resource", "→ demand", "resource ", "km", *SCORE_COLUMNS, "route"):
        table.add_column(column, overflow="fold")
    for m in matches:
        sup, dem = m["supply"], m["demand"]
        _add_row(
            table,
            f"{m['score']:.2f}",
            f"{sup['organization']} / {sup['site']}",
            sup["resource"],
            f"{dem['organization']} / {dem['site']}",
            dem["resource"],
            f"{m['distance_km']:.1f}",
            *(f"{m['scores'][c]:.2f}" for c in SCORE_COLUMNS),
            m["route"],
        )
    out.print(table)
    if summary["flows_unclassified"]:
        err.print(
            f"{summary['flows_unclassified']} flows were not matched: the catalogue could not tell what "
            "their resource is (see `turash flows list`, column class)"
        )


SCORE_COLUMNS = ("quality", "temporal", "quantity", "economic", "trust", "distance")


def _match_all(output: OutputFormat, top: int, radius_km: float, store: bool, dask: str | None) -> None:
    """`turash match --all`: every populated cell on Dask, with a progress bar; prints what `turash match` prints."""
    from turash.matching import batch, cells

    with _runtime() as runtime, runtime.uow() as uow:
        populated = cells.populated_cells(uow.session)
        url = runtime.settings.database_url
    with Progress(
        TextColumn("matching cells"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
    ) as progress:
        task = progress.add_task("cells", total=len(populated))
        try:
            matches, summary = batch.rematch_all(
                url,
                populated,
                top=top,
                radius_km=radius_km,
                store=store,
                scheduler=dask,
                on_cell=lambda _summary: progress.advance(task),
            )
        except OSError as exc:  # the scheduler address does not answer
            raise _fail(f"cannot reach the Dask scheduler {dask}: {exc}") from None
    if output == OutputFormat.json:
        _print_json({"matches": matches})
        return
    err.print(
        f"{summary['matches']} matches in {summary['cells']} cells on {summary['dask_workers']} Dask workers "
        f"({summary['cell_seconds']} s of cell work){'; stored' if store else ''}",
        highlight=False,
    )


class PotentialFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _print_chains(result: dict[str, Any], output: OutputFormat, scope: str) -> None:
    if output == OutputFormat.json:
        _print_json(result)
        return
    found = result["chains"]
    table = Table(title=f"{len(found)} chains through a service for {scope}")
    for column in ("score", "supply", "resource", "→ service", "kind", "→ demand", "resource ", "km", "NPV EUR", "COP"):
        table.add_column(column, overflow="fold")
    for c in found:
        sup, dem, svc = c["supply"], c["demand"], c["service"]
        npv = c["economics"].get("npv_eur")
        _add_row(
            table,
            f"{c['score']:.2f}",
            f"{sup['organization']} / {sup['site']}",
            sup["resource"],
            f"{svc['organization']}: {svc['name']}",
            svc["kind"],
            f"{dem['organization']} / {dem['site']}",
            dem["resource"],
            " + ".join(f"{leg['distance_km']:.1f}" for leg in c["legs"]),
            "-" if npv is None else f"{npv:,.0f}",
            "-" if c.get("cop") is None else f"{c['cop']:.1f}",
        )
    out.print(table)
    for c in found:
        out.print(f"[bold]{c['id']}[/bold]: {escape(c['explanation'])}")
    for why in result.get("rejected_services", []):
        err.print(f"service {why['service']!r} ({why['kind']}) cannot take it: {why['message']}")
    if result.get("dropped_for_direct"):
        dropped = result["dropped_for_direct"]
        err.print(f"{dropped} chains dropped: the direct exchange serves as well without a service")


@app.command("chains")
def chains_command(
    flow_id: Annotated[str, typer.Argument(help="The flow's id (`turash flows list`).")],
    output: Annotated[OutputFormat, typer.Option("--format", help="table (default) or json.")] = OutputFormat.table,
    top: Annotated[int, typer.Option("--top", min=1, max=50, help="Keep the K best chains.")] = 5,
    radius_km: Annotated[float, typer.Option("--radius-km", min=0.001, help="Largest distance per leg.")] = 50.0,
) -> None:
    """A flow's multi-party chains: supply → service (heat pump, treatment, drying, transport, storage) → demand,
    each leg explained, with the chain's economics and each party's share (docs/chains.md)."""
    from turash.chains import service as chain_service
    from turash.models import ResourceFlow

    with _runtime() as runtime, runtime.uow() as uow:
        flow = uow.session.get(ResourceFlow, flow_id)
        if flow is None:
            raise _fail(f"no flow with id {flow_id!r}")
        try:
            result = chain_service.for_flow(uow.session, runtime.extras, flow, top=top, radius_km=radius_km)
        except TurashError as exc:
            raise _fail(str(exc)) from None
    _print_chains(result, output, f"{flow.direction} {flow.resource!r}")


@app.command("potential")
def potential(
    country: Annotated[str | None, typer.Option(help="ISO country code, e.g. DK.")] = None,
    bbox: Annotated[str | None, typer.Option(help="min_lon,min_lat,max_lon,max_lat")] = None,
    radius_km: Annotated[float, typer.Option("--radius-km", min=0.001)] = 50.0,
    declared_only: Annotated[bool, typer.Option("--declared-only", help="Leave inferred flows out.")] = False,
    output: Annotated[PotentialFormat, typer.Option("--format")] = PotentialFormat.table,
    file: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    top: Annotated[int, typer.Option(help="Opportunities shown in the table.")] = 20,
) -> None:
    """Symbiosis potential of a region: totals of matchable heat, materials, water and CO2, and every opportunity
    (route, pipe size or transport, capex, levelised cost, CO2) from declared, register and inferred flows."""
    from turash.potential import service as potential_service

    with _runtime() as runtime, runtime.uow() as uow:
        report = potential_service.potential(
            uow.session,
            runtime.extras,
            potential_service.parse_region(country, bbox),
            radius_km=radius_km,
            include_inferred=not declared_only,
            local=True,
        )
    if output == PotentialFormat.csv:
        text = potential_service.as_csv(report)
        if file:
            file.write_text(text, encoding="utf-8")
            err.print(f"wrote {report['opportunities_count']} opportunities to {file}")
        else:
            sys.stdout.write(text)
        return
    if output == PotentialFormat.json:
        _print_json(report, file)
        if file:
            err.print(f"wrote {report['opportunities_count']} opportunities to {file}")
        return
    t = report["totals"]
    out.print(
        f"[bold]{report['region']}[/]: {report['opportunities_count']:,} opportunities in "
        f"{report['seconds']:.2f} s — heat {t['heat_gwh_per_year']:,.0f} GWh/yr, materials "
        f"{t['materials_t_per_year']:,.0f} t/yr, water {t['water_m3_per_year']:,.0f} m3/yr, CO2 avoidable "
        f"{t['co2_avoidable_t_per_year']:,.0f} t/yr, investment {t['capex_eur'] / 1e6:,.0f} M EUR"
    )
    table = Table(title=f"best {min(top, report['opportunities_count'])}")
    for column in ("score", "supplier", "supply", "receiver", "demand", "amount", "km", "capex", "CO2 t/yr"):
        table.add_column(column, overflow="fold")
    for o in report["opportunities"][:top]:
        _add_row(
            table,
            f"{o['score']:.2f}",
            o["supplier"],
            o["supply"],
            o["receiver"],
            o["demand"],
            ""
            if o["allocated"] is None
            else "alternative"
            if o["alternative"]
            else f"{o['allocated']:,.0f} {o['unit'] or ''}",
            f"{o['distance_km']:.1f}",
            "" if o["capex_eur"] is None else f"{o['capex_eur'] / 1e6:,.1f} M",
            "" if o["co2_avoided_t_per_year"] is None else f"{o['co2_avoided_t_per_year']:,.0f}",
        )
    out.print(table)
    err.print(report["attribution"])


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    html = "html"
    pdf = "pdf"


@app.command("economics")
def economics(
    match_id: Annotated[str, typer.Argument(help="A match id, as `turash match` prints it.")],
    assumption: Annotated[list[str] | None, typer.Option("--set", help="Override an assumption: name=value.")] = None,
    output: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.table,
    file: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to a file (html, pdf: the one-page case; pdf needs it)."),
    ] = None,
) -> None:
    """The business case of a match: NPV, IRR, payback, CO2 avoided, ranges, tornado, price band, risk."""
    from turash.economics import report
    from turash.economics import service as economics_service

    if output == ReportFormat.pdf and file is None:
        raise _fail("--format pdf writes a binary file: give it with --output FILE.pdf")
    with _runtime() as runtime, runtime.uow() as uow:
        data = economics_service.business_case(
            uow.session, runtime.extras, runtime.cache, match_id, economics_service.parse_overrides(assumption)
        )
    if output == ReportFormat.pdf:
        assert file is not None  # checked above
        try:
            file.write_bytes(report.render_pdf(data))
        except OSError as exc:
            raise _fail(f"cannot write {file}: {exc.strerror or exc}") from None
        err.print(f"wrote {file}")
        return
    if output == ReportFormat.html:
        text = report.render_html(data)
        if file:
            file.write_text(text, encoding="utf-8")
            err.print(f"wrote {file}")
        else:
            sys.stdout.write(text)
        return
    if output == ReportFormat.json:
        _print_json(data)
        return
    e, m = data["economics"], data["match"]
    out.print(
        f"[bold]{m['supply']['resource']}[/] ({m['supply']['organization']}) → [bold]{m['demand']['resource']}"
        f"[/] ({m['demand']['organization']}), {m['distance_km']:.1f} km"
    )
    table = Table(show_header=False)
    for label, value in (
        ("NPV", e["npv_eur"]),
        ("NPV P10 / P90", (e["npv_range"]["p10"], e["npv_range"]["p90"])),
        ("IRR", e["irr"]),
        ("payback (years)", e["payback_years"]),
        ("investment (EUR)", e["capex_eur"]),
        ("benefit (EUR/yr)", e["benefit_eur_per_year"]),
        ("CO2e avoided (t/yr)", e["co2_avoided_t_per_year"]),
        ("price band", e["price_band"]),
        *((f"risk: {k}", f"{v['level']}: {'; '.join(v['reasons'])}") for k, v in e["risk"].items()),
    ):
        _add_row(table, label, str(value))
    out.print(table)


@facilitation_app.command("refresh")
def facilitation_refresh() -> None:
    """Open a marketplace case for every stored facilitated match that has none, and send the SLA reminders that
    are due (what a scheduler runs, e.g. hourly)."""
    from turash.facilitation import service as facilitation
    from turash.notifications import handlers

    with _runtime() as runtime:
        handlers.install(runtime)  # the reminders' e-mails are queued; the server's worker (or `deliver`) sends them
        with runtime.uow() as uow:
            opened = facilitation.refresh_queue(uow.session)
            reminded = facilitation.remind_overdue(uow.session, collect=uow.collect)
            uow.commit()
    out.print(f"{opened} cases opened, {reminded} overdue cases reminded", markup=False, highlight=False)


@notifications_app.command("deliver")
def notifications_deliver() -> None:
    """Send pending e-mails, due webhook deliveries (with their retries) and the daily digests that are due: what
    `turash serve`'s worker does every few seconds, for a cron job when no server runs."""
    from turash.notifications import handlers

    with _runtime() as runtime:
        done = handlers.deliver(runtime)
    out.print(
        f"{done['emails']} e-mails sent, {done['webhooks']} webhooks delivered, {done['digests']} digests queued",
        markup=False,
        highlight=False,
    )


@facilitation_app.command("stats")
def facilitation_stats(output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table) -> None:
    """Cases, outcomes and success rates per facilitator and per router rule."""
    from turash.facilitation import service as facilitation

    with _runtime() as runtime, runtime.uow() as uow:
        data = facilitation.stats(uow.session)
    if output == OutputFormat.json:
        _print_json(data)
        return
    columns = ("cases", "open", "claimed", "agreed", "failed", "success_rate", "reminded", "median_hours_to_outcome")
    for title, rows, key in (("facilitator", data["facilitators"], "organization"), ("rule", data["rules"], "rule")):
        table = Table(title=f"by {title}")
        for c in (title, *columns):
            table.add_column(c)
        for r in rows:
            _add_row(table, *(str(r.get(c) if c != title else r[key]) for c in (title, *columns)))
        out.print(table)


# -------------------------------------------------------------------------------------------------------- network
class AnchorMeasure(StrEnum):
    strength = "strength"
    betweenness = "betweenness"


def _network_box(bbox: str | None) -> Any:
    from turash.network import service as network_service

    try:
        return network_service.parse_bbox(bbox, required=False)
    except TurashError as exc:
        raise _fail(exc.message) from None


def _amounts_text(amounts: dict[str, float]) -> str:
    return ", ".join(f"{v:,.0f} {unit}" for unit, v in amounts.items() if v) or "-"


@network_app.command("stats")
def network_stats(output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table) -> None:
    """Nodes and edges by kind, linked organisations, connected groups, totals matched and exchanged."""
    from turash.network import service as network_service

    with _runtime() as runtime, runtime.uow() as uow:
        data = network_service.stats(network_service.network(uow.session, runtime.extras))
    if output == OutputFormat.json:
        _print_json(data)
        return
    table = Table(title="network")
    table.add_column("what")
    table.add_column("count", justify="right")
    for group in ("nodes", "edges"):
        for name, count in data[group].items():
            _add_row(table, f"{group}: {name}", f"{count:,}")
    for name in ("organizations_linked", "organization_links", "connected_groups", "largest_group"):
        _add_row(table, name.replace("_", " "), f"{data[name]:,}")
    out.print(table)
    for kind, totals in data["totals"].items():
        co2 = totals.get("co2_t_per_year", 0.0)
        amounts = {k: v for k, v in totals.items() if k != "co2_t_per_year"}
        out.print(f"{kind}: {_amounts_text(amounts)}; CO2 avoided {co2:,.0f} t/yr", markup=False, highlight=False)


@network_app.command("anchors")
def network_anchors(
    top: Annotated[int, typer.Option(min=1)] = 20,
    by: Annotated[AnchorMeasure, typer.Option(help="Rank by weighted degree or betweenness.")] = AnchorMeasure.strength,
    bbox: Annotated[str | None, typer.Option(help="min_lon,min_lat,max_lon,max_lat")] = None,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Anchor tenants: organisations ranked by weighted degree or betweenness over matches and exchanges."""
    from turash.network import service as network_service

    box = _network_box(bbox)
    with _runtime() as runtime, runtime.uow() as uow:
        net = network_service.network(uow.session, runtime.extras)
        data = network_service.anchors(net, network_service.EVERYTHING, top=top, by=by.value, box=box)
    if output == OutputFormat.json:
        _print_json(data)
        return
    table = Table(title=f"anchor tenants by {by.value}")
    for column in ("rank", "organization", "id", "weighted degree", "betweenness", "partners", "exchanges"):
        table.add_column(column, overflow="fold")
    for a in data["anchors"]:
        _add_row(
            table,
            str(a["rank"]),
            a["organization"]["name"] or "",
            a["organization"]["id"] or "",
            f"{a['weighted_degree']:.2f}",
            f"{a['betweenness']:.4f}",
            str(a["partners"]),
            str(a["exchanges"]),
        )
    out.print(table)


@network_app.command("clusters")
def network_clusters(
    max_km: Annotated[float, typer.Option("--max-km", min=0.001, help="Longest link inside a park, km.")] = 25.0,
    min_size: Annotated[int, typer.Option("--min-size", min=2)] = 3,
    max_members: Annotated[
        int, typer.Option("--max-members", min=2, help="A larger group is divided into Louvain communities.")
    ] = 40,
    bbox: Annotated[str | None, typer.Option(help="min_lon,min_lat,max_lon,max_lat")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Candidate eco-industrial parks: organisations linked by matches and exchanges, close in space."""
    from turash.network import service as network_service

    box = _network_box(bbox)
    with _runtime() as runtime, runtime.uow() as uow:
        net = network_service.network(uow.session, runtime.extras)
        data = network_service.clusters(
            net,
            network_service.EVERYTHING,
            max_km=max_km,
            min_size=min_size,
            max_members=max_members,
            box=box,
            limit=limit,
        )
    if output == OutputFormat.json:
        _print_json(data)
        return
    table = Table(title=f"{data['count']} candidate parks (links up to {max_km:g} km)")
    for column in ("rank", "size", "centroid", "radius km", "links", "exchanges", "exchanged", "members"):
        table.add_column(column, overflow="fold")
    for c in data["clusters"]:
        centre = c["centroid"]
        _add_row(
            table,
            str(c["rank"]),
            str(c["size"]),
            f"{centre['lat']:.4f}, {centre['lon']:.4f}",
            f"{c['radius_km']:.1f}",
            str(c["links"]),
            str(c["exchanges"]),
            _amounts_text(c["exchanged"]),
            ", ".join(m["name"] or "" for m in c["members"][:8]) + (" ..." if c["size"] > 8 else ""),
        )
    out.print(table)


@network_app.command("resilience")
def network_resilience(
    target: Annotated[str, typer.Argument(help="An organisation id or name, or a flow id.")],
    limit: Annotated[int, typer.Option(min=1, help="Dependents listed.")] = 100,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """What breaks if an organisation or a flow stops: demands losing their only or best supply, suppliers losing
    an outlet, the exchanges, quantities and CO2 affected, and the alternatives left."""
    from turash.network import service as network_service

    with _runtime() as runtime, runtime.uow() as uow:
        net = network_service.network(uow.session, runtime.extras)
        ident = target
        if target not in net.index:
            org = find_organization(uow.session, target)
            if org is None:
                raise _fail(f"no organisation or flow {target!r} (give an id or an organisation's name)", 1)
            ident = org.id
        data = network_service.resilience(net, network_service.EVERYTHING, ident, limit=limit)
    if output == OutputFormat.json:
        _print_json(data)
        return
    s = data["summary"]
    out.print(
        f"[bold]{escape(data['target']['label'])}[/] stops: {s['exchanges_lost']} exchanges and "
        f"{s['matches_lost']} matches lost; {s['dependents']} counterparts in {s['organizations_affected']} "
        f"organisations ({s['no_alternative']} with no alternative, {s['best_lost']} losing their best); "
        f"exchanged {escape(_amounts_text(s['exchanged']))}; CO2 {s['co2_t_per_year_exchanges']:,.0f} t/yr"
    )
    table = Table()
    for column in ("status", "loses", "organization", "flow", "lost", "best alternative"):
        table.add_column(column, overflow="fold")
    for d in data["dependents"]:
        alt = d["alternatives"][0] if d["alternatives"] else None
        _add_row(
            table,
            d["status"],
            d["loses"],
            d["organization"]["name"] or "",
            d.get("resource") or "",
            ", ".join(f"{link['kind']} {link['score']:.2f}" for link in d["lost"]),
            "" if alt is None else f"{alt['with']['organization']['name']} ({alt['kind']} {alt['score']:.2f})",
        )
    out.print(table)
# --------------------------------------------------------------------------------------------------------- search
@app.command("search")
def search(
    text: Annotated[str | None, typer.Argument(help="Search text; typos and synonyms are tolerated.")] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="organization, site, flow or service (repeatable).")
    ] = None,
    near: Annotated[str | None, typer.Option("--near", help="A point: lat,lon.")] = None,
    radius_km: Annotated[float | None, typer.Option("--radius-km", help="Only results this close to --near.")] = None,
    direction: Annotated[str | None, typer.Option(help="supply or demand (flows only).")] = None,
    country: Annotated[str | None, typer.Option(help="ISO country code.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    reindex: Annotated[bool, typer.Option("--reindex", help="Rebuild the search index from the data first.")] = False,
) -> None:
    """Search organisations, sites, flows and services (all of them: the CLI acts as the system)."""
    from dataclasses import asdict

    from turash.search import service as search_service

    lat = lon = None
    if near is not None:
        try:
            lat_text, lon_text = near.split(",")
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            raise _fail(f"--near must be lat,lon (e.g. 55.68,12.57), not {near!r}") from None
    if radius_km is not None and near is None:
        raise _fail("--radius-km needs --near lat,lon")
    with _runtime() as runtime, runtime.uow() as uow:
        if reindex:
            count = search_service.reindex(uow.session)
            uow.commit()
            err.print(f"search index rebuilt: {count} documents")
            if text is None and not kind and near is None and direction is None and country is None:
                return
        query = search_service.SearchQuery(
            q=text,
            kinds=tuple(k for value in kind or () for k in value.split(",") if k),
            lat=lat,
            lon=lon,
            radius_km=radius_km,
            direction=direction,
            country=country,
            limit=limit,
        )
        result = search_service.search(uow.session, None, query)
    if output == OutputFormat.json:
        _print_json(
            {
                "items": [asdict(h) for h in result.items],
                "total": result.total,
                "facets": result.facets,
                "classes": result.classes,
            }
        )
        return
    table = Table(title=f"{result.total} results" + (f" for {text!r}" if text else ""))
    for column in ("kind", "title", "organization", "score", "km", "id"):
        table.add_column(column)
    for h in result.items:
        _add_row(
            table,
            h.kind,
            h.title,
            h.organization or "",
            f"{h.score:.3g}",
            "" if h.distance_km is None else f"{h.distance_km:.1f}",
            h.id,
        )
    out.print(table)


# --------------------------------------------------------------------------------------------------------- report
class KpiOutput(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"
    pdf = "pdf"


def _write_report(
    scope: Any, output: KpiOutput, file: Path | None, since: datetime | None, until: datetime | None
) -> None:
    from turash.analytics import report as analytics_report
    from turash.analytics import service as analytics

    with _runtime() as runtime, runtime.uow() as uow:
        first, last = (since.date() if since else None), (until.date() if until else None)
        kpis = analytics.kpis(uow.session, scope, analytics.SYSTEM)
        series = analytics.timeseries(uow.session, scope, analytics.SYSTEM, first, last)
    if output in (KpiOutput.xlsx, KpiOutput.pdf) and file is None:
        raise _fail(f"--format {output.value} writes a file: give --out FILE")
    if output == KpiOutput.json:
        _print_json({"kpis": kpis, "timeseries": series}, file)
    elif output == KpiOutput.csv:
        text = analytics_report.kpis_csv(kpis)
        if file:
            file.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    elif output in (KpiOutput.xlsx, KpiOutput.pdf):
        assert file is not None
        body = analytics_report.xlsx(kpis, series) if output == KpiOutput.xlsx else analytics_report.pdf(kpis, series)
        file.write_bytes(body)
    else:
        table = Table(title=f"{kpis['label']} ({kpis['scope']})")
        table.add_column("metric")
        table.add_column("value", justify="right")
        table.add_column("unit")
        for metric, value, unit in analytics.kpi_rows(kpis):
            number = isinstance(value, int | float) and not isinstance(value, bool)
            shown = "" if value is None else f"{value:,}" if number else str(value)
            _add_row(table, metric, shown, unit)
        out.print(table)
        if kpis["attribution"]:
            err.print(kpis["attribution"])
    if file:
        err.print(f"wrote the {kpis['label']} report to {file}")


Out = Annotated[Path | None, typer.Option("--out", "--output", "-o", help="File (needed for xlsx and pdf).")]
SinceOpt = Annotated[datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="First month of the series.")]
UntilOpt = Annotated[datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Last month of the series.")]


@report_app.command("region")
def report_region(
    country: Annotated[str | None, typer.Option(help="ISO country code or name, e.g. DK.")] = None,
    bbox: Annotated[str | None, typer.Option(help="min_lon,min_lat,max_lon,max_lat")] = None,
    name: Annotated[str | None, typer.Option(help="The region's name in the report, e.g. a municipality.")] = None,
    output: Annotated[KpiOutput, typer.Option("--format")] = KpiOutput.table,
    file: Out = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """KPIs of a region (flows, matches, proposals and conversion, GWh and t exchanged, CO2e avoided, NPV) and
    its months, as a table, JSON, CSV, XLSX or the printable PDF report. Run by an operator: nothing is withheld."""
    from turash.analytics import service as analytics

    try:
        scope = analytics.region_scope(country, bbox, name)
    except TurashError as exc:
        raise _fail(exc.message) from None
    _write_report(scope, output, file, since, until)


@report_app.command("organization")
def report_organization(
    organization: Annotated[str, typer.Argument(help="The organisation's name or id.")],
    output: Annotated[KpiOutput, typer.Option("--format")] = KpiOutput.table,
    file: Out = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """KPIs of one organisation (a facilitator's: the cases and proposals it carries)."""
    from turash.analytics import service as analytics
    from turash.models import Organization

    with _runtime() as runtime, runtime.uow() as uow:
        org = uow.session.get(Organization, organization) or find_organization(uow.session, organization)
        if org is None:
            raise _fail(f"no organisation named {organization!r}")
        scope = analytics.facilitator_scope(org) if org.kind == "facilitator" else analytics.organization_scope(org)
    _write_report(scope, output, file, since, until)


def find_organization(session: Any, name: str) -> Any:
    from turash.organizations.repository import find_by_name

    return find_by_name(session, name)


# --------------------------------------------------------------------------------------------------------- config
@app.command("config")
def config_table() -> None:
    """Print the settings as a Markdown table (the README's configuration reference)."""
    out.print("| variable | default | meaning |\n|---|---|---|", markup=False, highlight=False)
    for name, info in Settings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        shown = "unset" if default in (None, "", []) else f"`{default}`"
        out.print(f"| `TURASH_{name.upper()}` | {shown} | {info.description or ''} |", markup=False, highlight=False)


def main() -> None:
    from pydantic import ValidationError

    from turash.config import ConfigurationError, settings_problems

    try:
        app()
    except Exception as exc:
        if isinstance(exc, ConfigurationError) or (isinstance(exc, ValidationError) and exc.title == "Settings"):
            problem = settings_problems(exc) if isinstance(exc, ValidationError) else str(exc)
            err.print(f"[bold red]configuration error:[/] {problem}", highlight=False)
            raise SystemExit(2) from None
        # Anything else is a bug, not bad input: say so plainly; TURASH_DEBUG=1 shows the traceback.
        if os.environ.get("TURASH_DEBUG"):
            raise
        err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}")
        err.print("This is a bug in Turash. Run again with TURASH_DEBUG=1 to see the traceback, and report it.")
        raise SystemExit(3) from None


if __name__ == "__main__":
    main()
