"""One percentile (issue 13, part C): the evaluation, `baclofen-qa bench` and the scripts share
`assistant.metrics.percentile`, so a p50 printed by any of them means the same thing.

The method is pinned on inputs small enough to work out by hand: linear interpolation between the
two closest ranks (numpy's default). Position q/100 * (n - 1) in the sorted values.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from assistant.metrics import percentile, summarize
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([7.0], 0, 7.0),  # one value: every percentile is that value
        ([7.0], 50, 7.0),
        ([7.0], 95, 7.0),
        ([7.0], 100, 7.0),
        ([10.0, 20.0, 30.0, 40.0], 0, 10.0),  # p0 is the minimum
        ([10.0, 20.0, 30.0, 40.0], 50, 25.0),  # even count: the mean of the middle two
        ([10.0, 20.0, 30.0, 40.0], 95, 38.5),  # position 2.85: 30 + 0.85 * (40 - 30)
        ([10.0, 20.0, 30.0, 40.0], 100, 40.0),  # p100 is the maximum
        ([40.0, 10.0, 30.0, 20.0], 50, 25.0),  # the order given does not matter
        ([1.0, 2.0, 3.0], 50, 2.0),  # odd count: the middle value
        ([1.0, 2.0], 25, 1.25),
        ([0.0, 100.0, 200.0, 1000.0], 95, 880.0),  # nearest-rank would say 1000
        ([5.0, 5.0, 5.0, 9.0], 50, 5.0),  # ties
    ],
)
def test_percentile_interpolates_linearly_between_the_two_closest_ranks(values, q, expected):
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_none_not_zero():
    assert percentile([], 50) is None
    assert percentile((), 95) is None


@pytest.mark.parametrize("q", [-1, 100.5, 950])
def test_a_percentile_outside_0_to_100_is_refused_by_name(q):
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0, 2.0], q)


def _load_script(name: str):
    """A script under scripts/ as a module (they are not a package)."""
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_the_load_benchmark_prints_the_same_p50_and_p95_as_the_evaluation(capsys):
    bench_load = _load_script("bench_load")
    seconds = (0.0, 0.100, 0.200, 1.000)
    outcomes = [bench_load.Outcome(f"q{i}", s, "") for i, s in enumerate(seconds)]
    bench_load.report_latency("concurrent", outcomes)
    printed = capsys.readouterr().out
    ms = [s * 1000 for s in seconds]
    # 150 and 880 by linear interpolation; the script's own nearest-rank rule printed p95 1000.
    assert f"latency p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms" in printed
    assert "p50 150 ms, p95 880 ms" in printed


def test_the_evaluation_reports_latency_with_the_same_percentile():
    from tests.test_metrics import outcome

    latencies = (3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0)
    metrics = summarize([outcome(str(i), (True,), latency_ms=ms) for i, ms in enumerate(latencies)], k=3)
    assert metrics["latency_p50_ms"] == percentile(latencies, 50) == 3.0
    assert metrics["latency_p95_ms"] == percentile(latencies, 95) == pytest.approx(7.8)
