"""The model bundle: one directory per trained version, loaded by triage, written by training.

```
<dir>/manifest.json        schema version, version id, encoder spec, labels, thresholds, metrics, parent,
                           drift reference
<dir>/router.pkl           vectoriser, classifier heads, labelled neighbours (a plain pickle: the C
                           unpickler reads it ~8x faster than joblib's pure-Python one; bundles
                           written before it have router.joblib, still read); the TF-IDF blocks and
                           linear models as ``triage.tfidf`` objects, so loading imports no
                           scikit-learn (older bundles hold scikit-learn's, still read)
<dir>/handling_time.json   handling-time quantiles and SLA targets
<dir>/channel_encoder/     only when training chose an ONNX encoder for the semantic channel
                           (``manifest["semantic_channel"]``): a copy of it, so the bundle travels whole
```

The drift reference (``manifest["drift_reference"]``, absent from bundles trained before it existed)
holds, per head, what the model's predictions looked like on tickets it had not seen: the training
label shares, the out-of-fold predicted label shares, a histogram of the out-of-fold confidences
over fixed bins of [0, 1] (edges stored beside the shares) and the abstention rate. Live or
evaluated predictions are compared against it (``knowledge.drift``; ``drift_baseline`` below).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import get_encoder
from knowledge.blobs import BlobError, DirectoryBlobs
from knowledge.drift import CONFIDENCE_BINS, binned_shares, confidence_bin_edges, label_shares
from triage.handling import HandlingTimeModel
from triage.routing import Router
from triage.tfidf import compact_router

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
ROUTER = "router.pkl"
LEGACY_ROUTER = "router.joblib"  # bundles written before router.pkl
HANDLING_TIME = "handling_time.json"
CHECKSUMS = "checksums"  # manifest key: file name -> SHA-256, written by save, checked by load


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


CHANNEL_ENCODER = "channel_encoder"
ONNX_PREFIX = "onnx:"
DRIFT_REFERENCE = "drift_reference"


class BundleError(ValueError):
    """A model bundle is missing, incomplete or incompatible with this service."""


@dataclass
class ModelBundle:
    manifest: dict[str, Any]
    router: Router
    handling_time: HandlingTimeModel | None

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def encoder(self) -> str:
        return str(self.manifest["encoder"])

    @property
    def labels(self) -> dict[str, tuple[str, ...]]:
        """The label set of every head this bundle predicts."""
        return {name: tuple(head.labels) for name, head in self.router.heads.items()}

    def drift_reference(self, head: str) -> dict[str, Any] | None:
        """The head's training-time drift reference, or None (older bundle, or head not trained)."""
        heads = self.manifest.get(DRIFT_REFERENCE, {}).get("heads", {})
        reference = heads.get(head)
        return dict(reference) if isinstance(reference, Mapping) else None

    def save(self, directory: Path) -> None:
        """Write the bundle; the manifest (with every file's SHA-256) goes last, atomically."""
        directory.mkdir(parents=True, exist_ok=True)
        channel = self.router.channel
        if channel is not None and channel.startswith(ONNX_PREFIX):
            source = Path(channel[len(ONNX_PREFIX) :])
            if source.resolve() != (directory / CHANNEL_ENCODER).resolve():
                shutil.copytree(source, directory / CHANNEL_ENCODER, dirs_exist_ok=True)
        # An uncompressed plain pickle (55 MB for the demo) loads in 0.34-0.55 s where joblib.load of the
        # compressed file (34 MB) took 3.0-4.1 s, same object, same loaded machine: joblib unpickles in
        # pure Python. Start-up (issue 12.4) pays it once per bundle.
        # Stored without scikit-learn objects (triage.tfidf): loading it then imports none (1.3 s).
        with (directory / ROUTER).open("wb") as handle:
            pickle.dump(compact_router(self.router), handle, protocol=pickle.HIGHEST_PROTOCOL)
        (directory / LEGACY_ROUTER).unlink(missing_ok=True)
        files = [ROUTER]
        if self.handling_time is not None:
            (directory / HANDLING_TIME).write_text(json.dumps(self.handling_time.to_dict()))
            files.append(HANDLING_TIME)
        if (directory / CHANNEL_ENCODER).is_dir():
            channel_files = (directory / CHANNEL_ENCODER).rglob("*")
            files += sorted(str(p.relative_to(directory)) for p in channel_files if p.is_file())
        checksums = {name: _sha256(directory / name) for name in files}
        for name in files:
            _fsync(directory / name)
        # The manifest goes last: a directory with a manifest is a complete bundle.
        manifest = {**self.manifest, CHECKSUMS: checksums}
        DirectoryBlobs(directory).put(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode())

    @classmethod
    def load(cls, directory: Path, expected_encoder: str | None = None) -> ModelBundle:
        """Load a bundle, checking its schema version and (when given) its encoder spec."""
        manifest_path = directory / MANIFEST
        if not manifest_path.exists():
            raise BundleError(
                f"no model bundle at {directory} ({MANIFEST} missing); train one with "
                "'triage train' or run 'triage demo'"
            )
        manifest = json.loads(manifest_path.read_text())
        schema = manifest.get("schema_version")
        if schema != SCHEMA_VERSION:
            raise BundleError(
                f"model bundle {directory} has schema version {schema}; this service reads version "
                f"{SCHEMA_VERSION}: retrain it with this version's 'triage train'"
            )
        if expected_encoder and manifest.get("encoder") != expected_encoder:
            raise BundleError(
                f"model bundle {directory} was trained with encoder {manifest.get('encoder')!r} but the "
                f"service is configured with {expected_encoder!r}: set encoder to the bundle's or retrain"
            )
        # A bundle copied to (or read from) a shared folder is checked whole before it is used.
        blobs = DirectoryBlobs(directory)
        for name, expected in dict(manifest.get(CHECKSUMS, {})).items():
            try:
                blobs.verify(name, expected)
            except (BlobError, ValueError) as exc:
                raise BundleError(
                    f"model bundle {directory}: {name} does not match the checksum in its manifest "
                    "(a partial or damaged copy); copy the bundle again from where it was trained"
                ) from exc
        name = ROUTER if (directory / ROUTER).exists() else LEGACY_ROUTER
        try:
            if name == ROUTER:
                with (directory / ROUTER).open("rb") as handle:
                    router = pickle.load(handle)
            else:
                import joblib

                router = joblib.load(directory / LEGACY_ROUTER)
        except (OSError, EOFError, ValueError, pickle.UnpicklingError) as exc:
            raise BundleError(f"model bundle {directory}: cannot read {name} ({exc}); retrain it") from exc
        if router.channel is not None and (directory / CHANNEL_ENCODER).is_dir():
            router.attach_channel(get_encoder(f"{ONNX_PREFIX}{directory / CHANNEL_ENCODER}"))
        handling = None
        if (directory / HANDLING_TIME).exists():
            handling = HandlingTimeModel.from_dict(json.loads((directory / HANDLING_TIME).read_text()))
        logger.info("loaded model bundle %s from %s", manifest.get("version"), directory)
        return cls(manifest=manifest, router=router, handling_time=handling)


def head_drift_reference(
    labels: Sequence[str],
    predicted: Sequence[str],
    confidence: Sequence[float] | np.ndarray,
    abstained: Sequence[bool] | np.ndarray,
    bins: int = CONFIDENCE_BINS,
) -> dict[str, Any]:
    """One head's drift reference from held-out predictions on the training rows (JSON-ready)."""
    edges = confidence_bin_edges(bins)
    conf = np.asarray(confidence, dtype=float)
    return {
        "n": len(labels),
        "label_distribution": label_shares(labels),
        "predicted_distribution": label_shares(predicted),
        "confidence_bin_edges": edges,
        "confidence_histogram": binned_shares(conf, edges),
        "mean_confidence": float(conf.mean()) if len(conf) else None,
        "abstention_rate": float(np.mean(np.asarray(abstained, dtype=bool))) if len(conf) else None,
    }


def drift_baseline(bundle: ModelBundle, head: str) -> tuple[dict[str, Any] | None, str | None]:
    """A head's drift reference and, when it is missing or partial, a note that says why and what to do."""
    reference = bundle.drift_reference(head)
    if reference is not None:
        return reference, None
    neighbours = bundle.router.neighbours
    if DRIFT_REFERENCE in bundle.manifest:
        return None, f"model {bundle.version} has no drift reference for {head!r} (head not trained)"
    note = (
        f"model {bundle.version} has no drift reference (trained before confidence references were "
        "stored): confidence drift is unavailable; retrain it with 'triage train' to get it"
    )
    if neighbours is not None and head in neighbours.labels:
        return {"label_distribution": label_shares([str(v) for v in neighbours.labels[head]])}, note
    return None, note


def drift_source(bundle: ModelBundle) -> str | None:
    """What the bundle's drift reference was computed on."""
    source = bundle.manifest.get(DRIFT_REFERENCE, {}).get("source")
    return None if source is None else str(source)
