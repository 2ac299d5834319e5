"""The `triage` command: serve, demo, train, index, eval, models, retrain, finetune.

Options that take several columns accept them after one flag (``--text "Short description"
Description``) or repeated (``--text A --text B``).
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from embeddings import UnknownComponentError, get_encoder
from serving.request_context import LOG_FORMAT, install_request_id_logging
from serving.settings import Settings, SettingsError, load_settings

app = typer.Typer(
    name="triage",
    help="Ticket triage: route, summarise and enrich service-desk tickets (Chinese and English).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML settings file (TRIAGE_* variables override it).")
]
TextOpt = Annotated[
    list[str],
    typer.Option(
        "--text", help="Text column(s), joined with a newline: --text Title Body (or repeat --text)."
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(help="Folder with the database, index snapshots and model registry (default ./var)."),
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        help="SQLite file or postgresql://user:password@host/db (default <data-dir>/knowledge.db; TRIAGE_DATABASE)."
    ),
]
# How often a thread holding the GIL is asked to hand it over (CPython's default: 5 ms); see _serve.
MULTI = {"allow_extra_args": True, "ignore_unknown_options": False}


class CliError(Exception):
    """Shown to the user as 'error: ...' with exit code 2, never as a traceback."""


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code=2)


@contextmanager
def _friendly_errors() -> Iterator[None]:
    from knowledge.db import OperationalError, SchemaVersionError, redact_url
    from serving.keys import KeyRequestError, UnknownKey
    from training.errors import DataError
    from triage.bundle import BundleError
    from triage.registry import RegistryError
    from triage.rules import RuleError

    try:
        yield
    except (
        CliError,
        SettingsError,
        DataError,
        BundleError,
        UnknownComponentError,
        RegistryError,
        RuleError,
        KeyRequestError,
        SchemaVersionError,
    ) as exc:
        _fail(str(exc))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        _fail(f"cannot use the database: {redact_url(reason)}; check the database setting (TRIAGE_DATABASE)")
    except UnknownKey as exc:
        _fail(f"{exc}; 'triage keys list' shows the keys")
    except KeyboardInterrupt:
        _fail("interrupted")


@contextmanager
def _ray_errors() -> Iterator[None]:
    from serving.ray_support import DataSourceError, RayUnavailable

    try:
        yield
    except (RayUnavailable, DataSourceError) as exc:
        raise CliError(str(exc)) from exc


def _settings(config: Path | None, **overrides: Any) -> Settings:
    settings = load_settings(config, **overrides)
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    install_request_id_logging()
    return settings


def _columns(ctx: typer.Context, given: list[str], flag: str = "--text") -> list[str]:
    """The columns after ``--text``: its own value(s) plus the extra words that followed it."""
    extra = [a for a in ctx.args if not a.startswith("-")]
    unknown = [a for a in ctx.args if a.startswith("-")]
    if unknown:
        raise CliError(f"unknown option(s) {' '.join(unknown)}; see --help")
    columns = [*given, *extra]
    if not columns:
        raise CliError(f"give at least one text column with {flag} COLUMN [COLUMN ...]")
    return columns


def _encode(encoder: Any, texts: list[str], batch: int = 256) -> Any:
    """Encode texts in batches behind a progress bar (the longest step of training and indexing)."""
    import numpy as np
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    encoder.load()
    parts = []
    columns = (TextColumn("encoding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("encoding", total=len(texts))
        for start in range(0, len(texts), batch):
            parts.append(encoder.encode(texts[start : start + batch]))
            progress.advance(task, min(batch, len(texts) - start))
    return np.vstack(parts) if parts else np.zeros((0, encoder.dim), dtype=np.float32)


def _progress() -> Callable[[str], None]:
    def say(message: str) -> None:
        console.print(f"[cyan]·[/] {message}")

    return say


def _without_pii(settings: Settings, table: Any, say: Callable[[str], None]) -> Any:
    """With redact_pii on, the training texts redacted as stored cases are (a bundle keeps its vocabulary)."""
    if not settings.redact_pii:
        return table
    from dataclasses import replace

    from triage.fields import FieldExtractor
    from triage.pii import PiiRedactor

    say(f"redacting personal data in {len(table)} training texts (redact_pii is on)")
    redactor = PiiRedactor(FieldExtractor())
    return replace(table, texts=[redactor.text(t) for t in table.texts])


def _audit(settings: Settings, tenant: str, action: str, target: str, **summary: Any) -> None:
    """Append a change made from the command line to the audit trail (no key: the client is "cli")."""
    from knowledge.audit import AuditEvent, AuditLog

    log = AuditLog(settings.database_target)
    try:
        log.append(
            AuditEvent(
                tenant=tenant,
                action=action,
                target=target,
                before=summary.get("before"),
                after=summary.get("after"),
                client="cli",
            )
        )
    finally:
        log.close()


@app.command()
def serve(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default 8000).")] = None,
    model: Annotated[Path | None, typer.Option(help="Model bundle directory to serve.")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder with the database and index snapshots.")
    ] = None,
    database: DatabaseOpt = None,
    on_ray: Annotated[
        bool, typer.Option("--ray", help="Serve N replicas on Ray Serve behind Ray's HTTP proxy.")
    ] = False,
    replicas: Annotated[int, typer.Option(min=1, help="Replicas with --ray.")] = 2,
    replica_cpus: Annotated[float, typer.Option(min=0.1, help="CPUs Ray reserves per replica.")] = 1.0,
    ray_address: Annotated[
        str | None,
        typer.Option(help="With --ray: a Ray cluster ('auto' or HOST:PORT); default a local instance."),
    ] = None,
    workers: Annotated[
        str | None,
        typer.Option(
            help="Server processes, each with its own models (a number or 'auto' = one per core; "
            "default 1, setting 'workers'). Python serves about one core's worth of tickets per process."
        ),
    ] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) and the web console at / ."""
    with _friendly_errors(), _ray_errors():
        overrides: dict[str, Any] = {
            "host": host,
            "port": port,
            "model_dir": model,
            "data_dir": data_dir,
            "database": database,
            "workers": workers,
        }
        settings = _settings(config, **overrides)
        if not on_ray:
            _serve(settings, config, overrides)
            return
        from serving import ray_serve
        from serving.ray_support import ray_session

        _check_serving(settings)
        with ray_session(ray_address):
            console.print(
                f"serving {replicas} replicas on Ray Serve at http://{settings.host}:{settings.port} "
                "(Ctrl-C stops)"
            )
            ray_serve.run(settings, replicas, replica_cpus)


def _check_serving(settings: Settings) -> None:
    """Fail with what to do when serving would expose the API without keys or there is no model."""
    from serving.auth import exposure_problem
    from serving.keys import KeyStore

    keys = KeyStore(settings.database_target)
    try:
        problem = exposure_problem(settings.host, keys)
    finally:
        keys.close()
    if problem:
        raise CliError(problem)
    _require_model(settings)


def _require_model(settings: Settings) -> None:
    """Fail with what to do when there is no model to serve."""
    from triage.bundle import MANIFEST
    from triage.registry import ModelRegistry

    if settings.model_dir is not None:
        if not (settings.model_dir / MANIFEST).exists():
            raise CliError(
                f"no model bundle at {settings.model_dir}: pass the directory 'triage train --out' wrote"
            )
    elif ModelRegistry(settings.models_dir, settings.database_target).state("default").active is None:
        raise CliError(
            f"no active model under {settings.models_dir}: run 'triage demo' (or 'make demo'), or pass --model DIR"
        )


def _serve(settings: Settings, config: Path | None = None, overrides: dict[str, Any] | None = None) -> None:
    """Serve in this process, or with ``workers`` > 1 under uvicorn's supervisor; ``config`` and
    ``overrides`` (the command line's flags) are what each worker process loads its settings from."""
    # No automatic garbage collection while the server imports and loads: those objects live as long
    # as the process, and the collector kept walking them (714 collections during a start). The app's
    # start-up collects once, freezes what it loaded and turns the collector back on (create_app's
    # ``freeze_gc``). CPU to ready 4.11 -> 3.97 s (medians of 3 alternating starts, shared machine).
    gc.disable()
    import uvicorn

    from serving.app import create_app

    _check_serving(settings)
    if settings.rules_enabled and settings.rules_file:
        from triage.rules import RuleEngine

        RuleEngine.from_yaml(settings.rules_file).load()  # a bad rule file fails here, with its message
    if settings.worker_count > 1:
        _serve_workers(settings, config, overrides or {})
        return
    settings = settings.served()  # encoder_process 'auto' on: one process, and a second core to encode on
    console.print(f"serving on http://{settings.host}:{settings.port}  (console at /, API docs at /docs)")
    # The event loop (admission, 503s, /healthz) shares the GIL with the inference threads. At
    # CPython's default 5 ms switch interval a loop waiting behind 4 busy threads was late by 48-62 ms
    # at the median and 365-466 ms at p99; at 0.5 ms by 3-7 ms and 73-111 ms, the threads doing no
    # less work (python -m eval.loop_latency on the shared 2-core machine; BENCHMARKS.md "Reliability").
    # The setting gil_switch_interval_ms (default 0.5) sets it.
    sys.setswitchinterval(settings.gil_switch_interval_ms / 1000)
    uvicorn.run(
        create_app(settings, freeze_gc=True), host=settings.host, port=settings.port, log_level="warning"
    )


def _serve_workers(settings: Settings, config: Path | None, overrides: dict[str, Any]) -> None:
    """N worker processes under uvicorn's supervisor, sharing one run folder (``serving.workers``)."""
    import uvicorn

    from serving.workers import multiprocess_environment

    count = settings.worker_count
    with multiprocess_environment(config, overrides | {"workers": count}) as run:
        console.print(
            f"serving on http://{settings.host}:{settings.port} with {count} worker processes "
            f"(console at /, API docs at /docs; run folder {run.path})"
        )
        uvicorn.run(
            "serving.workers:worker_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=count,
            log_level="warning",
            # A worker answers the supervisor's ping from a thread of its own; on a busy or shared
            # machine (loading models, inference holding the GIL) allow it more than the 5 s default
            # before it is taken for hung and replaced.
            timeout_worker_healthcheck=30,
        )


@app.command()
def demo(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where the demo is built (default ./var).")] = None,
    tickets: Annotated[int, typer.Option(min=200, help="Sample tickets to generate.")] = 3600,
    force: Annotated[bool, typer.Option(help="Rebuild everything even if it exists.")] = False,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve when built.")] = True,
) -> None:
    """Build the embedded demo (sample data, model, indexed cases) and serve it.

    Reuses whatever is already built, so a second run starts serving in seconds.
    """
    from training.demo import build_demo

    with _friendly_errors():
        settings = _settings(config, host=host, port=port, data_dir=data_dir)
        # The encoder that builds the demo is let go before serving: the server loads its own (in its
        # encoder process by default), and this one would stay loaded beside it.
        paths = build_demo(
            settings.data_dir,
            get_encoder(settings.encoder),
            n_tickets=tickets,
            force=force,
            progress=_progress(),
        )
        console.print(f"[green]demo ready[/] in {paths.data_dir}")
        secret, created = _demo_key(settings)
        out.print(
            f"demo admin API key (tenant 'default', every scope; {'new' if created else 'kept from last time'}, "
            f"also in {_demo_key_file(settings)}):\n  {secret}",
            soft_wrap=True,
        )
        out.print("the console at / on this machine gets its own session key: nothing to paste")
        if serve_after:
            _serve(settings, config, {"host": host, "port": port, "data_dir": data_dir})


def _demo_key_file(settings: Settings) -> Path:
    return settings.data_dir / "demo-admin.key"


def _demo_key(settings: Settings) -> tuple[str, bool]:
    """The demo's admin key: the one saved by an earlier run while it still works, else a new one."""
    import os

    from serving.keys import ALL_SCOPES, KeyStore

    path = _demo_key_file(settings)
    keys = KeyStore(settings.database_target)
    try:
        if path.exists():
            saved = path.read_text(encoding="utf-8").strip()
            if keys.verify(saved) is not None:
                return saved, False
        secret = keys.create("default", ALL_SCOPES, name="demo admin").secret
    finally:
        keys.close()
    # Only this user may read it: it is an admin key of the demo tenant.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    return secret, True


@app.command(context_settings=MULTI)
def train(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option(help="CSV, JSONL or Parquet file of labelled tickets.")],
    text: TextOpt,
    label: Annotated[str, typer.Option(help="Column with the department (routing target).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the model bundle to.")],
    category: Annotated[str | None, typer.Option(help="Column with the category.")] = None,
    priority: Annotated[str | None, typer.Option(help="Column with the priority.")] = None,
    id_column: Annotated[str | None, typer.Option("--id", help="Column with ticket ids.")] = None,
    created: Annotated[
        str | None, typer.Option(help="Column with created times (for handling time).")
    ] = None,
    resolved: Annotated[
        str | None, typer.Option(help="Column with resolved times (for handling time).")
    ] = None,
    rare: Annotated[
        str,
        typer.Option(
            help="Labels with < 5 examples: error (stop), other (fold into 'other'), drop (drop rows)."
        ),
    ] = "error",
    dedupe: Annotated[
        bool,
        typer.Option(
            "--dedupe",
            help="Drop rows repeating an earlier row's text and label (only for exports that duplicate "
            "rows by mistake: repeated tickets are real traffic and calibration needs them).",
        ),
    ] = False,
    target_precision: Annotated[
        float, typer.Option(min=0.5, max=0.999, help="Precision the abstention thresholds aim for.")
    ] = 0.90,
    register: Annotated[
        str | None,
        typer.Option(
            help="Also add the bundle to this tenant's registry (its first version becomes active)."
        ),
    ] = None,
    channel_encoder: Annotated[
        list[str] | None,
        typer.Option(
            "--channel-encoder",
            help="A further encoder the router's semantic channel may read instead of the service "
            "encoder (repeatable), e.g. onnx:models/minilm-int8: chosen only when it wins out of fold "
            "by more than its standard error; an ONNX one is copied into the bundle. Costs one more "
            "encoding per ticket (the manifest's semantic_channel says how many ms).",
        ),
    ] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Train a model bundle from your own ticket history, with your own column names.

    Example: triage train --data tickets.csv --text "Short description" Description --label group --out models/v1
    """
    from training.data import load_table
    from training.train import train_bundle

    with _friendly_errors():
        settings = _settings(config, data_dir=data_dir)
        columns = _columns(ctx, text)
        say = _progress()
        table = load_table(
            data,
            columns,
            {"department": label, "category": category, "priority": priority},
            id_column=id_column,
            created_column=created,
            resolved_column=resolved,
            rare=rare,
            dedupe=dedupe,
            trainable=True,
        )
        for note in table.notes:
            say(note)
        say(
            f"{len(table)} tickets: "
            + ", ".join(f"{len(set(values))} {head} labels" for head, values in table.labels.items())
        )
        table = _without_pii(settings, table, say)
        encoder = get_encoder(settings.encoder)
        channels = [get_encoder(spec) for spec in channel_encoder or ()]
        for channel in channels:
            channel.load()  # a missing model directory stops here, before any training
        vectors = _encode(encoder, table.texts)
        channel_vectors = {channel.name: _encode(channel, table.texts) for channel in channels}
        bundle = train_bundle(
            table,
            encoder,
            target_precision=target_precision,
            progress=say,
            vectors=vectors,
            channels=channels,
            channel_vectors=channel_vectors,
        )
        bundle.save(out_dir)
        _print_metrics(bundle.manifest["metrics"], "cross-validated on the training data")
        out.print(f"model bundle {bundle.version} written to {out_dir}")
        if register:
            _register(settings, register, bundle.version, out_dir)


def _register(settings: Settings, tenant: str, version: str, bundle_dir: Path) -> None:
    """Copy a bundle into the tenant's registry (versions there are immutable) and record it."""
    import shutil

    from triage.registry import ModelRegistry

    registry = ModelRegistry(settings.models_dir, settings.database_target)
    target = registry.path(tenant, version)
    if target.exists():
        raise CliError(f"version {version!r} already exists for tenant {tenant!r}; versions are immutable")
    if bundle_dir.resolve() != target.resolve():
        shutil.copytree(bundle_dir, target)
    before = registry.state(tenant).active
    state = registry.register(tenant, version)
    _audit(
        settings,
        tenant,
        "model.register",
        f"model:{version}",
        before={"active": before},
        after={"active": state.active, "registered": version},
    )
    note = (
        "active" if state.active == version else f"registered; promote with 'triage models promote {version}'"
    )
    out.print(f"tenant {tenant!r}: {version} {note}")


def _print_metrics(metrics: dict[str, Any], title: str) -> None:
    table = Table(title=title)
    keys = ("accuracy", "macro_f1", "weighted_f1", "ece", "coverage_at_90", "coverage_at_95")
    table.add_column("head")
    for key in keys:
        table.add_column(key, justify="right")
    for head, m in metrics.items():
        table.add_row(head, *(f"{m[k]:.3f}" for k in keys))
    out.print(table)


@app.command(context_settings=MULTI)
def eval(  # the command is called eval
    ctx: typer.Context,
    model: Annotated[Path, typer.Option(help="Model bundle directory.")],
    data: Annotated[Path, typer.Option(help="CSV, JSONL or Parquet file of labelled tickets.")],
    text: TextOpt,
    label: Annotated[str, typer.Option(help="Column with the true department.")],
    category: Annotated[str | None, typer.Option(help="Column with the true category.")] = None,
    priority: Annotated[str | None, typer.Option(help="Column with the true priority.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the metrics as JSON here.")] = None,
    report: Annotated[Path | None, typer.Option(help="Write an HTML report with plots here.")] = None,
    rules_file: Annotated[
        Path | None,
        typer.Option("--rules", help="Business rules to apply (default: the server's, from settings)."),
    ] = None,
    no_rules: Annotated[bool, typer.Option("--no-rules", help="Evaluate the model alone.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Evaluate a model bundle: accuracy, macro/weighted F1, ECE, coverage at 90/95 % precision.

    The business rules are applied as the server applies them, and both are reported: the model
    alone and model + rules.
    """
    from eval.classification import evaluate_bundle, public, write_html, write_json
    from training.data import load_table
    from triage.bundle import ModelBundle
    from triage.rules import RuleEngine

    with _friendly_errors():
        settings = _settings(config)
        columns = _columns(ctx, text)
        rules = None
        if not no_rules and (rules_file is not None or settings.rules_enabled):
            path = rules_file or settings.rules_file
            rules = RuleEngine.from_yaml(path) if path else RuleEngine.default()
            rules.load()  # a bad rule file fails before the data is encoded
        bundle = ModelBundle.load(model)
        table = load_table(
            data,
            columns,
            {"department": label, "category": category, "priority": priority},
            rare="other",
            min_examples=1,
        )
        # Every labelled row is scored, repeats included: they are real traffic.
        for note in table.notes:
            out.print(f"· {note}")
        encoder = get_encoder(bundle.encoder)
        result = evaluate_bundle(bundle, table, encoder, vectors=_encode(encoder, table.texts), rules=rules)
        summary = public(result)
        _print_metrics(
            summary["heads"], f"{model} alone on {data} ({len(table)} tickets, every labelled row scored)"
        )
        if "rules" in summary:
            ruled = summary["rules"]
            _print_metrics(ruled["heads"], f"model + rules ({ruled['source']})")
            changed = ", ".join(f"{head} {n}" for head, n in ruled["changed"].items())
            out.print(f"predictions the rules changed: {changed}")
        if json_out:
            write_json(result, json_out)
            out.print(f"metrics written to {json_out}")
        if report:
            write_html(result, report)
            out.print(f"report written to {report}")


@app.command(context_settings=MULTI)
def index(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option(help="CSV, JSONL or Parquet file of solved cases.")],
    text: TextOpt,
    resolution: Annotated[str, typer.Option(help="Column with the resolution text.")],
    id_column: Annotated[
        str | None, typer.Option("--id", help="Column with case ids (default: row number).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Column with the title (shown in results).")] = None,
    department: Annotated[str | None, typer.Option(help="Column with the department.")] = None,
    tenant: Annotated[str, typer.Option(help="Tenant the cases belong to.")] = "default",
    batch: Annotated[int, typer.Option(min=1, help="Cases embedded per batch.")] = 256,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Store solved cases in the database and index them for similar-case search."""
    from rich.progress import Progress

    from serving.app import build_service
    from serving.backfill import BadRow, CaseColumns
    from training.data import read_frame

    with _friendly_errors():
        settings = _settings(config, data_dir=data_dir)
        spec = CaseColumns(tuple(_columns(ctx, text)), resolution, id_column, title, department, tenant)
        frame = read_frame(data)
        missing = spec.missing(list(frame.columns))
        if missing:
            raise CliError(
                f"column(s) {missing} not found; columns are: {', '.join(map(str, frame.columns))}"
            )
        # The same store, encoders, weights and PII redaction as the server, so every channel is
        # filled now and nothing reaches the database that the server would not store.
        service = build_service(settings)
        knowledge = service.knowledge
        knowledge.load()
        docs, bad = [], 0
        for i, row in enumerate(frame.to_dict("records")):
            try:
                doc = spec.document(row, fallback_id=None if id_column else str(i))
            except BadRow:
                bad += 1
                continue
            if doc is not None:
                docs.append(doc)
        if bad:
            console.print(f"skipped {bad} rows without an id or with a cell that is not text")
        with Progress(console=console) as progress:
            task = progress.add_task("indexing", total=len(docs))
            for start in range(0, len(docs), batch):
                chunk = docs[start : start + batch]
                service.add_documents(chunk)
                progress.advance(task, len(chunk))
        knowledge.flush()
        # One row for the import (a CLI backfill can hold millions of cases), not one per case.
        _audit(
            settings,
            tenant,
            "case.import",
            "cases",
            after={"count": len(docs), "redacted": settings.redact_pii},
        )
        out.print(f"indexed {len(docs)} cases for tenant {tenant!r} ({knowledge.size(tenant)} in the index)")


RayOpt = Annotated[
    str | None,
    typer.Option(
        "--ray",
        help="Ray cluster: 'auto' or HOST:PORT (default: a local Ray instance on this machine's cores).",
    ),
]
WorkersOpt = Annotated[
    int | None, typer.Option(min=1, help="Model workers (Ray actors; default: one per two CPUs).")
]


@contextmanager
def _ray_progress(what: str) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar with rate and ETA, advanced by (done, total) calls."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(what, total=None)

        def update(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        yield update


@app.command(context_settings=MULTI)
def backfill(
    ctx: typer.Context,
    data: Annotated[
        Path, typer.Option(help="CSV, TSV, JSONL or Parquet file of solved cases, or a folder of parts.")
    ],
    text: TextOpt,
    resolution: Annotated[str, typer.Option(help="Column with the resolution text.")],
    id_column: Annotated[
        str | None,
        typer.Option("--id", help="Column with case ids (default: a hash of the text and resolution)."),
    ] = None,
    title: Annotated[str | None, typer.Option(help="Column with the title (shown in results).")] = None,
    department: Annotated[str | None, typer.Option(help="Column with the department.")] = None,
    tenant: Annotated[str, typer.Option(help="Tenant the cases belong to.")] = "default",
    ray_address: RayOpt = None,
    workers: WorkersOpt = None,
    batch: Annotated[int, typer.Option(min=1, max=4096, help="Cases embedded and stored per batch.")] = 256,
    fields: Annotated[
        bool, typer.Option("--fields/--no-fields", help="Store each case's key fields in its metadata.")
    ] = True,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Store and index a large case history on Ray (resumable: run it again to finish or to check).

    Rows with empty text, a repeated id, no id or a cell that is not text are skipped and counted;
    ids already stored (an earlier, perhaps interrupted, run) are skipped before anything is embedded.
    """
    from serving.backfill import CaseColumns, run_backfill
    from serving.ray_support import data_files, ray_session

    with _friendly_errors(), _ray_errors():
        settings = _settings(config, data_dir=data_dir)
        spec = CaseColumns(tuple(_columns(ctx, text)), resolution, id_column, title, department, tenant)
        data_files(data)  # a missing or unreadable input fails before Ray starts
        with ray_session(ray_address), _ray_progress("backfill") as progress:
            summary = run_backfill(
                settings, data, spec, workers=workers, batch_size=batch, fields=fields, progress=progress
            )
        out.print(summary.line())


@app.command("triage-file", context_settings=MULTI)
def triage_file(
    ctx: typer.Context,
    source: Annotated[
        Path, typer.Option("--in", help="CSV, TSV, JSONL or Parquet file of tickets, or a folder of parts.")
    ],
    target: Annotated[Path, typer.Option("--out", help="Results file: .jsonl or .parquet.")],
    text: Annotated[
        list[str] | None,
        typer.Option("--text", help="Text column(s) joined into the body (default: body)."),
    ] = None,
    title: Annotated[str, typer.Option(help="Column with the title, if present.")] = "title",
    id_column: Annotated[str, typer.Option("--id", help="Column with ticket ids, if present.")] = "id",
    ray_address: RayOpt = None,
    workers: WorkersOpt = None,
    batch: Annotated[int, typer.Option(min=1, max=256, help="Tickets per triage call.")] = 64,
    local: Annotated[
        bool, typer.Option("--local", help="Run in this process without Ray (small files).")
    ] = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Triage every ticket of a file (routing, fields, summary, similar cases) on Ray, in input order.

    Columns named like the API's ticket fields (created_at, channel, requester, language, tenant)
    are used; a row the API would refuse gets an 'error' naming the field instead of a result.
    """
    from serving.batch_triage import TicketColumns, output_format, run_triage_file, run_triage_file_local
    from serving.ray_support import data_files, ray_session

    with _friendly_errors(), _ray_errors():
        settings = _settings(config, data_dir=data_dir)
        output_format(target)
        data_files(source)  # a missing or unreadable input fails before Ray starts
        _require_model(settings)
        extra = [a for a in ctx.args if not a.startswith("-")]
        if any(a.startswith("-") for a in ctx.args):
            raise CliError(f"unknown option(s) {' '.join(ctx.args)}; see --help")
        columns = TicketColumns(tuple([*(text or []), *extra] or ["body"]), title, id_column)
        if local:
            with _ray_progress("triage") as progress:
                summary = run_triage_file_local(
                    settings, source, target, columns, batch_size=batch, progress=progress
                )
            out.print(f"{summary.line()}; results in {target}")
            return
        with ray_session(ray_address), _ray_progress("triage") as progress:
            summary = run_triage_file(
                settings, source, target, columns, workers=workers, batch_size=batch, progress=progress
            )
        out.print(f"{summary.line()}; results in {target}")


@app.command(context_settings=MULTI)
def finetune(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option(help="CSV, JSONL or Parquet file of solved cases.")],
    text: TextOpt,
    resolution: Annotated[
        str, typer.Option(help="Column with the text a ticket should find (resolution or answer).")
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory for the fine-tuned sentence-transformers model.")
    ],
    onnx_out: Annotated[
        Path | None, typer.Option(help="Also export it here as an int8 ONNX encoder (serve as onnx:DIR).")
    ] = None,
    base: Annotated[str, typer.Option(help="Model to start from: 'minilm' or a local directory.")] = "minilm",
    epochs: Annotated[int, typer.Option(min=1, max=20)] = 1,
    batch_size: Annotated[
        int, typer.Option(min=2, max=512, help="Pairs per step (in-batch negatives).")
    ] = 32,
    max_steps: Annotated[int, typer.Option(min=0, help="Stop after this many steps (0: no cap).")] = 0,
    seed: int = 0,
) -> None:
    """Fine-tune a search encoder on ticket <-> resolution pairs (optional; needs the train extra).

    Keep it only where it improves retrieval on your data: compare with `python -m eval.finetune_bench`
    (BENCHMARKS.md "Encoder fine-tuning"), then add it with TRIAGE_SEARCH_ENCODERS='["onnx:DIR"]'.
    """
    from training.data import DataError, read_frame
    from training.finetune import ExportError, FinetuneSettings, distinct_pairs, export_onnx
    from training.finetune import finetune as run_finetune
    from triage.features import model_text

    with _friendly_errors():
        columns = _columns(ctx, text)
        frame = read_frame(data)
        missing = [c for c in [*columns, resolution] if c not in frame.columns]
        if missing:
            raise CliError(
                f"column(s) {missing} not found; columns are: {', '.join(map(str, frame.columns))}"
            )
        frame = frame.fillna("")
        pairs = []
        for row in frame.to_dict("records"):
            ticket = model_text("", "\n".join(str(row[c]) for c in columns))
            answer = model_text("", str(row[resolution]))
            if ticket and answer:
                pairs.append((ticket, answer))
        # A repeated ticket or resolution in a batch would be a false negative for the in-batch loss.
        pairs = distinct_pairs(pairs)
        if len(pairs) < 2 * batch_size:
            raise CliError(
                f"{len(pairs)} rows have both text and {resolution!r} (repeats dropped); need at least "
                f"{2 * batch_size} "
                "(or a smaller --batch-size)"
            )
        settings = FinetuneSettings(
            base=base,
            epochs=epochs,
            batch_size=batch_size,
            max_steps=max_steps,
            seed=seed,
            gitbugs_pairs=0,
        )
        logging.getLogger("training.finetune").setLevel(logging.INFO)
        try:
            report = run_finetune({"cases": pairs}, out_dir, settings)
            if onnx_out is not None:
                export_onnx(out_dir, onnx_out)
        except ExportError as exc:
            raise DataError(str(exc)) from exc
        loss = report["loss"]["cases"]
        out.print(
            f"fine-tuned {base} on {len(pairs)} pairs: {report['steps']} steps in {report['seconds']:.0f} s, "
            f"loss {loss['first']} -> {loss['last']}; model in {out_dir}"
        )
        if onnx_out is not None:
            out.print(
                f"int8 ONNX encoder in {onnx_out}; search with it: "
                f"TRIAGE_SEARCH_ENCODERS='[\"onnx:{onnx_out}\"]'",
                soft_wrap=True,
            )


@app.command(context_settings=MULTI)
def retrain(
    ctx: typer.Context,
    data: Annotated[
        Path, typer.Option(help="The ticket history the active model was trained on (or newer).")
    ],
    text: TextOpt,
    label: Annotated[str, typer.Option(help="Column with the department.")],
    category: Annotated[str | None, typer.Option(help="Column with the category.")] = None,
    priority: Annotated[str | None, typer.Option(help="Column with the priority.")] = None,
    id_column: Annotated[
        str | None, typer.Option("--id", help="Column with ticket ids (matched to feedback).")
    ] = None,
    tenant: Annotated[str, typer.Option(help="Tenant whose feedback and registry to use.")] = "default",
    mode: Annotated[
        str, typer.Option(help="Register the new version as a 'shadow' or 'canary' candidate.")
    ] = "shadow",
    rare: Annotated[str, typer.Option(help="Rare labels: error, other or drop.")] = "other",
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Train on history plus agents' corrections (POST /v1/feedback), register as a candidate, report changes."""
    from knowledge.ledger import Ledger
    from serving.audit import model_summary
    from training.data import load_table
    from training.retrain import load_corrections
    from training.retrain import retrain as run_retrain
    from triage.bundle import ModelBundle
    from triage.registry import ModelRegistry

    with _friendly_errors():
        settings = _settings(config, data_dir=data_dir)
        columns = _columns(ctx, text)
        say = _progress()
        registry = ModelRegistry(settings.models_dir, settings.database_target)
        state = registry.state(tenant)
        parent = ModelBundle.load(registry.path(tenant, state.active)) if state.active else None
        table = load_table(
            data,
            columns,
            {"department": label, "category": category, "priority": priority},
            id_column=id_column,
            rare=rare,
            trainable=True,
        )
        table = _without_pii(settings, table, say)  # corrections' texts were redacted when stored
        ledger = Ledger(settings.database_target)
        corrections = load_corrections(ledger, tenant)
        ledger.close()
        say(f"{len(table)} history tickets, {len(corrections.labels)} corrections from agents")
        encoder = get_encoder(parent.encoder if parent else settings.encoder)
        bundle, report = run_retrain(table, corrections, encoder, parent, progress=say)
        bundle.save(registry.path(tenant, bundle.version))
        registry.register(tenant, bundle.version)
        if state.active and state.active != bundle.version:
            registry.set_candidate(tenant, bundle.version, mode=mode)
        _audit(
            settings,
            tenant,
            "model.retrain",
            f"model:{bundle.version}",
            before=model_summary(state),
            after=model_summary(registry.state(tenant))
            | {k: report[k] for k in ("corrections", "relabelled", "appended") if k in report},
        )
        out.print_json(data=report)
        out.print(
            f"tenant {tenant!r}: {bundle.version} registered as {mode} candidate (parent {state.active})"
        )


models_app = typer.Typer(
    help="Model versions per tenant: list, show, promote, rollback, candidate.", no_args_is_help=True
)
app.add_typer(models_app, name="models")
TenantOpt = Annotated[str, typer.Option(help="Tenant whose models to manage.")]


def _registry(config: Path | None, data_dir: Path | None) -> Any:
    from triage.registry import ModelRegistry

    settings = _settings(config, data_dir=data_dir)
    return ModelRegistry(settings.models_dir, settings.database_target)


@models_app.command("list")
def models_list(tenant: TenantOpt = "default", data_dir: DataDirOpt = None, config: ConfigOpt = None) -> None:
    """Every version with its cross-validated metrics; marks the active one and the candidate."""
    with _friendly_errors():
        registry = _registry(config, data_dir)
        state = registry.state(tenant)
        table = Table(title=f"models of tenant {tenant!r}")
        for column in (
            "version",
            "created",
            "parent",
            "n_train",
            "macro_f1",
            "ece",
            "coverage_at_90",
            "status",
        ):
            table.add_column(column)
        for manifest in registry.versions(tenant):
            version = manifest["version"]
            m = manifest.get("metrics", {}).get("department", {})
            status = (
                "active"
                if version == state.active
                else state.candidate_mode
                if version == state.candidate
                else ""
            )
            table.add_row(
                version,
                str(manifest.get("created", "")),
                str(manifest.get("parent") or ""),
                str(manifest.get("n_train", "")),
                *(f"{m[k]:.3f}" if k in m else "" for k in ("macro_f1", "ece", "coverage_at_90")),
                status or "",
            )
        out.print(table)


@models_app.command("show")
def models_show(
    version: str, tenant: TenantOpt = "default", data_dir: DataDirOpt = None, config: ConfigOpt = None
) -> None:
    """Print a version's manifest (data fingerprint, parameters, metrics, thresholds, parent)."""
    import json

    with _friendly_errors():
        out.print_json(json.dumps(_registry(config, data_dir).manifest(tenant, version)))


@models_app.command("promote")
def models_promote(
    version: str,
    tenant: TenantOpt = "default",
    force: Annotated[
        bool,
        typer.Option(
            help="Override metric regressions and changed label sets (recorded); never a missing head."
        ),
    ] = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Make a version active after the quality gate. A running server picks it up on its next request."""
    from triage.registry import GateRefused, ModelRegistry

    with _friendly_errors():
        settings = _settings(config, data_dir=data_dir)
        registry = ModelRegistry(settings.models_dir, settings.database_target)
        before = registry.state(tenant).active
        try:
            state = registry.promote(tenant, version, force=force, by="cli")
        except GateRefused as exc:
            for problem in (*exc.report["incompatible"], *exc.report["differences"]):
                console.print(f"  {escape(problem)}", soft_wrap=True)
            for check in exc.report["checks"]:
                mark = "ok" if check["ok"] else "WORSE"
                console.print(
                    f"  {check['metric']}: {check['candidate']:.3f} vs {check['active']:.3f} [{mark}]"
                )
            raise CliError(str(exc)) from exc
        _audit(
            settings,
            tenant,
            "model.promote",
            f"model:{version}",
            before={"active": before},
            after={"active": state.active, "forced": force},
        )
        out.print(f"tenant {tenant!r}: {state.active} is active")


@models_app.command("rollback")
def models_rollback(
    tenant: TenantOpt = "default", data_dir: DataDirOpt = None, config: ConfigOpt = None
) -> None:
    """Re-activate the version that was active before the current one."""
    from triage.registry import ModelRegistry

    with _friendly_errors():
        settings = _settings(config, data_dir=data_dir)
        registry = ModelRegistry(settings.models_dir, settings.database_target)
        before = registry.state(tenant).active
        state = registry.rollback(tenant, by="cli")
        _audit(
            settings,
            tenant,
            "model.rollback",
            f"model:{state.active}",
            before={"active": before},
            after={"active": state.active},
        )
        out.print(f"tenant {tenant!r}: rolled back, {state.active} is active")


@models_app.command("candidate")
def models_candidate(
    version: Annotated[str, typer.Argument(help="Version to try, or 'none' to stop.")],
    tenant: TenantOpt = "default",
    mode: Annotated[
        str, typer.Option(help="shadow (logged, never returned) or canary (served to a share).")
    ] = "shadow",
    share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Canary share of tickets, sticky per ticket id.")
    ] = 0.1,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Run a version beside the active one, in shadow or as a canary."""
    from serving.audit import model_summary
    from triage.registry import ModelRegistry

    with _friendly_errors():
        settings = _settings(config, data_dir=data_dir)
        registry = ModelRegistry(settings.models_dir, settings.database_target)
        old = registry.state(tenant)
        state = registry.set_candidate(tenant, None if version == "none" else version, mode=mode, share=share)
        _audit(
            settings,
            tenant,
            "model.candidate.clear" if state.candidate is None else "model.candidate.set",
            f"model:{old.candidate if state.candidate is None else state.candidate}",
            before=model_summary(old),
            after=model_summary(state),
        )
        out.print(f"tenant {tenant!r}: candidate {state.candidate} ({state.candidate_mode})")


audit_app = typer.Typer(
    help="The audit trail: list rows (newest first) or verify the hash chain.",
    invoke_without_command=True,
)
app.add_typer(audit_app, name="audit")


@audit_app.callback()
def audit_list(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's rows.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, or a family: 'case.*'.")] = None,
    key: Annotated[str | None, typer.Option(help="Only rows of this API key id.")] = None,
    since: Annotated[str | None, typer.Option(help="From this time (ISO 8601, inclusive).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (ISO 8601, exclusive).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="At most this many rows.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """List audit rows, newest first (``triage audit verify`` checks the chain)."""
    if ctx.invoked_subcommand is not None:
        return
    import json
    from dataclasses import asdict

    from knowledge.audit import AuditLog

    with _friendly_errors():
        moments = {
            name: _cli_time(value, f"--{name}") for name, value in (("since", since), ("until", until))
        }
        log = AuditLog(_settings(config, data_dir=data_dir).database_target)
        try:
            rows = log.entries(tenant, action=action, key_id=key, limit=limit, **moments)
        finally:
            log.close()
        if as_json:
            for row in rows:
                out.print_json(json.dumps(asdict(row), ensure_ascii=False), indent=None)
            return
        table = Table(title="audit trail (newest first)")
        for column in (
            "seq",
            "at",
            "tenant",
            "key",
            "action",
            "target",
            "before -> after",
            "request",
            "client",
        ):
            table.add_column(column)
        for row in rows:
            change = (
                f"{json.dumps(row.before, ensure_ascii=False)} -> {json.dumps(row.after, ensure_ascii=False)}"
            )
            table.add_row(
                str(row.seq),
                row.at,
                row.tenant,
                row.key_id or "-",
                row.action,
                escape(row.target or "-"),
                escape(change),
                row.request_id or "-",
                row.client or "-",
            )
        out.print(table)


def _cli_time(value: str | None, flag: str) -> Any:
    from datetime import datetime

    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise CliError(
            f"{flag} {value!r} is not an ISO 8601 time; write e.g. 2026-12-04 or 2026-12-04T08:00:00+08:00"
        ) from None


@audit_app.command("verify")
def audit_verify(
    expect_head: Annotated[
        str | None,
        typer.Option(help="A head hash printed by an earlier verify: the chain must still contain it."),
    ] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Recompute the hash chain; exit 1 naming the first edited or deleted row, 0 when intact."""
    from knowledge.audit import AuditLog

    with _friendly_errors():
        log = AuditLog(_settings(config, data_dir=data_dir).database_target)
        try:
            result = log.verify(expect_head)
        finally:
            log.close()
    if not result.ok:
        console.print(f"[bold red]audit trail broken:[/] {escape(result.problem or '')}", soft_wrap=True)
        raise typer.Exit(code=1)
    out.print(f"audit trail intact: {result.rows} rows, head {result.head}")


keys_app = typer.Typer(
    help="API keys: create (the secret is printed once), list, revoke.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")


def _key_store(config: Path | None, data_dir: Path | None) -> Any:
    from serving.keys import KeyStore

    return KeyStore(_settings(config, data_dir=data_dir).database_target)


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="Tenant whose data the key reaches.")],
    scopes: Annotated[
        str, typer.Option(help="Comma-separated scopes, e.g. triage,feedback ('*' for every scope).")
    ],
    name: Annotated[str, typer.Option(help="What the key is for (shown in lists and the audit).")] = "",
    expires: Annotated[
        str | None, typer.Option(help="Last day it works (YYYY-MM-DD, UTC), an ISO time, or 90d.")
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create a key and print its secret: the only time it is shown (only a hash is stored)."""
    from serving.audit import key_summary
    from serving.keys import parse_expiry, parse_scopes
    from serving.schemas import TENANT_PATTERN

    with _friendly_errors():
        import re

        if not re.match(TENANT_PATTERN, tenant) or len(tenant) > 100:
            raise CliError(f"tenant {tenant!r} is not valid: use letters, digits, '_', '.' or '-' (max 100)")
        store = _key_store(config, data_dir)
        try:
            created = store.create(
                tenant,
                parse_scopes(scopes),
                name=name,
                expires=parse_expiry(expires) if expires else None,
            )
        finally:
            store.close()
        key = created.key
        _audit(
            _settings(config, data_dir=data_dir),
            key.tenant,
            "key.create",
            f"key:{key.id}",
            after=key_summary(key),
        )
        console.print(
            f"created key {key.id} for tenant {key.tenant!r} with scopes {', '.join(key.scopes)}"
            + (f", expires {key.expires.isoformat()}" if key.expires else "")
            + ". Store the secret now: it is not shown again."
        )
        out.print(created.secret, soft_wrap=True)


@keys_app.command("list")
def keys_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's keys.")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Every key (never a secret): id, status, name, tenant, scopes, created, expires, last used (UTC)."""
    with _friendly_errors():
        store = _key_store(config, data_dir)
        try:
            found = store.list(tenant)
        finally:
            store.close()
        table = Table(title="API keys" + (f" of tenant {tenant!r}" if tenant else ""))
        table.add_column("id", no_wrap=True, min_width=8)
        table.add_column("status", no_wrap=True, min_width=7)
        for column in ("name", "tenant", "scopes", "created", "expires", "last used"):
            table.add_column(column)

        def when(moment: Any) -> str:
            return str(moment.strftime("%Y-%m-%d %H:%M")) if moment else ""

        for k in found:
            table.add_row(
                k.id,
                k.status,
                escape(k.name),
                k.tenant,
                ", ".join(k.scopes),
                when(k.created),
                when(k.expires) or "never",
                when(k.last_used),
            )
        out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from 'triage keys list').")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke a key: every request with it answers 401 from now on (a running server too)."""
    from serving.audit import key_summary

    with _friendly_errors():
        store = _key_store(config, data_dir)
        try:
            key = store.revoke(key_id)
        finally:
            store.close()
        _audit(
            _settings(config, data_dir=data_dir),
            key.tenant,
            "key.revoke",
            f"key:{key.id}",
            after=key_summary(key),
        )
        out.print(f"key {key.id} ({key.prefix}, tenant {key.tenant!r}) revoked at {key.revoked}")


def main() -> None:
    try:
        app()
    except SystemExit:
        raise
    except Exception as exc:  # last resort: a message, not a traceback
        console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()


connectors_app = typer.Typer(
    help="Ticket-system connectors per tenant: add, list, test, remove.", no_args_is_help=True
)
app.add_typer(connectors_app, name="connectors")


def _connector_store(config: Path | None) -> Any:
    from serving.connectors.store import ConnectorStore, load_key

    settings = _settings(config)
    key = settings.connector_key.get_secret_value() if settings.connector_key else None
    return ConnectorStore(settings.database_target, lambda: load_key(key, settings.data_dir))


def _secret_value(text: str, what: str) -> str:
    """A secret given as ``env:NAME`` is read from the environment (keeps it out of shell history)."""
    import os

    if text.startswith("env:"):
        name = text[4:]
        value = os.environ.get(name)
        if not value:
            raise CliError(f"{what}: environment variable {name} is not set")
        return value
    return text


def _pairs(items: list[str], what: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"{what} {item!r} is not KEY=VALUE")
        found[key.strip()] = value
    return found


@connectors_app.command("add")
def connectors_add(
    name: Annotated[str, typer.Option(help="Unique name; the webhook URL is /v1/webhooks/<name>.")],
    system: Annotated[str, typer.Option(help="zendesk, jira, zammad, glpi or generic.")],
    base_url: Annotated[str, typer.Option(help="Their API's base URL, e.g. https://acme.zendesk.com.")],
    signing_secret: Annotated[
        str, typer.Option(help="The webhook signing secret, or env:VAR to read it from the environment.")
    ],
    credential: Annotated[
        list[str] | None,
        typer.Option(
            help="KEY=VALUE (repeat); VALUE may be env:VAR. zendesk/jira: email, api_token; "
            "zammad: api_token; glpi: app_token, user_token."
        ),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="HEAD:OURS=THEIRS (repeat), e.g. department:IT=360001, priority:P1=urgent."
        ),
    ] = None,
    tenant: TenantOpt = "default",
    min_confidence: Annotated[
        float, typer.Option(help="Write fields only at or above this confidence.")
    ] = 0.6,
    tag: Annotated[
        list[str] | None, typer.Option(help="Tags always added (repeat); default: triage.")
    ] = None,
    needs_human_tag: Annotated[str, typer.Option(help="Tag when a head abstains.")] = "triage-needs-human",
    note: Annotated[bool, typer.Option(help="Write an internal note.")] = True,
    case_url: Annotated[
        str | None, typer.Option(help="Similar-case link in the note; {id} is replaced.")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Add a connector (credentials and secret are stored encrypted)."""
    from pydantic import ValidationError

    from serving.connectors.api import REQUIRED_CREDENTIALS, ConnectorIn
    from serving.connectors.store import ConnectorError

    with _friendly_errors():
        credentials = {
            k: _secret_value(v, f"credential {k}")
            for k, v in _pairs(credential or [], "--credential").items()
        }
        mapping: dict[str, dict[str, str]] = {}
        for head_key, value in _pairs(map_ or [], "--map").items():
            head, sep, ours = head_key.partition(":")
            if not sep or head not in ("department", "priority", "category"):
                raise CliError(
                    f"--map {head_key!r}: use department:, priority: or category: before our label"
                )
            mapping.setdefault(head, {})[ours] = value
        policy: dict[str, Any] = {
            "min_confidence": min_confidence,
            "needs_human_tag": needs_human_tag,
            "note": note,
            "case_url": case_url,
        }
        if tag:
            policy["tags"] = tag
        try:
            body = ConnectorIn.model_validate(
                {
                    "name": name,
                    "tenant": tenant,
                    "system": system,
                    "base_url": base_url,
                    "credentials": credentials,
                    "signing_secret": _secret_value(signing_secret, "--signing-secret"),
                    "mapping": mapping,
                    "policy": policy,
                }
            )
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise CliError(f"invalid connector: {problems}") from exc
        missing = [c for c in REQUIRED_CREDENTIALS[body.system] if not body.credentials.get(c)]
        if missing:
            raise CliError(f"{body.system} needs --credential {', '.join(f'{m}=...' for m in missing)}")
        store = _connector_store(config)
        try:
            store.put(body.to_config())
        except ConnectorError as exc:
            raise CliError(str(exc)) from exc
        out.print(f"added {name}: point the {system} webhook at <this service>/v1/webhooks/{name}")


@connectors_app.command("list")
def connectors_list(tenant: TenantOpt = "default", config: ConfigOpt = None) -> None:
    """A tenant's connectors (never their secrets)."""
    from serving.connectors.store import ConnectorError

    with _friendly_errors():
        try:
            found = _connector_store(config).all(tenant)
        except ConnectorError as exc:
            raise CliError(str(exc)) from exc
        table = Table(title=f"connectors of tenant {tenant!r}")
        for column in ("name", "system", "base_url", "credentials", "mapped", "webhook"):
            table.add_column(column)
        for c in found:
            mapped = ", ".join(
                f"{head} {len(getattr(c.mapping, head))}" for head in ("department", "priority", "category")
            )
            table.add_row(
                c.name,
                c.system,
                c.base_url,
                ", ".join(sorted(c.credentials)),
                mapped,
                f"/v1/webhooks/{c.name}",
            )
        out.print(table)


@connectors_app.command("test")
def connectors_test(name: str, config: ConfigOpt = None) -> None:
    """Call the ticket system once, read-only, with the stored credentials (exit 1 when it fails)."""
    from serving.connectors.api import check_connector

    with _friendly_errors():
        settings = _settings(config)
        found = _connector_store(config).get(name)
        if found is None:
            raise CliError(f"no connector {name!r}; see `triage connectors list`")
        check = check_connector(found, settings.connector_timeout_seconds)
        out.print(f"{name}: {'ok' if check.ok else 'FAILED'}: {check.detail}")
        if not check.ok:
            raise typer.Exit(code=1)


@connectors_app.command("remove")
def connectors_remove(name: str, config: ConfigOpt = None) -> None:
    """Remove a connector (its deliveries stay as a record)."""
    with _friendly_errors():
        if not _connector_store(config).remove(name):
            raise CliError(f"no connector {name!r}; see `triage connectors list`")
        out.print(f"removed {name}")


db_app = typer.Typer(help="The service's database: schema version and migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _database(config: Path | None, data_dir: Path | None, database: str | None) -> Any:
    from knowledge.db import Database

    settings = _settings(config, data_dir=data_dir, database=database)
    return Database(settings.database_target, create=False)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDirOpt = None, database: DatabaseOpt = None, config: ConfigOpt = None) -> None:
    """Migrate the database to the schema this build needs (run once per upgrade, before the replicas)."""
    from knowledge.db import redact_url
    from knowledge.migrations import upgrade

    with _friendly_errors():
        db = _database(config, data_dir, database)
        try:
            before, after = upgrade(db.make_engine(), db.dialect)
        finally:
            db.close()
        was = "empty" if before is None else f"schema {before}"
        if before == after:
            console.print(f"database {redact_url(db.url)} is at schema {after}: nothing to do")
        else:
            console.print(f"database {redact_url(db.url)} upgraded: {was} -> schema {after}")


@db_app.command("current")
def db_current(data_dir: DataDirOpt = None, database: DatabaseOpt = None, config: ConfigOpt = None) -> None:
    """The database's schema version and the one this build needs (exit 1 when they differ)."""
    from knowledge.db import redact_url
    from knowledge.migrations import current_version, head_version

    with _friendly_errors():
        db = _database(config, data_dir, database)
        engine = db.make_engine()
        try:
            with engine.connect() as conn:
                have = current_version(conn)
        finally:
            engine.dispose()
        need = head_version()
        shown = "empty" if have is None else str(have)
        console.print(f"database {redact_url(db.url)}: schema {shown}, this build needs {need}")
        if have != need:
            raise typer.Exit(code=1)
