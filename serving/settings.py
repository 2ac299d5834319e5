"""One validated settings object per process: YAML file, then TRIAGE_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from embeddings import ENCODERS
from triage.yaml_loader import read_yaml_mapping


class SettingsError(ValueError):
    """Configuration is invalid; the message names the setting and the fix."""


class RateLimitSetting(BaseModel):
    """A token bucket: ``per_second`` requests on average, bursts of up to ``burst``."""

    model_config = ConfigDict(extra="forbid")

    per_second: float = Field(..., ge=0)
    burst: float = Field(..., ge=1)


ScopeClass = Literal["triage", "write", "read"]
# One micro-batch thread: see Settings.batch_workers.
DEFAULT_BATCH_WORKERS = 1
# Mean slot-hold times a request waits for a slot at most (queue_wait_hold_share); 0 switches it off.
QUEUE_WAIT_HOLD_SHARE = 0.5
MAX_WORKERS = 64  # server processes at most (``workers``)


def _default_rate_limits() -> dict[ScopeClass, RateLimitSetting]:
    return {
        "triage": RateLimitSetting(per_second=50, burst=100),
        "write": RateLimitSetting(per_second=100, burst=200),
        "read": RateLimitSetting(per_second=200, burst=400),
    }


class Settings(BaseSettings):
    """Service configuration. Every field can be set in the YAML file or as TRIAGE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="TRIAGE_", extra="forbid")

    data_dir: Path = Field(Path("var"), description="Folder for the database, index snapshots and models.")
    model_dir: Path | None = Field(
        None, description="Model bundle to serve (default: <data_dir>/models/demo)."
    )
    database: str | None = Field(
        None,
        description=(
            "The database: a SQLite file path (default: <data_dir>/knowledge.db) or a PostgreSQL URL, "
            "postgresql://user:password@host:5432/dbname, shared by every replica."
        ),
    )
    catch_up_interval: float = Field(
        0.25,
        ge=0,
        le=60,
        description=(
            "Seconds between polls of the database's change log, so that cases written by another "
            "replica become searchable here (0: only at start); also how long an API key read from the "
            "database is checked from memory, so a key revoked by another process is refused within it "
            "(0: the database on every request)."
        ),
    )
    catch_up_bound: float = Field(
        2.0,
        gt=0,
        description="/readyz answers 503 while this replica's indexes are further behind the database (seconds).",
    )
    bundles_dir: Path | None = Field(
        None,
        description=(
            "Model registry (bundles and each tenant's active/candidate state), default <data_dir>/models; "
            "replicas behind one load balancer point this at one shared folder (e.g. a network mount)."
        ),
    )
    encoder: str = Field("use-m3", description="Encoder spec, e.g. 'use-m3' or 'hashing:256'.")
    encoder_process: bool | Literal["auto"] = Field(
        "auto",
        description=(
            "Run the encoder in a process of its own (embeddings.process), so that a ticket is encoded "
            "while its fields, summary, TF-IDF features, BM25 scores and handling-time text rows are "
            "worked out: lower single-ticket latency and more tickets a second from one server process, "
            "for the child interpreter's memory (~20 MiB; see BENCHMARKS.md). 'auto' (the default): on "
            "for 'triage serve' with one server process on a machine of 2 or more cores, off with "
            "several worker processes (each is a process already) and where the service runs inside "
            "another program (create_app, Ray Serve replicas, the CLI's batch commands)."
        ),
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    similar_k: int = Field(5, ge=1, le=50, description="Similar solved cases returned per ticket.")
    rules_file: Path | None = Field(
        None, description="Business rules YAML (default: the bundled triage/resources/rules.yaml)."
    )
    rules_enabled: bool = Field(True, description="Apply business rules after the models.")
    redact_pii: bool = Field(
        False,
        description="Replace e-mails, phones, ID numbers and bank cards in stored case text by placeholders.",
    )
    search_encoders: list[str] = Field(
        default_factory=list,
        description=(
            "Further encoders for similar-case search beside 'encoder', e.g. "
            "['sentence-transformers:minilm'] (stronger on long English text); each embeds every case once."
        ),
    )
    search_weights: dict[Literal["en", "zh"], dict[str, float]] = Field(
        default_factory=dict,
        description=(
            "Channel weights per query language, merged over the defaults in knowledge/base.py "
            "HybridConfig: a channel is 'bm25', an encoder name or kind, or '*'; 0 switches it off. "
            "Example: {'en': {'bm25': 1.0, 'sentence-transformers': 1.0}}."
        ),
    )
    search_floors: dict[Literal["en", "zh"], float] = Field(
        default_factory=dict,
        description=(
            "Relevance floor per query language for similar cases and articles: hits scoring below it "
            "are not suggested. Off by default (scores depend on the collection); fitted values for "
            "the shared datasets are in BENCHMARKS.md ('Similar cases: relevance floor'), e.g. "
            "{'en': 0.185, 'zh': 0.449}."
        ),
    )
    search_candidates: int = Field(
        50, ge=5, le=1000, description="Candidates fetched per search channel before fusion."
    )
    log_level: str = "INFO"
    workers: int | Literal["auto"] = Field(
        1,
        description=(
            "Server processes (uvicorn's supervisor; each loads the models itself): 'auto' is one per "
            "CPU core. Python holds the GIL for most of a ticket, so one process serves about one core's "
            "worth of tickets; more processes use more cores (and more memory: one set of models each). "
            "Metrics, rate limits, admission and console sessions are correct across them (README, 'Several processes on one machine')."
        ),
    )
    close_on_overload: bool | None = Field(
        None,
        description=(
            "When another worker process has a free slot, a 503 for overload (and an answer of a "
            "worker with requests waiting) also closes the client's connection, so its next request "
            "connects anew and is accepted by the free worker rather than sent back to the busy one "
            "over the same keep-alive connection (default: on with several workers)."
        ),
    )
    max_in_flight: int | None = Field(
        None,
        ge=1,
        le=1024,
        description=(
            "Requests admitted at once (doing work or waiting for the next micro-batch), by all "
            "workers together (each worker admits its even share, at least 1); beyond it a /v1 "
            "request waits in the admission queue (max_queued, max_queue_wait_ms) or answers 503 with "
            "Retry-After (default: one per CPU core, and at least 2 per worker process)."
        ),
    )
    max_queued: int | None = Field(
        None,
        ge=0,
        le=4096,
        description=(
            "Requests that may wait for a slot when max_in_flight are admitted, first come first served "
            "(default: 4 per in-flight slot; per worker); 0: refused at once at the bound. One past it, or one whose "
            "predicted wait exceeds max_queue_wait_ms, answers 503 with Retry-After at once."
        ),
    )
    max_queue_wait_ms: float = Field(
        20.0,
        ge=0,
        le=60_000,
        description=(
            "Longest a request waits for a slot; still waiting then, it answers 503 with Retry-After. "
            "Keep it well under the refusal latency promised (50 ms in BENCHMARKS.md, 'Overload'): it "
            "adds to the latency of admitted requests under overload. See queue_wait_hold_share."
        ),
    )
    queue_wait_hold_share: float = Field(
        QUEUE_WAIT_HOLD_SHARE,
        ge=0,
        le=100,
        description=(
            "A request waits for a slot at most this many times the running mean of how long requests "
            "hold one (and never over max_queue_wait_ms), so the wait follows the ticket's cost and an "
            "admitted request's latency under overload stays a bounded multiple of the unloaded one "
            "(BENCHMARKS.md, 'Overload'). 0: max_queue_wait_ms alone."
        ),
    )
    worker_threads: int | None = Field(
        None,
        ge=1,
        le=1024,
        description=(
            "Threads that run request handlers (FastAPI's thread pool; anyio's default is 40). Default: "
            "the in-flight bound, at most 4 per CPU core: requests past it wait their turn in the event "
            "loop instead of all contending for the cores and the GIL at once."
        ),
    )
    micro_batch_max: int = Field(
        8,
        ge=1,
        le=256,
        description=(
            "Most /v1/triage requests triaged together in one batch call (micro-batching); 1 switches "
            "it off. Batches form from requests that wait while every batch worker is busy."
        ),
    )
    micro_batch_window_ms: float = Field(
        0.0,
        ge=0,
        le=1000,
        description=(
            "How long the first request of a micro-batch waits for others before its batch starts "
            "(0: never; a lone request on an idle service starts at once)."
        ),
    )
    micro_batch_workers: int | None = Field(
        None,
        ge=1,
        le=64,
        description=(
            "Micro-batches run at once, each on its own thread (default 1: inference holds the GIL "
            "for most of a ticket, so a second batch thread contends for it rather than adding work done)."
        ),
    )
    gil_switch_interval_ms: float = Field(
        0.5,
        gt=0,
        le=100,
        description=(
            "How often a thread holding the GIL is asked to let another run (sys.setswitchinterval; "
            "CPython's default is 5 ms). Short: the event loop answers sooner while inference runs."
        ),
    )
    retry_after: int = Field(1, ge=1, le=3600, description="Retry-After seconds of a 503 when overloaded.")
    max_body_bytes: int = Field(
        2 * 1024 * 1024, ge=1024, description="Largest request body (one ticket or document); 413 beyond."
    )
    max_bulk_body_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        description="Largest body of /v1/triage:batch, /v1/cases and /v1/articles (many tickets); 413 beyond.",
    )
    rate_limits: dict[ScopeClass, RateLimitSetting] = Field(
        default_factory=_default_rate_limits,
        description=(
            "Token bucket per API key id (else client address) and scope class: triage (triage, classify, "
            "extract, summarize, similar, duplicates), write (other POST/PUT/DELETE), read (GET); "
            "per_second 0 switches a class off. 429 with Retry-After when a bucket is empty."
        ),
    )
    trusted_hosts: list[str] | None = Field(
        None,
        description=(
            "Host header values served (400 otherwise; '*' allows any). Default: localhost, 127.0.0.1, "
            "::1 and the bind host. Add the names a proxy or browser uses to reach the service."
        ),
    )
    anonymous_loopback: bool = Field(
        False,
        description=(
            "Serve requests without an API key when they come from this machine (loopback, not "
            "forwarded by a proxy), as a caller of tenant 'default' with every scope. For local "
            "experiments only; clients on other machines always need a key."
        ),
    )
    console_session: bool = Field(
        True,
        description=(
            "The web console opened on this machine (loopback) gets a short-lived key from "
            "/console/session, so it works without pasting one; clients elsewhere paste a key."
        ),
    )
    metrics_access: Literal["loopback", "key", "open"] = Field(
        "loopback",
        description=(
            "Who may read /metrics: 'loopback' (this machine without a key, others with a key "
            "holding the 'metrics' scope), 'key' (always such a key) or 'open' (anyone)."
        ),
    )
    connector_key: SecretStr | None = Field(
        None,
        description=(
            "Fernet key that encrypts connector credentials at rest (default: <data_dir>/connector.key, "
            "created on first use). Make one with cryptography's Fernet.generate_key()."
        ),
    )
    connector_max_attempts: int = Field(
        6, ge=1, le=50, description="Write-back tries per delivery before it is dead (retry by hand)."
    )
    connector_backoff_seconds: float = Field(
        2.0,
        gt=0,
        le=600,
        description="First retry delay; doubles per try, at least the vendor's Retry-After.",
    )
    connector_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Time-out of one call to a ticket system's API."
    )
    connector_lease_seconds: float = Field(
        60.0,
        ge=1,
        le=3600,
        description=(
            "A running delivery's lease: renewed every third of it while its replica works on it; a "
            "delivery not renewed this long (its replica died) is taken back by any replica."
        ),
    )

    @field_validator("database")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from knowledge.db import database_url

        database_url(value)  # an unsupported scheme fails here, with the ones supported
        return value.strip()

    @field_validator("encoder")
    @classmethod
    def _known_encoder(cls, value: str) -> str:
        kind = value.partition(":")[0]
        if kind not in ENCODERS:
            raise ValueError(f"unknown encoder {kind!r}; known: {', '.join(sorted(ENCODERS))}")
        return value

    @field_validator("search_encoders")
    @classmethod
    def _known_search_encoders(cls, values: list[str]) -> list[str]:
        for value in values:
            cls._known_encoder(value)
        if len(set(values)) != len(values):
            raise ValueError("an encoder is named twice; name each once")
        return values

    @field_validator("search_weights")
    @classmethod
    def _weights_not_negative(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for language, table in value.items():
            for channel, weight in table.items():
                if weight < 0:
                    raise ValueError(
                        f"weight of {channel!r} for {language!r} is {weight}; use 0 to switch it off"
                    )
        return value

    @field_validator("encoder_process", mode="before")
    @classmethod
    def _encoder_process_text(cls, value: object) -> object:
        if isinstance(value, str):
            word = value.strip().lower()
            if word == "auto":
                return "auto"
            if word in ("1", "true", "yes", "on"):
                return True
            if word in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"{value!r} is not a choice; give true, false or 'auto'")
        return value

    @field_validator("workers", mode="before")
    @classmethod
    def _workers_text(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        if isinstance(value, str):
            raise ValueError(f"{value!r} is not a number of processes; give a whole number >= 1 or 'auto'")
        return value

    @field_validator("workers")
    @classmethod
    def _workers_range(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= MAX_WORKERS:
            raise ValueError(f"{value} server processes; give 1 to {MAX_WORKERS}, or 'auto' (one per core)")
        return value

    def served(self) -> Settings:
        """These settings as ``triage serve`` runs them in its one server process: ``encoder_process``
        'auto' becomes on where a second core can encode while the server works (off otherwise)."""
        if self.encoder_process != "auto":
            return self
        return self.model_copy(
            update={"encoder_process": self.worker_count == 1 and (os.cpu_count() or 1) >= 2}
        )

    @property
    def worker_count(self) -> int:
        """``workers`` as a number: 'auto' is one per CPU core."""
        if self.workers == "auto":
            return max(1, min(MAX_WORKERS, os.cpu_count() or 1))
        return int(self.workers)

    @property
    def in_flight_bound(self) -> int:
        """This process's bound on work in flight. ``max_in_flight`` is the service's total: each worker
        admits its even share (rounded up, at least 1). Default: one per CPU core, and at least 2 per
        process: the running batch and the next requests, parsed and waiting for it, so the batch
        worker never idles between requests and an admitted request waits for at most one batch ahead
        of its own (BENCHMARKS.md, "Overload"); with one slot a worker idled while the event loop read
        the next request, and its queue refused most arrivals (BENCHMARKS.md, "Concurrency")."""
        workers = self.worker_count
        if self.max_in_flight:
            return max(1, -(-self.max_in_flight // workers))
        return max(2, -(-(os.cpu_count() or 1) // workers))

    @property
    def overload_closes(self) -> bool:
        """``close_on_overload``, or whether there are several worker processes."""
        return self.worker_count > 1 if self.close_on_overload is None else self.close_on_overload

    @property
    def total_in_flight_bound(self) -> int:
        """Requests admitted at once by all worker processes together."""
        return self.in_flight_bound * self.worker_count

    @property
    def queue_bound(self) -> int:
        """``max_queued``, or 4 per in-flight slot."""
        return 4 * self.in_flight_bound if self.max_queued is None else self.max_queued

    @property
    def thread_pool_size(self) -> int:
        """``worker_threads``, or the in-flight bound capped at four threads per CPU core."""
        return self.worker_threads or min(self.in_flight_bound, 4 * (os.cpu_count() or 1))

    @property
    def batch_workers(self) -> int:
        """``micro_batch_workers``, or 1: Python holds the GIL for about three quarters of a ticket's
        CPU time, and two batch threads on 2 cores served fewer tickets than one (BENCHMARKS.md)."""
        return self.micro_batch_workers or DEFAULT_BATCH_WORKERS

    @property
    def hosts(self) -> list[str]:
        """The trusted hosts: the setting, else the localhost names and the bind host."""
        if self.trusted_hosts is not None:
            return self.trusted_hosts
        return sorted({"localhost", "127.0.0.1", "::1", self.host})

    @property
    def models_dir(self) -> Path:
        """Root of the model registry (one folder per tenant)."""
        return self.bundles_dir or self.data_dir / "models"

    @property
    def database_target(self) -> str:
        """The database setting as the stores take it: a SQLite path or a PostgreSQL URL."""
        return self.database or str(self.data_dir / "knowledge.db")

    @property
    def database_is_sqlite(self) -> bool:
        return "://" not in self.database_target or self.database_target.startswith("sqlite")

    @property
    def database_path(self) -> Path:
        """The SQLite file (tools that open it directly); an error for a PostgreSQL URL."""
        if not self.database_is_sqlite:
            raise SettingsError(
                "the database is PostgreSQL, not a SQLite file: use its URL (database_target)"
            )
        target = self.database_target
        return Path(target.split(":///", 1)[1]) if "://" in target else Path(target)

    @property
    def snapshot_dir(self) -> Path:
        return self.data_dir / "index"


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from an optional YAML file, the environment and explicit overrides (CLI flags)."""
    values: dict[str, Any] = {}
    if config is not None:
        loaded = read_yaml_mapping(
            config, what="the config file", expected="a mapping of setting: value", error=SettingsError
        )
        values.update(loaded)
    flags = {k: v for k, v in overrides.items() if v is not None}
    try:
        # Precedence: command-line flags, then TRIAGE_* environment variables, then the file.
        env = Settings().model_dump(exclude_unset=True)
        return Settings(**(values | env | flags))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"invalid settings: {problems}") from exc
