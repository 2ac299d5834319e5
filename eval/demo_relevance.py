"""Similar-case scores on the generated demo: why the relevance floors stay off there.

``python -m eval.demo_relevance [--tickets 3600] [--encoder use-m3]``

Builds the demo's knowledge base as ``triage demo`` does (the generated tickets and articles,
seed ``training.demo.DEMO_SEED``) in a temporary folder, then searches it (``KnowledgeBase.search``,
k=3, floors off, exactly as the service) with a few relevant and off-topic tickets, and prints each
one's best scores beside the floor fitted on the shared datasets for its language
(``knowledge.base.RELEVANCE_FLOORS``). README's "Relevance floor" cites these figures.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from embeddings import Encoder, get_encoder
from knowledge import DocumentStore, KnowledgeBase
from knowledge.base import RELEVANCE_FLOORS
from knowledge.text import identify_language
from training.demo import DEMO_SEED, DEMO_TICKETS, case_documents
from training.sample_data import generate_articles, generate_tickets
from triage.features import model_text

# (what it is, whether a demo case should answer it, the ticket text)
QUERIES: tuple[tuple[str, bool, str], ...] = (
    (
        "the console's Chinese example",
        True,
        model_text(
            "VPN 无法连接",
            "您好，从今天早上开始 VPN 连不上，报错 809，主机 srv-vpn-02 (10.2.3.4)。请尽快处理，谢谢！",
        ),
    ),
    ("a short Chinese VPN ticket", True, "VPN 无法连接 错误 2000，主机 srv-2000"),
    ("a short Chinese leave ticket", True, "年假余额 2003 天 不对"),
    (
        "the console's English example",
        True,
        model_text(
            "Outlook keeps asking for my password",
            "since this morning Outlook on my laptop LT-20931 keeps asking for my password and then "
            "fails with error 0x800CCC0E.",
        ),
    ),
    ("an off-topic English ticket", False, "Can someone water the plants on the third floor balcony?"),
    ("an off-topic Chinese ticket", False, "下周三团建去哪里吃饭，大家投票"),
)


@dataclass(frozen=True)
class Scored:
    name: str
    relevant: bool
    language: str
    floor: float | None
    best: tuple[float, ...]  # the top hits' scores, best first


def demo_knowledge(folder: Path, encoder: Encoder, n_tickets: int = DEMO_TICKETS) -> KnowledgeBase:
    """The demo's cases and articles indexed in ``folder`` (no model is trained)."""
    rows = generate_tickets(n_tickets, seed=DEMO_SEED)
    articles = generate_articles(seed=DEMO_SEED)
    knowledge = KnowledgeBase(DocumentStore(folder / "kb.db"), encoder, folder / "index")
    knowledge.load()
    knowledge.add(case_documents(rows), encoder.encode([model_text(r["title"], r["body"]) for r in rows]))
    knowledge.add(
        case_documents(articles, kind="article"),
        encoder.encode([model_text(a["title"], a["body"]) for a in articles]),
    )
    return knowledge


def measure(knowledge: KnowledgeBase, queries: Sequence[tuple[str, bool, str]] = QUERIES) -> list[Scored]:
    out = []
    for name, relevant, text in queries:
        vector = knowledge.encoder.encode([text])[0]
        hits = knowledge.search(vector, "default", k=3, text=text)
        language = identify_language(text)[0]
        best = tuple(round(h.score, 3) for h in hits)
        out.append(Scored(name, relevant, language, RELEVANCE_FLOORS.get(language), best))
    return out


def markdown(rows: Sequence[Scored]) -> str:
    lines = [
        "| ticket | should find a case | language (floor) | best scores (top 3) | best clears the floor |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        clears = "" if r.floor is None or not r.best else ("yes" if r.best[0] >= r.floor else "no")
        scores = ", ".join(f"{s:.3f}" for s in r.best)
        lines.append(
            f"| {r.name} | {'yes' if r.relevant else 'no'} | {r.language} ({r.floor}) | {scores} | {clears} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tickets", type=int, default=DEMO_TICKETS, help="generated demo tickets")
    parser.add_argument("--encoder", default="use-m3", help="encoder spec (the demo's is use-m3)")
    args = parser.parse_args(argv)
    if args.tickets < 1:
        parser.error("--tickets must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        knowledge = demo_knowledge(Path(tmp), get_encoder(args.encoder), args.tickets)
        print(markdown(measure(knowledge)))
        knowledge.store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
