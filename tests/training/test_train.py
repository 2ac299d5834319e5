from __future__ import annotations

import json
import pickletools
import random
from pathlib import Path

import numpy as np
import pytest

from embeddings import get_encoder
from tests.imports import imported_after
from training.data import DataError, TicketTable, load_table
from training.metrics import calibrated_ece_floor, coverage_at_precision, expected_calibration_error
from training.train import (
    LEXICAL_MODELS,
    build_vectorizer,
    choose_thresholds,
    fit_handling_time,
    fit_temperature,
    leave_one_out_neighbours,
    lexical_candidates,
    macro_f1,
    train_bundle,
)
from triage.bundle import DRIFT_REFERENCE, ROUTER, BundleError, ModelBundle
from triage.handling import MIN_ROWS
from triage.routing import (
    SINGLE_THREAD_BATCH,
    Head,
    Neighbours,
    Router,
    hybrid_similarities,
    lexical_index,
    lexical_similarities,
    neighbour_votes,
    scores_matrix,
    top_similar,
    transform,
    unit_rows,
)

_TEMPLATES = {
    "IT": [
        "vpn cannot connect error {n}",
        "laptop screen broken asset AST-{n}",
        "VPN 无法连接 错误 {n}",
        "电脑蓝屏 {n}",
    ],
    "Finance": [
        "invoice INV-{n} amount wrong",
        "reimbursement of {n} yuan delayed",
        "发票 {n} 金额 错误",
        "报销 {n} 元 未到账",
    ],
    "HR": [
        "annual leave balance {n} days wrong",
        "payslip for month {n} missing",
        "年假 {n} 天 余额 不对",
        "工资条 {n} 缺失",
    ],
}


REPO = Path(__file__).resolve().parents[2]


def _table(n_per_label: int = 40, seed: int = 0) -> TicketTable:
    rng = random.Random(seed)
    ids, texts, labels, prios = [], [], [], []
    for label, templates in _TEMPLATES.items():
        for i in range(n_per_label):
            ids.append(f"{label}-{i}")
            texts.append(rng.choice(templates).format(n=rng.randint(100, 999)) + f" case {i}")
            labels.append(label)
            prios.append(rng.choice(["P2", "P3"]))
    created = [f"2026-01-{1 + i % 28:02d}T09:00:00+08:00" for i in range(len(ids))]
    resolved = [f"2026-01-{1 + i % 28:02d}T{10 + i % 9:02d}:00:00+08:00" for i in range(len(ids))]
    return TicketTable(ids, texts, {"department": labels, "priority": prios}, created, resolved)


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    # 210 tickets: enough resolved ones (>= MIN_ROWS) for the boosted handling-time model.
    return train_bundle(_table(n_per_label=70), get_encoder("hashing:128"), version="t1")


def test_train_bundle_learns_departments(bundle: ModelBundle) -> None:
    encoder = get_encoder("hashing:128")
    texts = ["VPN 无法连接 错误 555", "invoice INV-777 amount wrong", "年假 3 天 余额 不对"]
    predictions = bundle.router.predict(texts, encoder.encode(texts))
    assert [p["department"].value for p in predictions] == ["IT", "Finance", "HR"]
    top = predictions[0]["department"]
    assert len(top.alternatives) == 3 and top.alternatives[0].value == "IT"
    assert abs(sum(a.confidence for a in top.alternatives) - 1.0) < 0.02
    assert top.examples and all(e.startswith("IT-") for e in top.examples)
    assert "department 'IT'" in top.reason


def test_train_bundle_records_model_choice_and_held_out_metrics(bundle: ModelBundle) -> None:
    chosen = bundle.manifest["params"]["heads"]["department"]
    assert chosen["lexical"].split()[0] in ("LinearSVC", "LogisticRegression")
    assert set(chosen["blend"]) >= {"knn_weight", "knn_k", "knn_sigma", "semantic_weight", "prior_weight"}
    metrics = bundle.manifest["metrics"]["department"]
    assert metrics["accuracy"] > 0.9 and 0.0 <= metrics["expected_coverage"] <= 1.0


def test_router_predicts_the_same_alone_and_in_batches(bundle: ModelBundle) -> None:
    encoder = get_encoder("hashing:128")
    table = _table(n_per_label=15, seed=7)
    texts = table.texts[: SINGLE_THREAD_BATCH + 8]  # crosses the single-thread batch limit
    vectors = encoder.encode(texts)
    batch = bundle.router.predict(texts, vectors)
    for i in (0, len(texts) - 1):
        alone = bundle.router.predict(texts[i : i + 1], vectors[i : i + 1])[0]
        assert alone["department"] == batch[i]["department"]


def test_router_predicts_the_same_from_features_worked_out_beforehand(bundle: ModelBundle) -> None:
    """``features`` (what needs no vector, computed while the vectors are) then ``predict`` with them:
    the very predictions of ``predict`` alone."""
    encoder = get_encoder("hashing:128")
    texts = _table(n_per_label=4, seed=11).texts
    vectors = encoder.encode(texts)
    features = bundle.router.features(texts)
    assert bundle.router.predict(texts, vectors, features) == bundle.router.predict(texts, vectors)


def test_router_runs_a_lexical_only_head() -> None:
    """Bundles without blend or neighbours (older ones) still predict from the lexical model."""
    from sklearn.svm import LinearSVC

    table = _table(n_per_label=10)
    vectorizer = build_vectorizer(table.texts)
    features = vectorizer.fit_transform(table.texts)
    head = Head(name="department", classifier=LinearSVC().fit(features, table.labels["department"]))
    router = Router(vectorizer, {"department": head})
    texts = ["invoice INV-123 amount wrong"]
    prediction = router.predict(texts, get_encoder("hashing:16").encode(texts))[0]["department"]
    assert prediction.value == "Finance" and prediction.examples == ()


def test_router_reads_bundles_from_before_the_blend() -> None:
    """Older bundles: one logistic regression over TF-IDF joined with the embedding (weight 2)."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    encoder = get_encoder("hashing:16")
    table = _table(n_per_label=10)
    vectorizer = build_vectorizer(table.texts).fit(table.texts)
    joint = sparse.hstack(
        [vectorizer.transform(table.texts), encoder.encode(table.texts) * 2.0], format="csr"
    )
    head = Head(name="department", classifier=LogisticRegression().fit(joint, table.labels["department"]))
    texts = ["年假 3 天 余额 不对"]
    prediction = Router(vectorizer, {"department": head}).predict(texts, encoder.encode(texts))[0]
    assert prediction["department"].value == "HR"


def test_transform_matches_sklearn_tfidf() -> None:
    table = _table(n_per_label=10)
    vectorizer = build_vectorizer(table.texts).fit(table.texts)
    texts = [*table.texts[:5], "", "全新 的 文本 unseen words 123"]
    expected = vectorizer.transform(texts).toarray()
    assert np.allclose(transform(vectorizer, texts).toarray(), expected)


def test_build_vectorizer_picks_character_grams_by_script() -> None:
    chinese = build_vectorizer(["数据库 连接 失败"] * 3).transformer_list[1][1]
    english = build_vectorizer(["database connection failed"] * 3).transformer_list[1][1]
    assert (chinese.analyzer, chinese.ngram_range) == ("char", (1, 3))
    assert (english.analyzer, english.ngram_range) == ("char_wb", (2, 4))


def test_neighbour_votes_let_a_near_duplicate_decide() -> None:
    sims = np.array([[0.999, 0.80, 0.79, 0.78]], dtype=np.float32)
    codes = np.array([0, 1, 1, 1])
    top, top_sims = top_similar(sims, 4)
    sharp = neighbour_votes(top, top_sims, codes, 2, k=4, sigma=0.02)
    flat = neighbour_votes(top, top_sims, codes, 2, k=4, sigma=10.0)
    assert sharp[0, 0] > 0.9 and flat[0, 1] > 0.7
    assert np.allclose(sharp.sum(axis=1), 1.0)


def test_leave_one_out_neighbours_exclude_self() -> None:
    vectors = get_encoder("hashing:32").encode(["a b", "a b", "c d", "e f"])
    top, top_sims = leave_one_out_neighbours(vectors, 2)
    assert top[0, 0] == 1 and top[1, 0] == 0  # the duplicate, never itself
    assert all(i not in row for i, row in enumerate(top))
    assert np.all(np.diff(top_sims, axis=1) <= 0)


def test_nearest_examples_carry_the_label_best_first_alone_and_in_a_batch() -> None:
    """Each query's k most similar training tickets with the given label, best first; a label no
    training ticket carries gives none; a row ranks the same alone as among a batch (ties included)."""
    ids = np.array([f"t{i}" for i in range(8)])
    labels = {"department": np.array(["net", "hr", "net", "net", "hr", "net", "it", "net"])}
    neighbours = Neighbours(ids, np.zeros((8, 4), dtype=np.float32), labels)
    sims = np.array(
        [
            [0.9, 0.99, 0.5, 0.7, 0.1, 0.7, 0.95, 0.2],
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
            [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
        ]
    )
    wanted = ["net", "hr", "finance"]
    together = neighbours.nearest(sims, "department", wanted)
    assert together[0] == ("t0", "t3", "t5") or together[0] == ("t0", "t5", "t3")
    assert together[1] == ("t4", "t1")  # only two training tickets are "hr"
    assert together[2] == ()
    for row in range(3):
        assert neighbours.nearest(sims[row : row + 1], "department", wanted[row : row + 1]) == [together[row]]


def test_hybrid_neighbours_average_embedding_and_tfidf_cosines() -> None:
    texts = ["job_1343 failed in scheduler", "job_1343 failed in scheduler again", "printer out of paper"]
    vectors = get_encoder("hashing:32").encode(texts)
    features = build_vectorizer(texts).fit_transform(texts)
    lexical = lexical_index(features)
    tfidf_cosine = (unit_rows(features) @ unit_rows(features).T).toarray()
    sims = hybrid_similarities(vectors, vectors, features, lexical)
    assert np.allclose(sims, (vectors @ vectors.T + tfidf_cosine) / 2, atol=1e-5)
    assert np.allclose(np.diag(sims), 1.0, atol=1e-5)
    # Without TF-IDF rows on either side it is the embeddings' cosine (bundles from before).
    assert np.allclose(hybrid_similarities(vectors, vectors), vectors @ vectors.T)
    assert np.allclose(
        Neighbours(np.array(["a", "b", "c"]), vectors, {}).similarities(vectors, features),
        vectors @ vectors.T,
    )
    top, top_sims = leave_one_out_neighbours(vectors, 1, features, lexical)
    assert top[0, 0] == 1 and top[1, 0] == 0
    assert np.isclose(top_sims[0, 0], sims[0, 1], atol=1e-5)
    # A ticket's TF-IDF half is the same alone as in a batch, bit for bit (the batch path sums each
    # query's postings as a single query does), a query without known terms included; the embeddings'
    # half within BLAS's rounding (its matrix-vector and matrix-matrix kernels may add up in another
    # order: on some CPUs a batch's cosine differs from the lone query's in the last bit).
    batch = ["printer out of paper", "zzz", "job_1343 failed"]
    batch_vectors, batch_features = (
        get_encoder("hashing:32").encode(batch),
        build_vectorizer(texts).fit(texts).transform(batch),
    )
    together = hybrid_similarities(batch_vectors, vectors, batch_features, lexical)
    no_vectors = np.zeros_like(batch_vectors)  # a zero embedding's cosines are 0 in any order
    lexical_together = hybrid_similarities(no_vectors, vectors, batch_features, lexical)
    for i in range(len(batch)):
        alone = hybrid_similarities(batch_vectors[i : i + 1], vectors, batch_features[i], lexical)
        assert np.allclose(together[i], alone[0], rtol=0, atol=1e-6)
        lexical_alone = hybrid_similarities(no_vectors[i : i + 1], vectors, batch_features[i], lexical)
        assert np.array_equal(lexical_together[i], lexical_alone[0])
    assert np.allclose(together[1], batch_vectors[1] @ vectors.T / 2)
    # The TF-IDF half worked out beforehand (Router.features, while the vectors are computed
    # elsewhere) gives the very same similarities.
    prepared = lexical_similarities(batch_features, lexical)
    assert np.array_equal(hybrid_similarities(batch_vectors, vectors, lexical=prepared), together)


def test_router_neighbours_use_the_hybrid_similarity(tmp_path: Path) -> None:
    bundle = train_bundle(_table(), get_encoder("hashing:256"), version="t")
    neighbours = bundle.router.neighbours
    assert neighbours is not None and neighbours.lexical is not None
    assert neighbours.lexical.shape[1] == len(neighbours.ids)
    bundle.save(tmp_path / "b")
    loaded = ModelBundle.load(tmp_path / "b")
    text = _table().texts[0]
    features = transform(loaded.router.vectorizer, [text])
    sims = loaded.router.neighbours.similarities(get_encoder("hashing:256").encode([text]), features)
    assert sims.max() == pytest.approx(1.0, abs=1e-4)  # the same training ticket, both cosines 1


def test_calibrated_ece_floor_shrinks_with_the_test_set() -> None:
    rng = np.random.default_rng(1)
    small, large = rng.uniform(0.2, 1.0, 167), rng.uniform(0.2, 1.0, 20_000)
    assert 0.04 < calibrated_ece_floor(small) < 0.12  # a perfectly calibrated model, 167 rows
    assert calibrated_ece_floor(large, draws=50) < 0.01
    assert calibrated_ece_floor(np.array([])) == 0.0
    assert calibrated_ece_floor(np.ones(50)) == 0.0  # always right at confidence 1: no gap


def test_router_distribution_is_what_predict_reports(bundle: ModelBundle) -> None:
    texts = _table().texts[:5]
    vectors = get_encoder(bundle.manifest["encoder"]).encode(texts)
    probs, confidence = bundle.router.distribution("department", texts, vectors)
    labels = bundle.router.heads["department"].labels
    predicted = [p["department"] for p in bundle.router.predict(texts, vectors)]
    assert [labels[i] for i in probs.argmax(axis=1)] == [p.value for p in predicted]
    assert np.allclose(np.round(confidence, 4), [p.confidence for p in predicted])


def test_scores_matrix_fills_classes_a_fold_missed() -> None:
    from sklearn.svm import LinearSVC

    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [0.1, 1.0]])
    model = LinearSVC().fit(x, np.array([0, 2, 0, 2]))
    scores = scores_matrix(model, x, 3)
    assert scores.shape == (4, 3) and np.all(scores[:, 1] == -1e3)
    assert np.allclose(scores[:, [0, 2]], model.decision_function(x)[:, None] * [-1, 1])


def test_macro_f1_matches_sklearn() -> None:
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    y, predicted = rng.integers(0, 5, 300), rng.integers(0, 6, 300)
    assert macro_f1(y, predicted, 6) == pytest.approx(
        f1_score(y, predicted, average="macro", labels=np.unique(y))
    )


def test_lexical_candidates_shrink_for_big_tables() -> None:
    from scipy import sparse

    small = sparse.random(100, 50, density=0.1, format="csr", random_state=0)
    big = sparse.random(20_000, 1000, density=0.2, format="csr", random_state=0)
    assert lexical_candidates(small, 5, 5) == LEXICAL_MODELS
    assert lexical_candidates(big, 50, 5) == LEXICAL_MODELS[:1]


def test_train_bundle_records_manifest(bundle: ModelBundle, tmp_path: Path) -> None:
    bundle.save(tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["version"] == "t1" and manifest["encoder"] == "hashing:128"
    assert set(manifest["labels"]) == {"department", "priority"}
    assert 0.0 <= manifest["metrics"]["department"]["macro_f1"] <= 1.0
    assert manifest["thresholds"]["department"]["default"] <= 1.0
    loaded = ModelBundle.load(tmp_path / "b", expected_encoder="hashing:128")
    assert loaded.version == "t1" and loaded.handling_time is not None


def test_bundle_load_refuses_other_encoder_and_schema(bundle: ModelBundle, tmp_path: Path) -> None:
    bundle.save(tmp_path / "b")
    with pytest.raises(BundleError, match="trained with encoder 'hashing:128'"):
        ModelBundle.load(tmp_path / "b", expected_encoder="use-m3")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(manifest | {"schema_version": 99}))
    with pytest.raises(BundleError, match="schema version 99"):
        ModelBundle.load(tmp_path / "b")
    with pytest.raises(BundleError, match="triage demo"):
        ModelBundle.load(tmp_path / "nothing")


def test_bundle_load_refuses_a_damaged_copy_by_its_checksums(bundle: ModelBundle, tmp_path: Path) -> None:
    bundle.save(tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert set(manifest["checksums"]) == {"router.pkl", "handling_time.json"}
    assert not list((tmp_path / "b").glob(".*.tmp"))
    router = tmp_path / "b" / "router.pkl"
    router.write_bytes(router.read_bytes()[:-10])  # a copy cut short
    with pytest.raises(BundleError, match=r"router\.pkl does not match the checksum"):
        ModelBundle.load(tmp_path / "b")


def test_handling_time_depends_on_priority(bundle: ModelBundle) -> None:
    assert bundle.handling_time is not None
    estimate = bundle.handling_time.predict("IT", "P2")
    assert 0 < estimate.p50_hours <= estimate.p90_hours
    assert estimate.sla_hours == 8.0 and 0.0 <= (estimate.breach_risk or 0.0) <= 1.0


def test_train_bundle_stores_drift_reference(bundle: ModelBundle, tmp_path: Path) -> None:
    bundle.save(tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    reference = manifest[DRIFT_REFERENCE]
    assert "out-of-fold" in reference["source"] and set(reference["heads"]) == {"department", "priority"}
    for head in ("department", "priority"):
        ref = reference["heads"][head]
        assert ref["n"] == 210
        assert len(ref["confidence_bin_edges"]) == 11 and ref["confidence_bin_edges"][::10] == [0.0, 1.0]
        assert len(ref["confidence_histogram"]) == 10
        assert sum(ref["confidence_histogram"]) == pytest.approx(1.0)
        assert 0.0 <= ref["mean_confidence"] <= 1.0
        # Abstention on the held-out predictions is the complement of the expected coverage.
        coverage = manifest["metrics"][head]["expected_coverage"]
        assert ref["abstention_rate"] == pytest.approx(1.0 - coverage)
    department = reference["heads"]["department"]
    assert department["label_distribution"] == pytest.approx({"Finance": 1 / 3, "HR": 1 / 3, "IT": 1 / 3})
    assert set(department["predicted_distribution"]) <= {"Finance", "HR", "IT"}
    # The departments are easy: held-out confidences sit high, not spread evenly.
    assert sum(department["confidence_histogram"][5:]) > 0.8
    loaded = ModelBundle.load(tmp_path / "b")
    assert loaded.drift_reference("department") == department
    assert loaded.drift_reference("category") is None


def test_bundle_without_drift_reference_still_loads(bundle: ModelBundle, tmp_path: Path) -> None:
    bundle.save(tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    del manifest[DRIFT_REFERENCE]
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(manifest))
    loaded = ModelBundle.load(tmp_path / "b")
    assert loaded.version == "t1" and loaded.drift_reference("department") is None


def test_train_bundle_handling_time_uses_text_and_creation_time(bundle: ModelBundle) -> None:
    assert bundle.handling_time is not None and bundle.handling_time.booster is not None
    booster = bundle.handling_time.booster
    assert booster.inputs == ("created_at", "text") and booster.text is not None
    estimate = bundle.handling_time.quantiles(
        "IT", "P2", created_at="2026-01-05T09:00:00+08:00", text="vpn cannot connect error 123"
    )
    assert estimate[2] == "boosted"


def test_fit_handling_time_passes_categories_texts_and_times() -> None:
    table = _table(n_per_label=70)
    categories = ["hardware" if i % 2 else "software" for i in range(len(table))]
    table = TicketTable(
        table.ids, table.texts, table.labels | {"category": categories}, table.created_at, table.resolved_at
    )
    assert len(table) >= MIN_ROWS
    model = fit_handling_time(table)
    assert model is not None and model.booster is not None
    assert model.booster.inputs == ("category", "created_at", "text")
    assert set(model.booster.levels) == {"department", "priority", "category"}


def test_fit_handling_time_needs_timestamps() -> None:
    table = _table(n_per_label=5)
    assert fit_handling_time(TicketTable(table.ids, table.texts, table.labels)) is None
    unparsable = TicketTable(table.ids, table.texts, table.labels, ["?"] * len(table), ["?"] * len(table))
    assert fit_handling_time(unparsable) is None


def test_fit_temperature_softens_overconfident_logits() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=400)
    logits = rng.normal(size=(400, 3)) * 5
    logits[np.arange(400), y] += 2.0  # right half the time, but very confident
    assert fit_temperature(logits, y) > 1.0


def test_choose_thresholds_reaches_target_on_held_out() -> None:
    confidence = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.45, 0.4, 0.35, 0.3])
    correct = np.array([1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 0, 0], dtype=bool)
    predicted = np.zeros(12, dtype=int)
    per_class, default = choose_thresholds(confidence, predicted, correct, ["A"], target=0.9)
    assert per_class["A"] == pytest.approx(0.7)
    assert default == pytest.approx(0.7)
    # A margin of standard errors asks for more than the bare target on few rows.
    stricter, default_strict = choose_thresholds(
        confidence, predicted, correct, ["A"], target=0.9, per_class=False, margin_z=1.0
    )
    assert stricter == {} and default_strict > 0.7


def test_metrics_ece_and_coverage_on_known_values() -> None:
    assert expected_calibration_error(np.array([0.9, 0.9]), np.array([1, 0])) == pytest.approx(0.4)
    assert expected_calibration_error(np.array([1.0, 1.0]), np.array([1, 1])) == pytest.approx(0.0)
    assert coverage_at_precision(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 1, 0, 0]), 0.9) == 0.5
    assert coverage_at_precision(np.array([0.9]), np.array([0]), 0.9) == 0.0


def _csv(path: Path, rows: list[dict[str, str]]) -> Path:
    import csv

    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_load_table_names_missing_columns(tmp_path: Path) -> None:
    path = _csv(tmp_path / "t.csv", [{"desc": "x", "grp": "A"}])
    with pytest.raises(DataError, match=r"'body' not found; columns are: desc, grp; pass --text"):
        load_table(path, ["body"], {"department": "grp"})


def test_load_table_rare_labels_error_fold_drop(tmp_path: Path) -> None:
    rows = [{"t": f"text {i}", "g": "A"} for i in range(6)] + [{"t": "lonely", "g": "B"}]
    path = _csv(tmp_path / "t.csv", rows)
    with pytest.raises(DataError, match=r"fewer than 5 examples: 'B' \(1\).*--rare other"):
        load_table(path, ["t"], {"department": "g"})
    folded = load_table(path, ["t"], {"department": "g"}, rare="other")
    assert folded.labels["department"].count("other") == 1
    dropped = load_table(path, ["t"], {"department": "g"}, rare="drop")
    assert len(dropped) == 6


def test_load_table_drops_empty_rows_and_keeps_repeats_unless_asked(tmp_path: Path) -> None:
    rows = [{"t": f"text {i}", "g": "A"} for i in range(5)] + [
        {"t": "text 0", "g": "A"},
        {"t": "  ", "g": "A"},
    ]
    path = _csv(tmp_path / "t.csv", rows)
    table = load_table(path, ["t"], {"department": "g"})
    assert len(table) == 6, "a repeated ticket is real traffic: kept"
    assert any("1 row(s) repeat" in n for n in table.notes) and any("empty" in n for n in table.notes)
    deduped = load_table(path, ["t"], {"department": "g"}, dedupe=True)
    assert len(deduped) == 5
    assert any("dropped 1 exact duplicate" in n for n in deduped.notes)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_load_table_reads_jsonl_and_parquet(tmp_path: Path, suffix: str) -> None:
    import pandas as pd

    frame = pd.DataFrame({"subject": [f"s{i}" for i in range(6)], "desc": ["d"] * 6, "team": ["X"] * 6})
    path = tmp_path / f"t{suffix}"
    if suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    table = load_table(path, ["subject", "desc"], {"department": "team"})
    assert table.texts[0] == "s0 d" and table.labels["department"][0] == "X"


def test_choose_thresholds_caps_a_class_right_all_the_way_down_at_the_global_threshold() -> None:
    # Class A: every held-out prediction right, all above 0.999 (an easy class); class B: wrong below 0.65.
    b_right = [0.95, 0.94, 0.93, 0.92, 0.91, 0.9, 0.89, 0.88, 0.87, 0.86]
    confidence = np.array([0.9999, 0.9995, 0.9992] * 4 + b_right + [0.6, 0.55, 0.5, 0.45])
    predicted = np.array([0] * 12 + [1] * 14)
    correct = np.array([True] * 22 + [False] * 4)
    per_class, default = choose_thresholds(confidence, predicted, correct, ["A", "B"], target=0.9)
    assert default == pytest.approx(0.55)
    assert per_class["A"] == pytest.approx(0.55)  # not 0.9992: its data ends there, its precision does not
    assert per_class["B"] == pytest.approx(0.6)  # B's own bound, where its precision falls below the target
    # A floor keeps tickets more likely wrong than right with a human, whatever the pooled precision.
    floored, default_floored = choose_thresholds(
        confidence, predicted, correct, ["A", "B"], target=0.9, floor=0.58
    )
    assert floored == {"A": pytest.approx(0.58), "B": pytest.approx(0.6)} and default_floored == 0.58


def test_load_table_trainable_refuses_what_would_train_nothing_with_the_minimum(tmp_path: Path) -> None:
    # Three rows, three labels: --rare other folds them into one label, which trains no head.
    rows = [{"t": "vpn down", "g": "IT"}, {"t": "payslip wrong", "g": "HR"}, {"t": "invoice", "g": "Finance"}]
    path = _csv(tmp_path / "t.csv", rows)
    with pytest.raises(
        DataError,
        match=r"department: 3 usable row\(s\) with one label \('other' \(3\)\) after "
        r"--rare other; training needs at least 2 departments with at least 5 examples each",
    ):
        load_table(path, ["t"], {"department": "g"}, rare="other", trainable=True)
    # The folded 'other' label must itself reach the minimum.
    rows = [{"t": f"a {i}", "g": "A", "c": "x" if i % 2 else "y"} for i in range(10)] + [
        {"t": f"b {i}", "g": f"B{i}", "c": "x"} for i in range(3)
    ]
    with pytest.raises(
        DataError,
        match=r"department: label\(s\) with fewer than 5 examples after --rare other: "
        r"'other' \(3\)",
    ):
        load_table(_csv(tmp_path / "u.csv", rows), ["t"], {"department": "g"}, rare="other", trainable=True)


def test_load_table_trainable_names_the_head_that_cannot_be_trained(tmp_path: Path) -> None:
    rows = [{"t": f"text {i}", "g": "AB"[i % 2], "c": "only"} for i in range(12)]
    with pytest.raises(
        DataError, match=r"^category: 12 usable row\(s\) with one label.*2 categories.*--category"
    ):
        load_table(
            _csv(tmp_path / "t.csv", rows), ["t"], {"department": "g", "category": "c"}, trainable=True
        )


def test_router_abstains_on_a_language_it_was_not_trained_on(bundle: ModelBundle) -> None:
    assert {"en", "zh"} <= set(bundle.manifest["languages"]) and "de" not in bundle.manifest["languages"]
    encoder = get_encoder("hashing:128")
    texts = [
        "Mein Laptop startet seit heute Morgen nicht mehr und der Bildschirm bleibt schwarz",
        "my laptop does not start since this morning and the screen stays black",
        "电脑蓝屏 无法 开机 已经 三次",
    ]
    german, english, chinese = bundle.router.predict(texts, encoder.encode(texts))
    for head, prediction in german.items():
        assert prediction.abstained, head
        assert "language 'de'" in prediction.reason and "not trained on" in prediction.reason
    assert not any("not trained on" in p.reason for p in (*english.values(), *chinese.values()))


def test_router_from_before_languages_holds_no_language(bundle: ModelBundle) -> None:
    old = Router(bundle.router.vectorizer, bundle.router.heads, bundle.router.neighbours)
    assert old.untrained_language("Mein Laptop startet seit heute Morgen nicht mehr, bitte helfen") is None


def test_a_saved_bundle_holds_no_scikit_learn_object_and_predicts_the_same(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    bundle.save(tmp_path / "b")
    stored = {
        str(arg)
        for op, arg, _ in pickletools.genops((tmp_path / "b" / ROUTER).read_bytes())
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "GLOBAL")
    }
    assert not [name for name in stored if name.startswith("sklearn")]
    loaded = ModelBundle.load(tmp_path / "b")
    texts = [*_table(n_per_label=3, seed=5).texts, "VPN 无法连接 错误 555", "invoice INV-777", ""]
    vectors = get_encoder("hashing:128").encode(texts)
    assert loaded.router.predict(texts, vectors) == bundle.router.predict(texts, vectors)


def test_a_saved_bundle_loads_and_predicts_without_scikit_learn(bundle: ModelBundle, tmp_path: Path) -> None:
    """Serving imports neither scikit-learn nor scipy.stats (with it): 1.3 s of the demo server's start."""
    bundle.save(tmp_path / "b")
    script = (
        "import sys\nfrom pathlib import Path\nfrom embeddings import get_encoder\n"
        "from triage.bundle import ModelBundle\n"
        f"b = ModelBundle.load(Path({str(tmp_path / 'b')!r}))\n"
        "texts = ['VPN 无法连接 错误 555', 'invoice INV-777 amount wrong']\n"
        "b.router.predict(texts, get_encoder('hashing:128').encode(texts))\n"
        "assert b.handling_time is not None and b.handling_time.booster is not None\n"
        "b.handling_time.predict('IT', 'P2', created_at='2026-01-05T09:00:00+08:00', text=texts[0])\n"
    )
    assert imported_after(script, ("sklearn", "scipy.stats", "pandas")) == []
