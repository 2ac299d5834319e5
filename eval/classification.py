"""Evaluate a model bundle on labelled tickets: metrics JSON and an HTML report with pictures.

Quality per head is reported for the model alone (``heads``) and, when business rules are given,
for model + rules as serving applies them (``rules``). The report also has a ``drift`` section: the evaluated tickets' predicted
labels and confidences against the bundle's training reference (PSI per head, ``eval.drift``).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import Encoder
from eval.drift import bundle_drift
from training.data import TicketTable
from training.metrics import classification_report, precision_coverage_curve
from triage.bundle import ModelBundle
from triage.fields import FieldExtractor
from triage.language import detect_language
from triage.rules import RuleEngine
from triage.types import Prediction, Ticket

HEADS = ("department", "category", "priority")


def evaluate_bundle(
    bundle: ModelBundle,
    table: TicketTable,
    encoder: Encoder,
    vectors: np.ndarray | None = None,
    rules: RuleEngine | None = None,
    extractor: FieldExtractor | None = None,
) -> dict[str, Any]:
    """Per head: the classification report, abstention figures, and the raw arrays for plots; plus
    the drift of every head's predictions against the training reference (``drift``).

    With ``rules``, the business rules are applied as serving applies them (language, extracted
    fields, the model's label sets) and ``rules`` holds the same per-head reports for model +
    rules, with how many predictions the rules changed; ``heads`` stays the model alone.
    """
    if vectors is None:
        vectors = encoder.encode(table.texts)
    predictions = bundle.router.predict(table.texts, vectors)
    report: dict[str, Any] = {"model_version": bundle.version, "n": len(table), "heads": {}}
    report["heads"] = _head_reports(bundle, table, predictions)
    if rules is not None:
        ruled = apply_rules(bundle, table, predictions, rules, extractor)
        report["rules"] = {
            "source": rules.source,
            "heads": _head_reports(bundle, table, ruled),
            "changed": {
                head: sum(a[head] != b[head] for a, b in zip(predictions, ruled, strict=True))
                for head in bundle.router.heads
            },
        }
    # Drift needs no true labels: every head the model predicts is compared with its reference.
    report["drift"] = bundle_drift(
        bundle, {head: [p[head] for p in predictions] for head in bundle.router.heads}
    )
    return report


def apply_rules(
    bundle: ModelBundle,
    table: TicketTable,
    predictions: Sequence[Mapping[str, Prediction]],
    rules: RuleEngine,
    extractor: FieldExtractor | None = None,
) -> list[dict[str, Prediction]]:
    """Each ticket's predictions after the business rules, as the serving pipeline applies them."""
    extractor = extractor or FieldExtractor()
    extractor.load()
    labels = bundle.labels
    out = []
    for i, (text, heads) in enumerate(zip(table.texts, predictions, strict=True)):
        when = _parse_time(table.created_at[i] if table.created_at else None)
        ticket = Ticket(title="", body=text, id=table.ids[i], created_at=when)
        language = detect_language(text)
        fields = extractor.extract(text, language, reference_time=when)
        out.append(rules.apply(ticket, fields, heads, language, labels=labels))
    return out


def _parse_time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _head_reports(
    bundle: ModelBundle, table: TicketTable, predictions: Sequence[Mapping[str, Prediction]]
) -> dict[str, Any]:
    reports: dict[str, Any] = {}
    for head, truth in table.labels.items():
        if head not in bundle.router.heads:
            continue
        preds = [p[head] for p in predictions]
        y_pred = [p.value for p in preds]
        confidence = np.array([p.confidence for p in preds])
        abstained = np.array([p.abstained for p in preds])
        correct = np.array([t == p for t, p in zip(truth, y_pred, strict=True)])
        head_report = classification_report(truth, y_pred, confidence)
        routed = ~abstained
        head_report["abstention"] = {
            "coverage": float(routed.mean()),
            "precision_when_routed": float(correct[routed].mean()) if routed.any() else None,
            "target_precision": bundle.manifest.get("target_precision"),
        }
        head_report["_arrays"] = {
            "truth": list(truth),
            "pred": y_pred,
            "confidence": confidence.tolist(),
            "abstained": abstained.tolist(),
        }
        reports[head] = head_report
    return reports


def public(report: dict[str, Any]) -> dict[str, Any]:
    """The report without the raw arrays. The department head's figures are also at the top level."""
    heads = {h: {k: v for k, v in r.items() if k != "_arrays"} for h, r in report["heads"].items()}
    out = {k: v for k, v in report.items() if k != "heads"} | {"heads": heads}
    if "rules" in report:
        ruled = {
            h: {k: v for k, v in r.items() if k != "_arrays"} for h, r in report["rules"]["heads"].items()
        }
        out["rules"] = report["rules"] | {"heads": ruled}
    if "department" in heads:
        for key in ("accuracy", "macro_f1", "weighted_f1", "ece", "coverage_at_90", "coverage_at_95"):
            out[key] = heads["department"][key]
    return out


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def _plots(truth: Sequence[str], pred: Sequence[str], confidence: Sequence[float]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    from training.metrics import ECE_BINS

    labels = sorted(set(truth) | set(pred))
    conf = np.asarray(confidence)
    correct = np.asarray(truth) == np.asarray(pred)
    pictures: dict[str, str] = {}

    size = max(4.0, 0.35 * len(labels))
    fig, ax = plt.subplots(figsize=(size + 1, size))
    matrix = confusion_matrix(truth, pred, labels=labels)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if len(labels) <= 20:
        for (i, j), value in np.ndenumerate(matrix):
            if value:
                ax.text(j, i, str(value), ha="center", va="center", fontsize=7)
    ax.set_title("Confusion matrix")
    pictures["confusion"] = _png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    edges = np.linspace(0, 1, ECE_BINS + 1)
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, ECE_BINS - 1)
    centers, accuracy, counts = [], [], []
    for b in range(ECE_BINS):
        mask = which == b
        if mask.any():
            centers.append(conf[mask].mean())
            accuracy.append(correct[mask].mean())
            counts.append(int(mask.sum()))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.scatter(
        centers, accuracy, s=[10 + 200 * c / max(counts) for c in counts], label="bins (size = tickets)"
    )
    ax.plot(centers, accuracy, color="C0")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability diagram")
    ax.legend(loc="upper left", fontsize=8)
    pictures["reliability"] = _png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    precision, coverage = precision_coverage_curve(conf, correct)
    ax.plot(coverage, precision)
    for target in (0.9, 0.95):
        ax.axhline(target, ls=":", color="grey")
    ax.set_xlabel("coverage (share auto-routed)")
    ax.set_ylabel("precision")
    ax.set_ylim(0, 1.02)
    ax.set_title("Precision vs coverage")
    pictures["coverage"] = _png(fig)
    plt.close(fig)
    return pictures


def _drift_plot(drift: dict[str, Any]) -> str | None:
    """Confidence histograms, evaluated vs training reference, one panel per head that has both."""
    heads = {h: r for h, r in drift["heads"].items() if r.get("confidence_histogram")}
    if not heads:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(heads), figsize=(4.2 * len(heads), 3.4), squeeze=False)
    for ax, (head, r) in zip(axes[0], heads.items(), strict=True):
        edges = np.asarray(r["confidence_bin_edges"])
        width = np.diff(edges)
        ax.bar(
            edges[:-1],
            r["reference_confidence_histogram"],
            width=width,
            align="edge",
            alpha=0.5,
            label="training (out-of-fold)",
        )
        ax.bar(edges[:-1], r["confidence_histogram"], width=width, align="edge", alpha=0.5, label="evaluated")
        ax.set_xlabel("confidence")
        ax.set_ylabel("share of tickets")
        ax.set_title(f"{head}: confidence PSI {r['confidence_psi']:.3f}")
        ax.legend(loc="upper left", fontsize=8)
    picture = _png(fig)
    plt.close(fig)
    return picture


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else html.escape(str(value))


def _drift_html(drift: dict[str, Any]) -> list[str]:
    parts = ["<h2>Drift against the training data</h2>"]
    source = drift.get("reference")
    parts.append(f"<p>Reference: {html.escape(source) if source else 'none in this bundle'}.</p>")
    parts.extend(f"<p><b>{html.escape(note)}</b></p>" for note in drift.get("notes", []))
    bands = "; ".join(f"{html.escape(rule)} {name}" for name, rule in drift["bands"].items())
    parts.append(f"<p>Population stability index (PSI) bands: {bands}.</p>")
    columns = (
        ("n", "tickets"),
        ("label_psi", "label PSI"),
        ("label_drift", "label drift"),
        ("confidence_psi", "confidence PSI"),
        ("confidence_drift", "confidence drift"),
        ("mean_confidence", "mean confidence"),
        ("reference_mean_confidence", "training mean confidence"),
        ("abstention_rate", "abstention"),
        ("reference_abstention_rate", "training abstention"),
    )
    parts.append("<table><tr><th>head</th>" + "".join(f"<th>{title}</th>" for _, title in columns) + "</tr>")
    for head, r in drift["heads"].items():
        cells = "".join(f"<td>{_fmt(r.get(key))}</td>" for key, _ in columns)
        parts.append(f"<tr><td>{html.escape(head)}</td>{cells}</tr>")
    parts.append("</table>")
    picture = _drift_plot(drift)
    if picture:
        parts.append(f"<div><img alt='confidence drift' src='data:image/png;base64,{picture}'></div>")
    return parts


def _rules_html(rules: dict[str, Any]) -> list[str]:
    keys = ("accuracy", "macro_f1", "weighted_f1", "ece", "coverage_at_90")
    parts = [
        "<h2>Model + business rules</h2>",
        f"<p>Rules from {html.escape(str(rules['source']))}, applied as the server applies them.</p>",
        "<table><tr><th>head</th>"
        + "".join(f"<th>{k}</th>" for k in keys)
        + "<th>changed by rules</th></tr>",
    ]
    for head, r in rules["heads"].items():
        cells = "".join(f"<td>{r[k]:.3f}</td>" for k in keys)
        parts.append(f"<tr><td>{html.escape(head)}</td>{cells}<td>{rules['changed'].get(head, 0)}</td></tr>")
    parts.append("</table>")
    return parts


def write_html(report: dict[str, Any], path: Path) -> None:
    """A self-contained HTML page: metrics tables and the three pictures per head, then drift."""
    parts = [
        "<!doctype html><meta charset='utf-8'><title>Triage evaluation</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}"
        "img{margin:8px;border:1px solid #eee}</style>",
        f"<h1>Evaluation of model {html.escape(str(report['model_version']))}</h1>",
        f"<p>{report['n']} tickets.</p>",
    ]
    for head, r in report["heads"].items():
        parts.append(f"<h2>{html.escape(head)}</h2><table><tr>")
        keys = ("accuracy", "macro_f1", "weighted_f1", "ece", "coverage_at_90", "coverage_at_95")
        parts.append("".join(f"<th>{k}</th>" for k in keys) + "<th>coverage at thresholds</th></tr><tr>")
        parts.append("".join(f"<td>{r[k]:.3f}</td>" for k in keys))
        parts.append(f"<td>{r['abstention']['coverage']:.3f}</td></tr></table>")
        arrays = r["_arrays"]
        pictures = _plots(arrays["truth"], arrays["pred"], arrays["confidence"])
        parts.append(
            "<div>" + "".join(f"<img alt='{k}' src='data:image/png;base64,{v}'>" for k, v in pictures.items())
        )
        parts.append(
            "</div><h3>Per class</h3><table><tr><th>label</th><th>precision</th><th>recall</th>"
            "<th>F1</th><th>support</th></tr>"
        )
        for label, m in r["per_class"].items():
            parts.append(
                f"<tr><td>{html.escape(label)}</td><td>{m['precision']:.3f}</td><td>{m['recall']:.3f}</td>"
                f"<td>{m['f1']:.3f}</td><td>{m['support']}</td></tr>"
            )
        parts.append("</table>")
    if "rules" in report:
        parts.extend(_rules_html(report["rules"]))
    if "drift" in report:
        parts.extend(_drift_html(report["drift"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(public(report), indent=2, ensure_ascii=False), encoding="utf-8")
