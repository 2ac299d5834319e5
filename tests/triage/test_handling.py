from __future__ import annotations

import dataclasses
import itertools
import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from triage.handling import (
    DEFAULT_SLA_HOURS,
    HandlingRequest,
    HandlingTimeModel,
    _Forest,
    _regressor,
    _TextProjection,
    _vectorizer_factory,
)
from triage.types import HandlingTime

_DEPARTMENTS = {"IT": 2.0, "Finance": 12.0, "HR": 40.0}  # median hours per department
_WORDS = {"IT": "vpn 无法连接 password", "Finance": "invoice 发票 amount", "HR": "leave 假期 contract"}
_SLOW_WORD = "escalated 升级"  # tickets that mention it take ~4x longer


def _tickets(n: int, seed: int = 0) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    names = list(_DEPARTMENTS)
    departments = [names[i] for i in rng.integers(0, len(names), n)]
    priorities = [f"P{i}" for i in rng.integers(1, 5, n)]
    slow = rng.random(n) < 0.3
    start = datetime(2024, 1, 1)
    created = [start + timedelta(hours=float(h)) for h in rng.uniform(0, 24 * 60, n)]
    hours = [
        float(_DEPARTMENTS[d] * (4.0 if s else 1.0) * math.exp(rng.normal(0.0, 0.5)))
        for d, s in zip(departments, slow, strict=True)
    ]
    texts = [
        f"{_WORDS[d]} ticket {i}" + (f" {_SLOW_WORD}" if s else "")
        for i, (d, s) in enumerate(zip(departments, slow, strict=True))
    ]
    categories = [("hardware" if i % 2 else "software") for i in range(n)]
    return {
        "departments": departments,
        "priorities": priorities,
        "hours": hours,
        "categories": categories,
        "created_at": created,
        "texts": texts,
    }


def _fit(data: dict[str, list], **kwargs: object) -> HandlingTimeModel:
    return HandlingTimeModel.fit(
        data["departments"],
        data["priorities"],
        data["hours"],
        categories=data["categories"],
        created_at=data["created_at"],
        texts=data["texts"],
        **kwargs,  # type: ignore[arg-type]
    )


def _predict_all(model: HandlingTimeModel, data: dict[str, list]) -> list[HandlingTime]:
    return [
        model.predict(d, p, category=c, created_at=t, text=x)
        for d, p, c, t, x in zip(
            data["departments"],
            data["priorities"],
            data["categories"],
            data["created_at"],
            data["texts"],
            strict=True,
        )
    ]


@pytest.fixture(scope="module")
def boosted() -> HandlingTimeModel:
    return _fit(_tickets(600))


def test_fit_boosts_with_enough_rows_and_orders_quantiles(boosted: HandlingTimeModel) -> None:
    assert boosted.booster is not None
    test = _tickets(200, seed=1)
    sources = {
        boosted.quantiles(d, p, category=c, created_at=t, text=x)[2]
        for d, p, c, t, x in zip(
            test["departments"],
            test["priorities"],
            test["categories"],
            test["created_at"],
            test["texts"],
            strict=True,
        )
    }
    assert sources == {"boosted"}
    for answer in _predict_all(boosted, test):
        assert 0.0 <= answer.p50_hours <= answer.p90_hours


def test_boosting_learns_department_and_text(boosted: HandlingTimeModel) -> None:
    when = datetime(2024, 3, 4, 10, 0)
    # Texts shaped like the training ones: the SVD of a few hundred templated texts extrapolates badly.
    it = boosted.predict("IT", "P2", category="software", created_at=when, text=f"{_WORDS['IT']} ticket 312")
    hr = boosted.predict("HR", "P2", category="software", created_at=when, text=f"{_WORDS['HR']} ticket 312")
    slow = boosted.predict(
        "IT", "P2", category="software", created_at=when, text=f"{_WORDS['IT']} ticket 312 {_SLOW_WORD}"
    )
    assert hr.p50_hours > 5 * it.p50_hours
    assert slow.p50_hours > 2 * it.p50_hours


def test_p90_covers_about_ninety_percent_of_unseen_tickets(boosted: HandlingTimeModel) -> None:
    test = _tickets(1000, seed=2)
    answers = _predict_all(boosted, test)
    coverage = np.mean([h <= a.p90_hours for h, a in zip(test["hours"], answers, strict=True)])
    below_median = np.mean([h <= a.p50_hours for h, a in zip(test["hours"], answers, strict=True)])
    assert 0.85 <= coverage <= 0.95
    assert 0.4 <= below_median <= 0.6


def test_fit_backs_off_to_groups_with_little_data() -> None:
    data = _tickets(120)
    data["departments"][:3] = ["Legal"] * 3  # a group far below min_group
    data["priorities"][:3] = ["P1"] * 3
    model = _fit(data)
    assert model.booster is None
    answer = model.predict("Legal", "P1", category="x", created_at=datetime(2024, 1, 1), text="t")
    p1_hours = [h for h, p in zip(data["hours"], data["priorities"], strict=True) if p == "P1"]
    assert "Legal|P1" not in model.groups
    assert answer.p50_hours == round(float(np.percentile(p1_hours, 50)), 2)
    assert answer.p50_hours <= answer.p90_hours


def test_predict_falls_back_to_groups_without_text_or_time(boosted: HandlingTimeModel) -> None:
    when = datetime(2024, 3, 4, 10, 0)
    assert boosted.quantiles("IT", "P2", category="software", created_at=when, text="vpn")[2] == "boosted"
    assert boosted.quantiles("IT", "P2", category="software", created_at=when)[2] == "grouped"
    assert boosted.quantiles("IT", "P2", category="software", text="vpn")[2] == "grouped"
    # The old call still answers, from the department x priority group.
    assert boosted.predict("IT", "P2").p50_hours == round(boosted.groups["IT|P2"][50], 2)


def test_predict_many_answers_as_predict_does_ticket_by_ticket(boosted: HandlingTimeModel) -> None:
    data = _tickets(40, seed=3)
    requests = [
        HandlingRequest(d, p, category=c, created_at=t, text=x)
        for d, p, c, t, x in zip(
            data["departments"],
            data["priorities"],
            data["categories"],
            data["created_at"],
            data["texts"],
            strict=True,
        )
    ]
    # Some fall back to their group (no text, no time, an unknown priority, nothing at all).
    requests += [
        HandlingRequest("IT", "P2", created_at=datetime(2024, 3, 4, 10, 0)),
        HandlingRequest("IT", "P2", text="vpn"),
        HandlingRequest("IT", "P9", created_at=datetime(2024, 3, 4, 10, 0), text="vpn"),
        HandlingRequest(None, None),
    ]
    single = [
        boosted.predict(r.department, r.priority, category=r.category, created_at=r.created_at, text=r.text)
        for r in requests
    ]
    assert boosted.predict_many(requests) == single
    assert boosted.predict_many([]) == []
    # The text rows worked out beforehand (while a ticket is encoded), for all of them at once.
    texts = [r.text or "" for r in requests]
    rows = boosted.text_projection(texts)
    assert rows is not None and len(rows) == len(requests)
    projected = [dataclasses.replace(r, projection=row) for r, row in zip(requests, rows, strict=True)]
    assert boosted.predict_many(projected) == single
    no_text = HandlingTimeModel.from_dict({**boosted.to_dict(), "booster": None})
    assert no_text.text_projection(texts) is None


@pytest.mark.parametrize("boost", [True, False])
def test_breach_risk_falls_as_the_sla_grows(boosted: HandlingTimeModel, boost: bool) -> None:
    model = HandlingTimeModel.from_dict({**boosted.to_dict(), **({} if boost else {"booster": None})})
    risks = []
    for sla in (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 512.0):
        model.sla_hours = {"P2": sla}
        risk = model.predict(
            "IT", "P2", category="software", created_at=datetime(2024, 3, 4), text="vpn"
        ).breach_risk
        assert risk is not None and 0.0 <= risk <= 1.0
        risks.append(risk)
    assert all(a >= b for a, b in itertools.pairwise(risks))
    assert risks[0] > 0.9 and risks[-1] < 0.1


def test_breach_risk_is_none_without_an_sla_for_the_priority(boosted: HandlingTimeModel) -> None:
    answer = boosted.predict("IT", None)
    assert answer.sla_hours is None and answer.breach_risk is None
    assert boosted.predict("IT", "P1").sla_hours == DEFAULT_SLA_HOURS["P1"]


@pytest.mark.parametrize("rows", [600, 60])
def test_persistence_round_trip_through_json(rows: int) -> None:
    data = _tickets(rows)
    model = _fit(data)
    assert (model.booster is not None) == (rows >= 200)
    restored = HandlingTimeModel.from_dict(json.loads(json.dumps(model.to_dict())))
    test = _tickets(50, seed=3)
    assert _predict_all(restored, test) == _predict_all(model, test)
    assert restored.sla_hours == model.sla_hours and restored.groups == model.groups


def test_fit_ignores_nan_infinite_and_negative_durations() -> None:
    clean = _tickets(300)
    dirty = {k: list(v) for k, v in clean.items()}
    for bad in (float("nan"), -5.0, float("inf"), -0.01):
        for key, value in _tickets(1, seed=9).items():
            dirty[key].append(value[0])
        dirty["hours"][-1] = bad
    clean_model, dirty_model = _fit(clean), _fit(dirty)
    assert dirty_model.groups == clean_model.groups
    test = _tickets(30, seed=4)
    assert _predict_all(dirty_model, test) == _predict_all(clean_model, test)


def test_fit_rejects_data_without_any_usable_duration() -> None:
    with pytest.raises(ValueError, match="no usable handling times"):
        HandlingTimeModel.fit(["IT", "HR"], ["P1", "P2"], [float("nan"), -1.0])


def test_fit_rejects_columns_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="texts has 1 rows"):
        HandlingTimeModel.fit(["IT", "HR"], ["P1", "P2"], [1.0, 2.0], texts=["one"])


def test_forest_copy_predicts_like_the_regressor() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6))
    x[::4, 2] = np.nan
    y = x[:, 0] + np.nan_to_num(x[:, 2]) + rng.normal(size=400)
    from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: F401  (loads OpenMP first)

    with threadpool_limits(limits=1, user_api="openmp"):  # oversubscribed OpenMP is 100x slower here
        models = [_regressor(0.5, 0).fit(x, y), _regressor(0.9, 0).fit(x, y)]
    forest = _Forest.of(models)
    np.testing.assert_allclose(forest.predict(x), np.column_stack([m.predict(x) for m in models]), atol=1e-9)
    # The table walk gives the very floats of the plain walk (node by node, left or right), for a
    # batch, one row alone and rows without missing values.
    assert np.array_equal(forest.predict(x), _plain_walk(forest, x))
    assert np.array_equal(forest.predict(x[:1]), _plain_walk(forest, x[:1]))
    assert np.array_equal(forest.predict(x[1:4]), _plain_walk(forest, x[1:4]))
    restored = _Forest.from_dict(forest.to_dict())
    assert np.array_equal(restored.predict(x), forest.predict(x))


def _plain_walk(forest: _Forest, x: np.ndarray) -> np.ndarray:
    rows = np.arange(x.shape[0])[:, None]
    node = np.broadcast_to(forest.roots, (x.shape[0], len(forest.roots)))
    for _ in range(forest.depth):
        values = x[rows, forest.feature[node]]
        go_left = (values <= forest.threshold[node]) | (np.isnan(values) & forest.missing_left[node])
        node = np.where(go_left, forest.left[node], forest.right[node])
    leaves = forest.value[node]
    out = np.tile(forest.baselines, (x.shape[0], 1))
    for output in range(len(forest.baselines)):
        out[:, output] += leaves[:, forest.outputs == output].sum(axis=1)
    return out


def test_text_projection_matches_sklearn_tfidf() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = [f"{_WORDS[d]} ticket {i}" for i, d in enumerate(list(_DEPARTMENTS) * 40)]
    projection = _TextProjection.fit(docs, seed=0)
    assert projection is not None
    tfidf = _vectorizer_factory(TfidfVectorizer).fit_transform(docs)
    np.testing.assert_allclose(projection.transform(docs), tfidf @ projection.components.T, atol=1e-5)


@pytest.mark.data
@pytest.mark.slow
def test_p90_covers_real_cn_ict_fault_durations(shared_datasets: Path) -> None:
    from eval.handling_bench import load_cn_ict

    data = load_cn_ict(shared_datasets)
    train, test = data.train, data.test
    model = HandlingTimeModel.fit(
        train.departments,
        train.priorities,
        train.hours,
        categories=train.categories,
        created_at=train.created_at,
        texts=train.texts,
    )
    assert model.booster is not None
    answers = [
        model.predict(d, p, category=c, created_at=t, text=x)
        for d, p, c, t, x in zip(
            test.departments, test.priorities, test.categories, test.created_at, test.texts, strict=True
        )
    ]
    coverage = np.mean([h <= a.p90_hours for h, a in zip(test.hours, answers, strict=True)])
    assert 0.80 <= coverage <= 0.97
    global_median = float(np.median(train.hours))
    ours = np.mean([abs(h - a.p50_hours) for h, a in zip(test.hours, answers, strict=True)])
    assert ours < np.mean(np.abs(test.hours - global_median))


def test_breach_risk_is_checked_against_held_out_outcomes_and_recalibrated() -> None:
    # Two populations the log-normal through p50/p90 cannot describe: most tickets are quick, a
    # third take days whatever their text says, so the raw risk near the middle is off.
    data = _tickets(800, seed=4)
    rng = np.random.default_rng(1)
    data["hours"] = [h * (30.0 if rng.random() < 0.3 else 0.3) for h in data["hours"]]
    model = _fit(data)
    report = model.breach_calibration
    assert report is not None and report["bins"]
    assert sum(b["n"] for b in report["bins"]) == 800  # every priority has a default SLA target
    assert report["applied"] == (report["brier_calibrated"] < report["brier_raw"])
    gap = {
        column: sum(b["n"] * abs(b[column] - b["observed"]) for b in report["bins"]) / 800
        for column in ("predicted", "calibrated")
    }
    assert report["applied"] and gap["calibrated"] < gap["predicted"]
    # The map is what predict applies, and it survives the JSON round trip.
    restored = HandlingTimeModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert restored.breach_map == model.breach_map is not None
    raw = HandlingTimeModel.from_dict({**model.to_dict(), "breach_map": None})
    test = _tickets(50, seed=3)
    risks = [a.breach_risk for a in _predict_all(model, test)]
    assert risks != [a.breach_risk for a in _predict_all(raw, test)]
    assert all(r is not None and 0.01 <= r <= 0.99 for r in risks)
