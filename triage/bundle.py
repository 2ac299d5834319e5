"""The model bundle: one directory per trained version, loaded by triage, written by training.

```
<dir>/manifest.json        schema version, version id, encoder spec, labels, thresholds, metrics, parent
<dir>/router.joblib        vectoriser, classifier heads, labelled neighbours
<dir>/handling_time.json   handling-time quantiles and SLA targets
```
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib

from triage.handling import HandlingTimeModel
from triage.routing import Router

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
ROUTER = "router.joblib"
HANDLING_TIME = "handling_time.json"


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

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.router, directory / ROUTER, compress=3)
        if self.handling_time is not None:
            (directory / HANDLING_TIME).write_text(json.dumps(self.handling_time.to_dict()))
        # The manifest goes last: a directory with a manifest is a complete bundle.
        (directory / MANIFEST).write_text(json.dumps(self.manifest, indent=2, ensure_ascii=False))

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
        try:
            router = joblib.load(directory / ROUTER)
        except (OSError, EOFError, ValueError) as exc:
            raise BundleError(f"model bundle {directory}: cannot read {ROUTER} ({exc}); retrain it") from exc
        handling = None
        if (directory / HANDLING_TIME).exists():
            handling = HandlingTimeModel.from_dict(json.loads((directory / HANDLING_TIME).read_text()))
        logger.info("loaded model bundle %s from %s", manifest.get("version"), directory)
        return cls(manifest=manifest, router=router, handling_time=handling)
