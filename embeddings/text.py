"""The one text an encoder or a text model sees for a ticket, case or article.

Training, prediction, indexing and search all build it here, so a vector stored in the knowledge
base and the vector of a new ticket come from the same text.
"""

from __future__ import annotations

# Encoders and vectorisers see at most this many characters; the head of a ticket carries the
# problem, and long pasted logs only add noise and time.
MAX_TEXT_CHARS = 2000


def ticket_text(title: str, body: str) -> str:
    """Title then body, every run of whitespace made one space, cut to ``MAX_TEXT_CHARS``."""
    text = f"{title}\n{body}" if title else body
    # str.split() splits on exactly the characters re's \s matches: no regex, one linear pass.
    return " ".join(text.split())[:MAX_TEXT_CHARS]
