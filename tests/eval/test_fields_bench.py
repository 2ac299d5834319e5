"""The hand-labelled field set: well-formed without data, true to its texts and beating regexes with it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from eval.fields_bench import (
    HELDOUT,
    LABELS,
    extractor_method,
    load_heldout,
    load_labels,
    load_texts,
    match_counts,
    micro,
    predict_all,
    regex_baseline,
    score,
    span_problems,
)
from triage.fields import FIELD_TYPES, FieldExtractor

MIN_TICKETS = 200
MIN_PER_DATASET = 100


def _records() -> list[dict[str, object]]:
    return [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_field_labels_are_well_formed() -> None:
    records = _records()
    per_dataset = Counter(str(r["dataset"]) for r in records)
    assert len(records) >= MIN_TICKETS
    assert set(per_dataset) == {"itsm", "cn-ict"}
    assert min(per_dataset.values()) >= MIN_PER_DATASET, per_dataset
    keys = [(r["dataset"], r["id"]) for r in records]
    assert len(keys) == len(set(keys)), "a ticket is labelled twice"
    for record in records:
        assert set(record) == {"dataset", "id", "spans"}, "labels hold ids, offsets and types only"
        assert isinstance(record["id"], str) and record["id"]
        spans = record["spans"]
        assert isinstance(spans, list)
        for start, end, kind in spans:
            assert isinstance(start, int) and isinstance(end, int) and 0 <= start < end, record["id"]
            assert kind in FIELD_TYPES, (record["id"], kind)
    assert len(load_labels()) == len(records)


def test_load_labels_rejects_unknown_type(tmp_path: Path) -> None:
    bad = tmp_path / "labels.jsonl"
    bad.write_text('{"dataset": "itsm", "id": "1", "spans": [[0, 3, "colour"]]}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown type 'colour'"):
        load_labels(bad)


def test_match_counts_exact_and_overlap_differ_on_boundaries() -> None:
    gold = [(0, 10, "datetime"), (20, 25, "email")]
    predicted = [(0, 8, "datetime"), (20, 25, "email"), (30, 35, "email")]
    exact = micro(match_counts(predicted, gold, "exact"))
    overlap = micro(match_counts(predicted, gold, "overlap"))
    assert (exact.tp, exact.predicted, exact.gold) == (1, 3, 2)
    assert (overlap.tp, overlap.predicted, overlap.gold) == (2, 3, 2)
    assert micro(match_counts([(0, 8, "date")], gold, "overlap")).tp == 0  # the type must agree


def test_regex_baseline_finds_plain_patterns() -> None:
    text = "mail a.b@example.com from 10.1.2.3 on 2024-03-05 10:30, error ORA-00600"
    kinds = [kind for _, _, kind in regex_baseline(text)]
    assert kinds == ["email", "ipv4", "datetime", "error_code"]


@pytest.mark.data
def test_field_label_spans_fit_their_texts(shared_datasets: Path) -> None:
    tickets = load_labels()
    texts = load_texts(shared_datasets, tickets)
    assert span_problems(tickets, texts) == []


@pytest.mark.data
@pytest.mark.slow
def test_ours_beats_regex_baseline_on_overlap_micro_f1(shared_datasets: Path) -> None:
    tickets = load_labels()
    texts = load_texts(shared_datasets, tickets)
    extractor = FieldExtractor(use_ner=True)
    extractor.load()
    predictions = predict_all({"ours": extractor_method(extractor), "regex": regex_baseline}, tickets, texts)
    ours = micro(score(predictions["ours"], tickets, "overlap")).f1
    regex = micro(score(predictions["regex"], tickets, "overlap")).f1
    assert ours > regex, (ours, regex)


def test_heldout_labels_are_well_formed_and_apart_from_the_tuning_set() -> None:
    tickets, values = load_heldout()
    per_dataset = Counter(t.dataset for t in tickets)
    assert len(tickets) >= 100 and set(per_dataset) == {"itsm", "cn-ict"}
    assert not {(t.dataset, t.id) for t in tickets} & {(t.dataset, t.id) for t in load_labels()}
    header = HELDOUT.read_text(encoding="utf-8").splitlines()[0]
    assert header == "dataset,split,row_id,field_type,start,end,value", "ids, offsets and values only"
    spans = {(t.dataset, t.id, s, e): kind for t in tickets for s, e, kind in t.spans}
    assert values and all(spans[key] in ("date", "datetime") for key in values)


def test_load_heldout_rejects_unknown_type(tmp_path: Path) -> None:
    bad = tmp_path / "heldout.csv"
    bad.write_text(
        "dataset,split,row_id,field_type,start,end,value\nitsm,test,1,colour,0,3,\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="unknown type 'colour'"):
        load_heldout(bad)


@pytest.mark.data
def test_heldout_label_spans_fit_their_texts(shared_datasets: Path) -> None:
    tickets, _ = load_heldout()
    texts = load_texts(shared_datasets, tickets)
    assert span_problems(tickets, texts) == []
