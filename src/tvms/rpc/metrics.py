"""Prometheus metrics for calls: counts by procedure and outcome, latency histogram.

Built on `prometheus-client`. Under `tvms serve` every worker process writes its values to
files in one directory (the library's multiprocess mode, `PROMETHEUS_MULTIPROC_DIR`), and a
scrape of any worker reads them all: a counter is the sum over the workers, including workers
that have exited, so it never goes backwards. Without a directory (tests, embedding) the values
live in this object.

The calls of one HTTP request are recorded in one go (`record`), so a batch of 50 calls pays
for one update per procedure and outcome instead of 50 through the library's locks.
"""

from __future__ import annotations

import math
import os
import re
from bisect import bisect_left
from collections.abc import Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.metrics import disable_created_metrics
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.samples import Sample

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

Observation = tuple[str, str, float]
"""(procedure, outcome, seconds) of one finished call."""

_LIVE_FILE = re.compile(r"gauge_live\w*?_(\d+)\.db")

disable_created_metrics()  # type: ignore[no-untyped-call]  # `*_created` series would differ per worker and mean nothing summed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes(directory: Path) -> None:
    """Drop the live gauges of worker processes that no longer run (counters are kept)."""
    for path in directory.glob("gauge_live*.db"):
        match = _LIVE_FILE.fullmatch(path.name)
        if match and not _alive(int(match.group(1))):
            mark_process_dead(int(match.group(1)), str(directory))  # type: ignore[no-untyped-call]


class Metrics:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        if directory is not None and values.ValueClass is values.MutexValue:
            # The library picks its storage when first imported, which may be before `tvms serve`
            # set the directory; values made from here on go to the shared files.
            values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=False)
        self.calls = Counter(
            "tvms_rpc_calls",
            "RPC calls by procedure and outcome.",
            ("procedure", "outcome"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "tvms_rpc_call_duration_seconds",
            "RPC call latency.",
            ("procedure",),
            buckets=BUCKETS,
            registry=self.registry,
        )
        # The labelled children, looked up once each (`labels()` costs more than the update).
        self._counters: dict[tuple[str, str], Counter] = {}
        self._histograms: dict[str, Histogram] = {}

    def observe(self, procedure: str, outcome: str, seconds: float) -> None:
        self.record(((procedure, outcome, seconds),))

    def record(self, observations: Sequence[Observation]) -> None:
        """Add the calls of one request: one update per distinct procedure and outcome."""
        if len(observations) == 1:  # one call, most requests: nothing to group
            procedure, outcome, seconds = observations[0]
            self._counter(procedure, outcome).inc(1)
            child = self._histogram(procedure)
            child._buckets[bisect_left(BUCKETS, seconds)].inc(1)
            child._sum.inc(seconds)
            return
        counts: dict[tuple[str, str], int] = {}
        histograms: dict[str, list[float]] = {}  # bucket counts (the last is +Inf), then the sum
        for procedure, outcome, seconds in observations:
            key = (procedure, outcome)
            counts[key] = counts.get(key, 0) + 1
            histogram = histograms.get(procedure)
            if histogram is None:
                histogram = histograms[procedure] = [0.0] * (len(BUCKETS) + 2)
            histogram[bisect_left(BUCKETS, seconds)] += 1
            histogram[-1] += seconds
        for key, count in counts.items():
            self._counter(*key).inc(count)
        for procedure, histogram in histograms.items():
            child = self._histogram(procedure)
            # Histogram.observe adds one observation; these are the same two updates (its
            # non-cumulative bucket and its sum) for many observations at once.
            for index, hits in enumerate(histogram[:-1]):
                if hits:
                    child._buckets[index].inc(hits)
            child._sum.inc(histogram[-1])

    def _counter(self, procedure: str, outcome: str) -> Counter:
        counter = self._counters.get((procedure, outcome))
        if counter is None:
            counter = self._counters[procedure, outcome] = self.calls.labels(procedure, outcome)
        return counter

    def _histogram(self, procedure: str) -> Histogram:
        child = self._histograms.get(procedure)
        if child is None:
            child = self._histograms[procedure] = self.latency.labels(procedure)
        return child

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric (summed over workers)."""
        if self.directory is None:
            return exposition(self.registry)
        registry = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(registry, path=str(self.directory))  # type: ignore[no-untyped-call]
        return exposition(registry)


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    if value == int(value):
        return str(int(value))
    return f"{value:.6f}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def exposition(registry: CollectorRegistry) -> bytes:
    """Prometheus text format 0.0.4, labels in their declared order (`le` last), whole numbers
    without a decimal point: the text this service has always served."""
    lines: list[str] = []
    for family in sorted(registry.collect(), key=lambda family: family.name):
        name = family.name + "_total" if family.type == "counter" else family.name
        lines.append(f"# HELP {name} {family.documentation}")
        lines.append(f"# TYPE {name} {family.type}")
        for sample in sorted(family.samples, key=_sample_order):
            keys = sorted(sample.labels, key=_label_order)
            labels = ",".join(f'{key}="{_escape(sample.labels[key])}"' for key in keys)
            lines.append(
                f"{sample.name}{{{labels}}} {_number(sample.value)}"
                if labels
                else f"{sample.name} {_number(sample.value)}"
            )
    return ("\n".join(lines) + "\n").encode()


_SUFFIX_ORDER = {"_bucket": 0, "_sum": 1, "_count": 2}
_FIRST_LABELS = {"procedure": 0, "outcome": 1}


def _label_order(key: str) -> tuple[int, str]:
    """`procedure`, `outcome`, the others by name, `le` last (the multiprocess files sort them)."""
    return (_FIRST_LABELS.get(key, 3 if key == "le" else 2), key)


def _sample_order(sample: Sample) -> tuple[object, ...]:
    """Series by label values (without `le`); a histogram's buckets by bound, then sum, count."""
    labels = tuple(sample.labels[key] for key in sorted(sample.labels, key=_label_order) if key != "le")
    suffix = next((order for end, order in _SUFFIX_ORDER.items() if sample.name.endswith(end)), 0)
    bound = float(sample.labels["le"]) if "le" in sample.labels else 0.0
    return (labels, suffix, bound)
