"""The same-run before/after table of eval.single_ab (the measuring itself runs in the benchmark)."""

from __future__ import annotations

from eval.single_ab import markdown


def test_markdown_reports_medians_over_rounds_per_checkout() -> None:
    def round_(p50: float, p99: float, similar: float) -> dict[str, object]:
        return {"p50": p50, "p99": p99, "stages": {"encode": 3.0, "similar": similar}}

    table = markdown(
        {
            "before": [round_(16.0, 28.0, 4.0), round_(18.0, 30.0, 5.0), round_(17.0, 40.0, 6.0)],
            "after": [round_(12.0, 20.0, 3.0), round_(11.0, 22.0, 2.0), round_(13.0, 21.0, 4.0)],
        }
    )
    rows = table.splitlines()
    assert rows[2] == "| before | 16.0, 18.0, 17.0 | 17.0 | 30.0 | encode 3.00, similar 5.00 |"
    assert rows[3] == "| after | 12.0, 11.0, 13.0 | 12.0 | 21.0 | encode 3.00, similar 3.00 |"
