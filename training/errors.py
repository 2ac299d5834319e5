"""Errors of the training package that callers catch without importing its heavy modules.

``DataError`` lives here, not in ``training.data`` (which imports pandas), so that the CLI's error
handling, which wraps every command including ``serve``, does not load pandas into the server.
"""

from __future__ import annotations


class DataError(ValueError):
    """The training or evaluation data cannot be used as given; the message says how to fix it."""
