"""The throwaway PostgreSQL server of the tests (see eval/postgres.py, shared with the benchmarks)."""

from __future__ import annotations

from eval.postgres import INSTALL_HINT, PostgresServer, connect_raw, find_bin_dir

__all__ = ["INSTALL_HINT", "PostgresServer", "connect_raw", "find_bin_dir"]
