"""The one text an encoder or a text model sees for a ticket, case or article.

Training, prediction, indexing and search all build it here, so a vector stored in the knowledge
base and the vector of a new ticket come from the same text.
"""

from __future__ import annotations

from embeddings import safe_regex

_SPACES = safe_regex.compile(r"\s+")

# Encoders and vectorisers see at most this many characters; the head of a ticket carries the
# problem, and long pasted logs only add noise and time.
MAX_TEXT_CHARS = 2000


def ticket_text(title: str, body: str) -> str:
    """Title then body, every run of whitespace made one space, cut to ``MAX_TEXT_CHARS``."""
    text = f"{title}\n{body}" if title else body
    return _SPACES.sub(" ", text).strip()[:MAX_TEXT_CHARS]
