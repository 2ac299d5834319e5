"""Text to vectors: an encoder registry with the embedded USE-m3 default.

Specs name an encoder and its argument: ``use-m3``, ``hashing:256``,
``sentence-transformers:/models/minilm``, ``onnx:/models/minilm-int8``.
"""

from embeddings.registry import (
    ENCODERS,
    Encoder,
    UnknownComponentError,
    get_encoder,
    register_encoder,
)
from embeddings.text import MAX_TEXT_CHARS, ticket_text

__all__ = [
    "ENCODERS",
    "MAX_TEXT_CHARS",
    "Encoder",
    "UnknownComponentError",
    "get_encoder",
    "register_encoder",
    "ticket_text",
]
