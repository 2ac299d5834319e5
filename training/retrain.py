"""Retrain from history plus agents' corrections, and say what changed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from embeddings import Encoder, get_encoder
from knowledge.ledger import Ledger
from training.data import TicketTable
from training.train import train_bundle
from triage.bundle import ModelBundle
from triage.features import model_text


@dataclass(frozen=True)
class Corrections:
    """Department corrections agents made, keyed by ticket id (the latest one wins)."""

    labels: dict[str, str]
    texts: dict[str, str]  # ticket id -> text, where the feedback carried it


def load_corrections(ledger: Ledger, tenant: str, head: str = "department") -> Corrections:
    labels: dict[str, str] = {}
    texts: dict[str, str] = {}
    for row in ledger.feedback(tenant, kind="label"):
        if row["head"] != head or not row["correct"]:
            continue
        labels[row["ticket_id"]] = row["correct"]
        if row["text"]:
            texts[row["ticket_id"]] = model_text("", row["text"])
    return Corrections(labels, texts)


def apply_corrections(table: TicketTable, corrections: Corrections) -> tuple[TicketTable, dict[str, Any]]:
    """Relabel known tickets and append corrected tickets that carry their text; report the changes."""
    departments = list(table.labels["department"])
    index = {ticket_id: i for i, ticket_id in enumerate(table.ids)}
    relabelled: Counter[tuple[str, str]] = Counter()
    for ticket_id, label in corrections.labels.items():
        i = index.get(ticket_id)
        if i is not None and departments[i] != label:
            relabelled[(departments[i], label)] += 1
            departments[i] = label
    new_ids = [t for t in corrections.labels if t not in index and t in corrections.texts]
    others = {h: list(v) for h, v in table.labels.items() if h != "department"}
    # Appended tickets have no category/priority labels: those heads keep the history only.
    labels: dict[str, list[str]] = {"department": departments + [corrections.labels[t] for t in new_ids]}
    if not new_ids:
        labels.update(others)
    merged = TicketTable(
        ids=table.ids + new_ids,
        texts=table.texts + [corrections.texts[t] for t in new_ids],
        labels=labels,
        created_at=table.created_at if not new_ids else [],
        resolved_at=table.resolved_at if not new_ids else [],
        notes=table.notes,
    )
    report = {
        "corrections": len(corrections.labels),
        "relabelled": sum(relabelled.values()),
        "relabelled_pairs": {f"{a} -> {b}": n for (a, b), n in relabelled.most_common()},
        "appended": len(new_ids),
        "unused": len(corrections.labels) - sum(relabelled.values()) - len(new_ids),
    }
    return merged, report


def retrain(
    table: TicketTable,
    corrections: Corrections,
    encoder: Encoder,
    parent: ModelBundle | None,
    progress: Callable[[str], None] | None = None,
) -> tuple[ModelBundle, dict[str, Any]]:
    """Train on history plus corrections; the report compares cross-validated metrics with the parent."""
    merged, report = apply_corrections(table, corrections)
    # The parent's semantic channel stays a candidate (it wins again only out of fold).
    channel = parent.router.channel_encoder if parent is not None else None
    if channel is None and parent is not None and parent.router.channel is not None:
        channel = get_encoder(parent.router.channel)
    bundle = train_bundle(
        merged,
        encoder,
        channels=[channel] if channel is not None else [],
        parent=parent.version if parent else None,
        progress=progress,
        target_precision=float(parent.manifest.get("target_precision", 0.9)) if parent else 0.9,
    )
    bundle.manifest["retrain"] = report
    if parent is not None:
        before = parent.manifest.get("metrics", {}).get("department", {})
        after = bundle.manifest.get("metrics", {}).get("department", {})
        report["metrics"] = {
            key: {"parent": before.get(key), "new": after.get(key)}
            for key in ("accuracy", "macro_f1", "ece", "coverage_at_90")
            if key in after
        }
    return bundle, report
