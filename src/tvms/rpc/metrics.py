"""Prometheus text metrics for calls: counts by procedure and outcome, latency histogram.

Kept in process memory (one set per worker process); cheap enough for the dispatch hot path.
"""

from __future__ import annotations

from bisect import bisect_left

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.calls: dict[tuple[str, str], int] = {}
        self.histograms: dict[str, list[float]] = {}  # bucket counts + [sum, count]

    def observe(self, procedure: str, outcome: str, seconds: float) -> None:
        key = (procedure, outcome)
        self.calls[key] = self.calls.get(key, 0) + 1
        histogram = self.histograms.get(procedure)
        if histogram is None:
            histogram = self.histograms[procedure] = [0.0] * (len(BUCKETS) + 3)
        histogram[bisect_left(BUCKETS, seconds)] += 1
        histogram[-2] += seconds
        histogram[-1] += 1

    def render(self) -> str:
        lines = [
            "# HELP tvms_rpc_calls_total RPC calls by procedure and outcome.",
            "# TYPE tvms_rpc_calls_total counter",
        ]
        for (procedure, outcome), count in sorted(self.calls.items()):
            lines.append(f'tvms_rpc_calls_total{{procedure="{procedure}",outcome="{outcome}"}} {count}')
        lines += [
            "# HELP tvms_rpc_call_duration_seconds RPC call latency.",
            "# TYPE tvms_rpc_call_duration_seconds histogram",
        ]
        for procedure, histogram in sorted(self.histograms.items()):
            cumulative = 0.0
            for bound, hits in zip((*BUCKETS, "+Inf"), histogram[: len(BUCKETS) + 1], strict=True):
                cumulative += hits
                lines.append(
                    f'tvms_rpc_call_duration_seconds_bucket{{procedure="{procedure}",le="{bound}"}}'
                    f" {int(cumulative)}"
                )
            lines.append(f'tvms_rpc_call_duration_seconds_sum{{procedure="{procedure}"}} {histogram[-2]:.6f}')
            lines.append(
                f'tvms_rpc_call_duration_seconds_count{{procedure="{procedure}"}} {int(histogram[-1])}'
            )
        return "\n".join(lines) + "\n"
