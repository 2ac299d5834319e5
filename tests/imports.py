"""Which heavy modules a fresh Python process ends up importing: the serving path's import budget."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def imported_after(script: str, modules: Sequence[str], timeout: float = 300) -> list[str]:
    """Run ``script`` in a fresh interpreter at the repository root; which of ``modules`` it imported
    (sorted). Fails the test with the script's stderr when it exits non-zero."""
    probe = f"\nimport sys as _sys\nprint(sorted(m for m in {tuple(modules)!r} if m in _sys.modules))\n"
    result = subprocess.run(
        [sys.executable, "-c", script + probe],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return list(ast.literal_eval(result.stdout.strip().splitlines()[-1]))
