"""The linear-time regular expressions of :mod:`embeddings.safe_regex`, under the name triage code uses.

The engine lives in ``embeddings`` because the text helpers of ``embeddings`` and ``knowledge``
need it too and imports point one way (``triage -> knowledge -> embeddings``).
"""

from __future__ import annotations

from embeddings.safe_regex import (
    Pattern,
    PatternSet,
    UnsafePattern,
    check_linear,
    compile,
    to_re2,
    uses_re2,
)

__all__ = ["Pattern", "PatternSet", "UnsafePattern", "check_linear", "compile", "to_re2", "uses_re2"]
