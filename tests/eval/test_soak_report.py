"""make soak's report: each part rewrites only its own block of the Reliability section."""

from __future__ import annotations

from pathlib import Path

from eval.soak import write_parts

KILL = {"rounds": 3, "acked_cases": 10, "acked_feedback": 12, "lost_cases": 0, "lost_feedback": 0}
ADVERSARIAL = {"requests": 40, "over_bound": [], "worst_s": 0.21, "worst": "/v1/triage body='中'"}


def test_a_part_rewrites_its_own_block_and_keeps_the_others_and_the_notes(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\n<!-- bench:other -->\nother section\n<!-- /bench:other -->\n")
    write_parts(out, {"kill": KILL}, "python -m eval.soak --parts kill")
    text = out.read_text()
    assert "other section" in text and "lost after restart: **0 cases, 0 feedback rows**" in text
    # Notes written by hand after the blocks stay; a new part goes before them, in PARTS order.
    out.write_text(
        text.replace("<!-- /bench:reliability -->", "#### Notes\n\nkept\n<!-- /bench:reliability -->")
    )
    write_parts(out, {"adversarial": ADVERSARIAL}, "python -m eval.soak --parts adversarial")
    write_parts(out, {"kill": KILL | {"rounds": 20}}, "python -m eval.soak --parts kill")
    text = out.read_text()
    assert (
        text.count("<!-- bench:reliability-kill -->") == 1 and "20 rounds" in text and "3 rounds" not in text
    )
    assert text.index("reliability-kill -->") < text.index("reliability-adversarial -->") < text.index("kept")
    assert text.count("## Reliability") == 1 and "other section" in text
