"""The embedded demo: generated sample tickets -> trained bundle -> indexed solved cases.

Every step is skipped when its output is already there and up to date, so a second
``make demo`` starts serving in seconds.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from embeddings import Encoder
from knowledge import Document, DocumentStore, KnowledgeBase
from training.data import TicketTable, apply_rare_policy
from training.sample_data import generate_articles, generate_tickets, write_jsonl
from training.train import NEIGHBOUR_SIMILARITY, train_bundle
from triage.bundle import DRIFT_REFERENCE, MANIFEST
from triage.features import model_text
from triage.language import detect_language
from triage.registry import ModelRegistry

logger = logging.getLogger(__name__)

DEMO_TICKETS = 3600
DEMO_SEED = 0
DEMO_VERSION = "demo-v1"
TRAINER = "trainer"  # manifest key: trainer_fingerprint() of the code that trained the demo bundle
# What a bundle's contents are made by: the trainer, and the modules whose features, models and
# formats it stores (not fields, summary or rules, which a bundle does not hold).
_TRAINER_SOURCES = (
    "training/*.py",
    "triage/bundle.py",
    "triage/features.py",
    "triage/handling.py",
    "triage/language.py",
    "triage/reasons.py",
    "triage/routing.py",
    "triage/tfidf.py",
    "triage/types.py",
    "knowledge/text.py",
)


def trainer_fingerprint() -> str:
    """A hash of the code that trains a bundle and of the modules whose features and formats it
    stores: a demo bundle trained by other code (an older checkout, an upgrade) is retrained, not
    served with features or in a format this code no longer writes."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted({p for pattern in _TRAINER_SOURCES for p in root.glob(pattern)}):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class DemoPaths:
    data_dir: Path

    @property
    def tickets(self) -> Path:
        return self.data_dir / "sample" / "tickets.jsonl"

    @property
    def articles(self) -> Path:
        return self.data_dir / "sample" / "articles.jsonl"

    @property
    def models(self) -> Path:
        return self.data_dir / "models"

    @property
    def bundle(self) -> Path:
        return self.models / "default" / DEMO_VERSION

    @property
    def database(self) -> Path:
        return self.data_dir / "knowledge.db"

    @property
    def snapshots(self) -> Path:
        return self.data_dir / "index"


def _read_jsonl(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def sample_table(rows: list[dict[str, str]]) -> TicketTable:
    """The generated tickets as a training table (resolved and open ones alike)."""
    return TicketTable(
        ids=[r["id"] for r in rows],
        texts=[model_text(r["title"], r["body"]) for r in rows],
        labels={head: [r[head] for r in rows] for head in ("department", "category", "priority")},
        created_at=[r["created_at"] for r in rows],
        resolved_at=[r["resolved_at"] for r in rows],
    )


def case_documents(rows: list[dict[str, str]], kind: str = "case") -> list[Document]:
    return [
        Document(
            doc_id=r["id"],
            kind=kind,
            title=r["title"],
            body=r["body"],
            resolution=r.get("resolution", ""),
            department=r.get("department"),
            category=r.get("category"),
            priority=r.get("priority"),
            language=r.get("language") or detect_language(r["body"]),
            status=r.get("status", "resolved"),
            created_at=r.get("created_at"),
            resolved_at=r.get("resolved_at"),
        )
        for r in rows
    ]


def demo_table(rows: list[dict[str, str]]) -> TicketTable:
    """The demo's training table from its sample tickets."""
    # A small demo (--tickets 200) leaves some categories with one ticket: drop those rows, as
    # `triage train --rare drop` would (the default 3,600 tickets have none).
    return apply_rare_policy(sample_table(rows), "drop", min_examples=2)


def bundle_is_current(paths: DemoPaths, table: TicketTable, encoder: str) -> bool:
    """Whether the demo's bundle was trained on ``table``'s data, for ``encoder``, by this code."""
    if not (paths.bundle / MANIFEST).exists():
        return False
    manifest = json.loads((paths.bundle / MANIFEST).read_text())
    return bool(
        manifest.get("data_fingerprint") == table.fingerprint()
        and manifest.get("encoder") == encoder
        and DRIFT_REFERENCE in manifest
        and manifest.get("params", {}).get("neighbours") == NEIGHBOUR_SIMILARITY
        and manifest.get(TRAINER) == trainer_fingerprint()
    )


def build_demo(
    data_dir: Path,
    encoder: Encoder,
    n_tickets: int = DEMO_TICKETS,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> DemoPaths:
    """Generate, train and index the demo under ``data_dir``; reuse whatever is already built."""
    say = progress or (lambda message: logger.info("%s", message))
    paths = DemoPaths(data_dir)
    if force or not paths.tickets.exists():
        say(f"generating {n_tickets} sample tickets (seed {DEMO_SEED})")
        write_jsonl(generate_tickets(n_tickets, seed=DEMO_SEED), paths.tickets)
        write_jsonl(generate_articles(seed=DEMO_SEED), paths.articles)
    rows = _read_jsonl(paths.tickets)
    table = demo_table(rows)

    vectors = None
    if force or not bundle_is_current(paths, table, encoder.name):
        say(f"encoding {len(rows)} tickets with {encoder.name}")
        vectors = encoder.encode(table.texts)
        bundle = train_bundle(table, encoder, version=DEMO_VERSION, vectors=vectors, progress=say)
        bundle.manifest[TRAINER] = trainer_fingerprint()
        bundle.save(paths.bundle)
        ModelRegistry(paths.models).register("default", DEMO_VERSION)
        say(f"model bundle {bundle.version} written to {paths.bundle}")
    else:
        say(f"model bundle at {paths.bundle} is up to date")

    store = DocumentStore(paths.database)
    knowledge = KnowledgeBase(store, encoder, paths.snapshots)
    knowledge.load()
    articles = _read_jsonl(paths.articles) if paths.articles.exists() else []
    if (
        force
        or store.count("default", "case") < len(rows)
        or store.count("default", "article") < len(articles)
    ):
        say(f"indexing {len(rows)} cases and {len(articles)} articles")
        if vectors is None or len(vectors) != len(rows):  # every case is indexed, rare labels or not
            vectors = encoder.encode([model_text(r["title"], r["body"]) for r in rows])
        knowledge.add(case_documents(rows), vectors)
        if articles:
            knowledge.add(
                case_documents(articles, kind="article"),
                encoder.encode([model_text(a["title"], a["body"]) for a in articles]),
            )
        knowledge.flush()
    else:
        say(f"knowledge base at {paths.database} is up to date ({store.count('default', 'case')} cases)")
    store.close()
    return paths
