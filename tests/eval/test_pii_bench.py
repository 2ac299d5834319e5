"""The person-name PII benchmark: its tables, and a run over the real labelled rows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from eval.fields_bench import Counts
from eval.pii_bench import labelled, render
from triage.fields import FieldExtractor


def test_pii_bench_render_shows_precision_recall_and_kept_counts() -> None:
    first = {"itsm": (Counts(tp=8, predicted=10, gold=20), Counts(tp=8, predicted=8, gold=20))}
    second = {"set, 5 rows": Counter({("rule", True): 2, ("ner", False): 7, ("ner", True): 1})}
    text = render(first, second)
    assert "| itsm | 20 | 0.80 / 0.40 (10 spans) | 1.00 / 0.40 (8 spans) |" in text
    assert "| set, 5 rows | 2 (2) | 8 (1) |" in text


@pytest.mark.data
@pytest.mark.slow
def test_pii_bench_names_on_labelled_rows_are_never_less_precise(shared_datasets: Path) -> None:
    extractor = FieldExtractor()
    extractor.load()
    result = labelled(extractor, shared_datasets)
    every, names = result["itsm"]
    assert every.gold > 0 and names.predicted > 0
    assert names.precision >= every.precision and names.predicted <= every.predicted
