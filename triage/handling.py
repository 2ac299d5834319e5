"""Handling time (p50/p90 hours) and SLA-breach risk from the history of solved tickets.

Empirical quantiles per (department, priority), backed off to priority alone and then to all
tickets when a group has fewer than ``min_group`` examples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from triage.types import HandlingTime

DEFAULT_SLA_HOURS: dict[str, float] = {"P1": 4.0, "P2": 8.0, "P3": 24.0, "P4": 72.0}


@dataclass
class HandlingTimeModel:
    groups: dict[str, list[float]] = field(default_factory=dict)  # key -> sorted hours (quantile grid)
    sla_hours: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SLA_HOURS))
    min_group: int = 20

    # Hours are kept as a grid of quantiles (0, 1, ..., 100 %) rather than every row.
    @staticmethod
    def _grid(hours: Sequence[float]) -> list[float]:
        return [float(v) for v in np.percentile(np.asarray(hours, dtype=float), np.arange(101))]

    @classmethod
    def fit(
        cls,
        departments: Sequence[str],
        priorities: Sequence[str],
        hours: Sequence[float],
        sla_hours: Mapping[str, float] | None = None,
        min_group: int = 20,
    ) -> HandlingTimeModel:
        values = np.asarray(hours, dtype=float)
        ok = np.isfinite(values) & (values >= 0)
        if not ok.any():
            raise ValueError(
                "no usable handling times: need created and resolved times with resolved >= created"
            )
        model = cls(sla_hours=dict(sla_hours or DEFAULT_SLA_HOURS), min_group=min_group)
        buckets: dict[str, list[float]] = {"*": []}
        for dept, prio, h, good in zip(departments, priorities, values, ok, strict=True):
            if not good:
                continue
            for key in (f"{dept}|{prio}", f"*|{prio}", "*"):
                buckets.setdefault(key, []).append(float(h))
        model.groups = {k: cls._grid(v) for k, v in buckets.items() if len(v) >= min_group or k == "*"}
        return model

    def _grid_for(self, department: str | None, priority: str | None) -> list[float]:
        for key in (f"{department}|{priority}", f"*|{priority}", "*"):
            if key in self.groups:
                return self.groups[key]
        return self.groups["*"]

    def predict(self, department: str | None, priority: str | None) -> HandlingTime:
        grid = self._grid_for(department, priority)
        sla = self.sla_hours.get(priority or "")
        risk = None
        if sla is not None:
            # Share of the group's history that took longer than the SLA target.
            risk = float(np.mean(np.asarray(grid) > sla))
        return HandlingTime(
            p50_hours=round(grid[50], 2),
            p90_hours=round(grid[90], 2),
            sla_hours=sla,
            breach_risk=None if risk is None else round(risk, 3),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"groups": self.groups, "sla_hours": self.sla_hours, "min_group": self.min_group}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HandlingTimeModel:
        return cls(
            groups=dict(data["groups"]), sla_hours=dict(data["sla_hours"]), min_group=int(data["min_group"])
        )
