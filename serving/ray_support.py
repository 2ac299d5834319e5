"""Ray, the optional distributed engine: connecting to it and reading tables with Ray Data.

Ray is the ``ray`` extra (``pip install '.[ray]'``) and is imported only here and in the modules
that run on it, inside functions, so the service and its tests run without it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# Suffixes Ray Data reads, by reader. A folder holds parts of one kind.
_READERS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "json",
    ".ndjson": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}
# A local instance's shared-memory object store: enough for the blocks in flight (Ray Data keeps
# their number bounded), small beside the encoders, so a shared machine keeps its memory.
LOCAL_OBJECT_STORE_BYTES = 512 * 1024 * 1024
# CPUs a read or clean task asks Ray for: the encoder actors get the rest.
LIGHT_TASK_CPUS = 0.25


class RayUnavailable(RuntimeError):
    """Ray is not installed, or the cluster cannot be reached; the message says what to do."""


class DataSourceError(ValueError):
    """The data to read is missing, of an unknown format, or lacks a column; the message says which."""


def require_ray() -> Any:
    """The ``ray`` module, or RayUnavailable naming the extra to install."""
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(
            "Ray is not installed: install the ray extra (pip install 'ticket-triage[ray]', "
            "or pip install -e '.[ray]' in a checkout)"
        ) from exc
    return ray


@contextmanager
def ray_session(address: str | None, num_cpus: int | None = None) -> Iterator[Any]:
    """Connect to a Ray cluster (``auto`` or ``host:port``), or start a local instance without one.

    A local instance is bounded to ``num_cpus`` (default: this machine's cores) and listens on
    loopback only; it stops when the block ends. A cluster is left running. If Ray is already
    initialised in this process (tests, notebooks), that session is used as it is.
    """
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.WARNING,
        # The workers import this project as the driver does, also from a checkout on PYTHONPATH.
        "runtime_env": {"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}},
    }
    if address:
        options["address"] = address
    else:
        options.update(
            num_cpus=num_cpus or os.cpu_count() or 1,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
            _node_ip_address="127.0.0.1",
        )
    try:
        ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address!r}" if address else "a local Ray instance"
        raise RayUnavailable(
            f"cannot start or reach {where}: {exc}; check the address (ray status) or drop --ray"
        ) from exc
    try:
        _quiet_data(ray)
        yield ray
    finally:
        ray.shutdown()


def _quiet_data(ray: Any) -> None:
    """Our own progress line replaces Ray Data's per-operator bars."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def cluster_cpus() -> float:
    """CPUs of the connected cluster (Ray's logical CPUs)."""
    ray = require_ray()
    return float(ray.cluster_resources().get("CPU", 1.0))


def actor_pool(size: int) -> Any:
    """A fixed pool of ``size`` actors for ``map_batches`` (each builds its models once)."""
    return require_ray().data.ActorPoolStrategy(size=size)


def release_actors() -> None:
    """Free a finished dataset's actors and the CPUs they hold, for the next job of this process.

    Ray Data releases its actor pools by reference counting, and a reference cycle in a finished
    execution keeps the handles, so the actors (and their CPUs) outlive the job until a garbage
    collection: a second job in the same process could then wait forever for CPUs.
    """
    import gc

    gc.collect()


def worker_share(workers: int | None) -> tuple[int, float, int]:
    """Model workers (default: one per two CPUs), the CPUs each asks Ray for, and its BLAS threads.

    One CPU stays free for the read and clean tasks and Ray Data's own one-CPU tasks (the Parquet
    reader samples files with them), or they could wait behind the actors for ever; a worker runs
    as many encoder threads as it has CPUs (more threads than cores is much slower).
    """
    cpus = cluster_cpus()
    count = workers or max(1, int(cpus // 2))
    per_worker = max(0.5, (cpus - 1) / count)
    return count, per_worker, max(1, round(per_worker))


def data_files(data: Path) -> tuple[list[str], str]:
    """The files to read (a file, or a folder's parts) and their reader: csv, tsv, json or parquet."""
    if not data.exists():
        raise DataSourceError(f"data {data} not found: pass a file or a folder of parts")
    if data.is_file():
        files = [data]
    else:
        files = sorted(p for p in data.iterdir() if p.is_file() and not p.name.startswith((".", "_")))
        if not files:
            raise DataSourceError(f"folder {data} holds no data files")
    kinds = {_READERS.get(p.suffix.lower()) for p in files}
    if None in kinds:
        odd = next(p.name for p in files if p.suffix.lower() not in _READERS)
        raise DataSourceError(f"cannot read {odd}: use .csv, .tsv, .jsonl, .ndjson or .parquet parts")
    if len(kinds) > 1:
        raise DataSourceError(
            f"{data} mixes {', '.join(sorted(str(k) for k in kinds))} parts: keep one format"
        )
    return [str(p.resolve()) for p in files], str(kinds.pop())


def table_shape(data: Path) -> tuple[list[str], int]:
    """Column names and row count of a file or folder of parts, read here as a stream (memory stays flat).

    Cheaper than asking Ray Data (which would read everything twice): the count is for the ETA.
    """
    files, kind = data_files(data)
    columns: list[str] = []
    rows = 0
    for name in files:
        if kind in ("csv", "tsv"):
            import pyarrow.csv as pacsv

            parse = pacsv.ParseOptions(delimiter="\t" if kind == "tsv" else ",", newlines_in_values=True)
            with pacsv.open_csv(
                name, parse_options=parse, convert_options=_all_strings(name, parse)
            ) as reader:
                columns = columns or reader.schema.names
                rows += sum(batch.num_rows for batch in reader)
        elif kind == "json":
            import json

            with open(name, encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        if not columns:
                            columns = list(json.loads(line))
                        rows += 1
        else:
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(name)
            columns = columns or list(meta.schema_arrow.names)
            rows += meta.metadata.num_rows
    return columns, rows


def read_dataset(data: Path, *, read_cpus: float) -> Any:
    """A Ray Dataset over a CSV/TSV/JSONL/Parquet file or folder of parts (every column as read)."""
    ray = require_ray()
    files, kind = data_files(data)
    if kind in ("csv", "tsv"):
        import pyarrow.csv as pacsv

        # Every column as text, as the single-process reader (training.data.read_frame) reads CSV.
        parse = pacsv.ParseOptions(delimiter="\t" if kind == "tsv" else ",", newlines_in_values=True)
        return ray.data.read_csv(
            files,
            parse_options=parse,
            convert_options=_all_strings(files[0], parse),
            num_cpus=read_cpus,
            file_extensions=None,
        )
    if kind == "json":
        return ray.data.read_json(files, lines=True, num_cpus=read_cpus, file_extensions=None)
    return ray.data.read_parquet(files, num_cpus=read_cpus, file_extensions=None)


def _all_strings(first: str, parse: Any) -> Any:
    """Convert options typing every CSV column as text (ids like 00042 keep their zeros)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with pacsv.open_csv(first, parse_options=parse) as reader:
        names = reader.schema.names
    return pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
