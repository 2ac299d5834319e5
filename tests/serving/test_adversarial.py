"""No input is worse than linear: the adversarial corpus through a real uvicorn process.

Every probe (20,000 x a character class or a bundled pattern's worst case, in each text field, and a
batch of them) must answer within 0.5 s, or within 3x a benign ticket of the same size on the same
route where the machine is slower than that (CI shares 2 cores). Before RE2, one ticket of 20,000
digits took 7-10 s in /v1/triage.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from eval.adversarial import Probe, baseline, bound, probes, timed_post

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def http(live_server: str, live_headers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=60, headers=live_headers) as client:
        yield client


def test_adversarial_corpus_answers_in_linear_time(http: httpx.Client) -> None:
    baselines: dict[tuple[str, str], float] = {}
    slow: list[str] = []
    answered = 0
    for probe in probes():
        key = (probe.route, probe.field)
        if key not in baselines:
            payload = baseline(probe.route, probe.field)
            timed_post(http, probe.route, payload)  # warm the route
            baselines[key] = min(timed_post(http, probe.route, payload)[0] for _ in range(2))
        limit = bound(baselines[key])
        seconds, status = timed_post(http, probe.route, probe.payload)
        for _ in range(2):  # a preempted run on a shared machine is not the input's fault
            if seconds <= limit:
                break
            seconds, status = min((seconds, status), timed_post(http, probe.route, probe.payload))
        # A body of only whitespace is refused by the schema (422); everything else is served.
        assert status == (422 if probe.field in ("body", "batch") and not probe.unit.strip() else 200), (
            f"{_name(probe)} answered {status}"
        )
        answered += 1
        if seconds > limit:
            slow.append(f"{_name(probe)}: {seconds:.2f} s (limit {limit:.2f} s)")
    assert answered > 100
    assert not slow, "super-linear inputs: " + "; ".join(slow)


def _name(probe: Probe) -> str:
    return f"{probe.route} {probe.field}={probe.unit!r}x"
