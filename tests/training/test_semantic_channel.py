"""The semantic channel: training picks the encoder the router's semantic model and neighbours read
by out-of-fold evidence, records the choice and its cost, and the bundle serves it back."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import shutil
import string
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from embeddings import Encoder, get_encoder, register_encoder
from embeddings.registry import normalise
from training.data import TicketTable
from training.train import channel_gain, train_bundle
from triage.bundle import CHANNEL_ENCODER, ModelBundle

_LABELS = ("network", "payroll", "printing")


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(9))


def _vocabulary(seed: int = 0, per_label: int = 400) -> dict[str, str]:
    """Made-up words, each meaning one label: a word appears in one ticket only, so the TF-IDF
    features (min_df 2) and a hashing encoder learn nothing from it; only an encoder that knows
    what the words mean does."""
    rng = random.Random(seed)
    return {_word(rng): label for label in _LABELS for _ in range(per_label)}


VOCABULARY = _vocabulary()


class MeaningEncoder:
    """An encoder that knows which label each made-up word means (a stand-in for a model that
    understands paraphrases the words do not share): 16-d, the label's axis plus noise."""

    dim = 16

    def __init__(self, arg: str = "") -> None:
        self.name = "meaning"
        self.calls = 0

    def load(self) -> None:
        return None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            rng = np.random.default_rng(int(hashlib.sha256(text.encode()).hexdigest()[:8], 16))
            out[row] = rng.normal(0, 0.3, self.dim)
            for word in text.split():
                label = VOCABULARY.get(word)
                if label is not None:
                    out[row, _LABELS.index(label)] += 1.0
        return normalise(out)


@register_encoder("meaning")
def _meaning(arg: str) -> Encoder:
    return MeaningEncoder(arg)


def _table(n_per_label: int = 60, offset: int = 0) -> TicketTable:
    by_label: dict[str, list[str]] = {label: [] for label in _LABELS}
    for word, label in VOCABULARY.items():
        by_label[label].append(word)
    ids, texts, labels = [], [], []
    for label in _LABELS:
        words = by_label[label][offset : offset + 2 * n_per_label]
        for i in range(n_per_label):
            ids.append(f"{label}-{offset + i}")
            texts.append(f"please help {words[2 * i]} {words[2 * i + 1]} thanks")
            labels.append(label)
    return TicketTable(ids, texts, {"department": labels})


@pytest.fixture(scope="module")
def chosen() -> ModelBundle:
    return train_bundle(
        _table(),
        get_encoder("hashing:64"),
        version="c1",
        channels=[MeaningEncoder(), get_encoder("hashing:16")],
    )


def test_training_picks_the_channel_that_wins_out_of_fold(chosen: ModelBundle) -> None:
    record = chosen.manifest["semantic_channel"]
    assert record["chosen"] == "meaning"
    assert record["service_encoder"] == "hashing:64"
    assert record["extra_encoding_per_ticket"] is True
    candidates = record["candidates"]
    assert set(candidates) == {"hashing:64", "meaning", "hashing:16"}
    meaning = candidates["meaning"]
    assert meaning["gain"] > meaning["gain_se"] > 0
    assert meaning["oof_score"] > candidates["hashing:64"]["oof_score"] + 0.2
    assert candidates["hashing:64"]["gain"] == 0.0
    assert all(c["ms_per_ticket"] > 0 for c in candidates.values())
    assert all(0.0 <= f1 <= 1.0 for f1 in meaning["per_language_macro_f1"].values())
    per_language = record["per_language"]
    assert per_language is not None and isinstance(per_language["worth_serving"], bool)
    assert all(r["channel"] in candidates for r in per_language["languages"].values())
    assert chosen.router.channel == "meaning"
    assert chosen.manifest["params"]["heads"]["department"]["blend"]["semantic_weight"] > 0 or (
        chosen.manifest["params"]["heads"]["department"]["blend"]["knn_weight"] > 0
    )


def test_the_chosen_channel_routes_new_tickets_from_text_alone(chosen: ModelBundle) -> None:
    test = _table(n_per_label=20, offset=200)  # words never seen in training
    service = get_encoder("hashing:64")
    predictions = chosen.router.predict(test.texts, service.encode(test.texts))
    accuracy = np.mean(
        [p["department"].value == y for p, y in zip(predictions, test.labels["department"], strict=True)]
    )
    assert accuracy > 0.9
    # Without the channel (the service encoder's vectors only), the same words say nothing.
    plain = train_bundle(_table(), service, version="c0")
    assert plain.manifest["semantic_channel"]["chosen"] == "hashing:64"
    assert plain.router.channel is None
    baseline = plain.router.predict(test.texts, service.encode(test.texts))
    plain_accuracy = np.mean(
        [p["department"].value == y for p, y in zip(baseline, test.labels["department"], strict=True)]
    )
    assert plain_accuracy < 0.6


def test_a_channel_that_does_not_beat_its_standard_error_is_not_chosen() -> None:
    bundle = train_bundle(_table(), MeaningEncoder(), version="c2", channels=[get_encoder("hashing:64")])
    record = bundle.manifest["semantic_channel"]
    assert record["chosen"] == "meaning"
    assert record["extra_encoding_per_ticket"] is False
    assert record["candidates"]["hashing:64"]["gain"] < 0
    assert bundle.router.channel is None


def test_bundle_round_trip_encodes_with_the_channel(chosen: ModelBundle, tmp_path: Path) -> None:
    chosen.save(tmp_path / "b")
    assert not (tmp_path / "b" / CHANNEL_ENCODER).exists()  # not an ONNX directory: the spec is enough
    loaded = ModelBundle.load(tmp_path / "b", expected_encoder="hashing:64")
    assert loaded.router.channel == "meaning"
    test = _table(n_per_label=5, offset=300)
    service = get_encoder("hashing:64").encode(test.texts)
    before = [p["department"] for p in chosen.router.predict(test.texts, service)]
    after = [p["department"] for p in loaded.router.predict(test.texts, service)]
    assert before == after


def test_channel_gain_is_zero_for_identical_predictions_and_has_spread() -> None:
    from training.train import HeadData

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    data = HeadData("department", ["a", "b", "c"], y, np.log(np.full(3, 1 / 3)), [], {})
    same = np.where(rng.random(300) < 0.7, y, (y + 1) % 3)
    assert channel_gain([data], [same], [same]) == (0.0, 0.0)
    better = np.where(rng.random(300) < 0.9, y, (y + 1) % 3)
    gain, se = channel_gain([data], [same], [better])
    assert gain > 0.1
    assert 0 < se < gain


@pytest.mark.slow
def test_an_onnx_channel_travels_inside_the_bundle(tmp_path: Path) -> None:
    from training.finetune import export_onnx

    export_onnx("minilm", tmp_path / "minilm-int8")
    onnx = get_encoder(f"onnx:{tmp_path / 'minilm-int8'}")
    table = TicketTable(
        [f"t{i}" for i in range(60)],
        [f"{w} problem number {i}" for i in range(60) for w in [("printer", "salary", "wifi")[i % 3]]],
        {"department": [("print", "pay", "net")[i % 3] for i in range(60)]},
    )
    trained = train_bundle(table, onnx, version="o1")
    # The same router, as if a service on hashing:64 had chosen this ONNX channel.
    router = dataclasses.replace(trained.router, channel=onnx.name, channel_encoder=None)
    bundle = ModelBundle(
        manifest={**trained.manifest, "encoder": "hashing:64"}, router=router, handling_time=None
    )
    bundle.save(tmp_path / "bundle")
    assert (tmp_path / "bundle" / CHANNEL_ENCODER / "model.onnx").is_file()
    shutil.rmtree(tmp_path / "minilm-int8")  # the bundle needs only its own copy
    loaded = ModelBundle.load(tmp_path / "bundle")
    texts = ["the printer jams", "my salary is late", "wifi drops every hour"]
    junk = np.zeros((3, 64), dtype=np.float32)
    got = [p["department"].value for p in loaded.router.predict(texts, junk)]
    want = [p["department"].value for p in trained.router.predict(texts, onnx.encode(texts))]
    assert got == want


def test_a_channel_per_language_is_weighed_against_one_per_bundle() -> None:
    from training.train import HeadData, language_channels

    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 600)
    data = HeadData("department", ["a", "b", "c"], y, np.log(np.full(3, 1 / 3)), [], {})
    codes = ["en"] * 450 + ["de"] * 140 + ["fr"] * 10
    english = np.arange(600) < 450

    def right(share: np.ndarray) -> np.ndarray:
        return np.where(rng.random(600) < share, y, (y + 1) % 3)

    service = right(np.full(600, 0.7))
    # The candidate helps English and hurts German.
    candidate = right(np.where(english, 0.95, 0.3))
    ms = {"svc": 2.0, "cand": 5.0}
    record = language_channels(codes, [data], {"svc": [service], "cand": [candidate]}, "cand", ms, "svc")
    assert set(record["languages"]) == {"en", "de"}  # fr has too few tickets to read
    assert record["languages"]["de"]["channel"] == "svc"
    assert record["languages"]["de"]["gain"] > record["languages"]["de"]["gain_se"] > 0
    assert record["languages"]["de"]["ms_per_ticket"] == 2.0
    assert record["languages"]["en"]["channel"] == "cand"
    assert record["languages"]["en"]["ms_per_ticket"] == 7.0
    assert record["mixed_gain"] > record["mixed_gain_se"] > 0
    assert record["worth_serving"] is True

    same = language_channels(codes, [data], {"svc": [service], "cand": [service]}, "svc", ms, "svc")
    assert all(r["channel"] == "svc" for r in same["languages"].values())
    assert (same["mixed_gain"], same["worth_serving"]) == (0.0, False)


def test_each_head_keeps_the_ridge_unless_another_semantic_model_beats_it_by_one_se(
    chosen: ModelBundle,
) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from training.train import (
        CHANNEL_MARGIN_Z,
        KNN_KS,
        SEMANTIC_MODELS,
        _evidence,
        _head_data,
        _search_channel,
        leave_one_out_neighbours,
        lexical_index,
        out_of_fold,
        search_blend,
    )
    from triage.routing import blend_logits

    head = chosen.manifest["params"]["heads"]["department"]
    assert head["semantic"] is None or head["semantic"] in SEMANTIC_MODELS
    table = _table()
    features = TfidfVectorizer(min_df=1).fit_transform(table.texts).tocsr()
    vectors = MeaningEncoder().encode(table.texts)
    data = _head_data("department", features, table.labels["department"], 5)
    top = leave_one_out_neighbours(vectors, max(KNN_KS), features, lexical_index(features))
    fit = _search_channel(data, vectors, *top)
    predicted = {}
    for name, make in SEMANTIC_MODELS.items():
        semantic = out_of_fold([make], vectors, data.y, len(data.labels), data.splits)[0]
        choice = search_blend(data.lexical_oof, semantic, *top, data.y, data.log_prior)
        evidence = _evidence(data, choice, semantic, *top)
        predicted[name] = blend_logits(evidence, choice.blend, data.log_prior).argmax(axis=1)
    ridge, logistic = SEMANTIC_MODELS
    gain, se = channel_gain([data], [predicted[ridge]], [predicted[logistic]])
    expected = logistic if gain > 0 and gain - CHANNEL_MARGIN_Z * se > 0 else ridge
    assert fit.semantic_model == expected
    assert np.array_equal(fit.predicted, predicted[expected])
