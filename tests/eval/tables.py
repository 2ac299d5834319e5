"""Small labelled ticket tables and bundle variants shared by the eval tests."""

from __future__ import annotations

import random

from training.data import TicketTable
from triage.bundle import DRIFT_REFERENCE, ModelBundle

ENCODER = "hashing:64"

_WORDS = {
    "IT": ["vpn cannot connect", "laptop screen broken", "VPN 无法连接", "电脑蓝屏"],
    "Finance": ["invoice amount wrong", "reimbursement delayed", "发票 金额 错误", "报销 未到账"],
    "HR": ["annual leave balance wrong", "payslip missing", "年假 余额 不对", "工资条 缺失"],
}


def department_table(n_per_label: int = 20, seed: int = 0, only: str | None = None) -> TicketTable:
    """Tickets of three departments (or of ``only`` one of them)."""
    rng = random.Random(seed)
    rows = [
        (f"{label}-{i}", f"{rng.choice(words)} {rng.randint(100, 999)} case {i}", label)
        for label, words in _WORDS.items()
        for i in range(n_per_label)
        if only in (None, label)
    ]
    return TicketTable([r[0] for r in rows], [r[1] for r in rows], {"department": [r[2] for r in rows]})


def without_reference(bundle: ModelBundle) -> ModelBundle:
    """The same bundle as one trained before drift references were stored."""
    manifest = {k: v for k, v in bundle.manifest.items() if k != DRIFT_REFERENCE}
    return ModelBundle(manifest=manifest, router=bundle.router, handling_time=bundle.handling_time)
