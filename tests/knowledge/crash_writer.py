"""Writer process for the crash-safety test: writes cases and prints each id once acknowledged.

Usage: ``python crash_writer.py DATA_DIR FIRST_ID SEED``. Prints ``ready`` after the knowledge base
has loaded (caught up from the database), then one line per acknowledged operation:
``A <id>`` (added), ``U <id>`` (replaced) or ``D <id>`` (deleted), written only after the call
returned, i.e. after the database committed it. Before replacing or deleting it prints the intent
(``u <id>``, ``d <id>``): a kill between intent and acknowledgement leaves either state. Runs until
killed.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

from embeddings import get_encoder
from knowledge import base
from knowledge.base import KnowledgeBase
from knowledge.store import Document, DocumentStore

WORDS = [
    "vpn",
    "printer",
    "mailbox",
    "password",
    "invoice",
    "laptop",
    "network",
    "disk",
    "server",
    "login",
    "backup",
    "license",
]


def case_text(doc_id: int, rng: random.Random) -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(6))
    return f"{words} marker{doc_id}x"


def main() -> None:
    folder, next_id, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    base.SNAPSHOT_EVERY = 7  # snapshot often, so kills land inside snapshot writes too
    # TRIAGE_DATABASE: the PostgreSQL database the test routes this folder's kb.db to (tests/backend.py).
    database = os.environ.get("TRIAGE_DATABASE") or folder / "kb.db"
    kb = KnowledgeBase(DocumentStore(database), get_encoder("hashing:64"), folder / "index")
    kb.load()
    print("ready", flush=True)
    while True:
        roll = rng.random()
        existing = kb.store.count("default", "case")
        if roll < 0.1 and existing > 5:
            victim = kb.store.page("default", "case", limit=1, offset=rng.randrange(existing))[0]
            print("d", victim.doc_id, flush=True)
            kb.delete("default", "case", [victim.doc_id])
            print("D", victim.doc_id, flush=True)
        elif roll < 0.2 and existing > 5:
            doc = kb.store.page("default", "case", limit=1, offset=rng.randrange(existing))[0]
            print("u", doc.doc_id, flush=True)
            kb.add([Document(doc_id=doc.doc_id, body=case_text(int(doc.doc_id), rng), resolution="updated")])
            print("U", doc.doc_id, flush=True)
        else:
            batch = [
                Document(doc_id=str(next_id + i), body=case_text(next_id + i, rng), resolution="done")
                for i in range(rng.randint(1, 3))
            ]
            kb.add(batch)
            next_id += len(batch)
            for doc in batch:
                print("A", doc.doc_id, flush=True)


if __name__ == "__main__":
    main()
