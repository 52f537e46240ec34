"""``/metrics`` in the Prometheus text format: a prometheus-client registry of its own whose one
collector asks the host for its `MetricFamily` values at every scrape (nothing is counted
twice, no global registry is touched), plus the HTTP service's own request counter."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from smartinstall.services.http.host import MetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class HostCollector(Collector):
    def __init__(
        self, source: Callable[[], list[MetricFamily]], requests: Counter[tuple[str, str]]
    ) -> None:
        self._source = source
        self._requests = requests

    def collect(self) -> Iterable[Metric]:
        for family in self._source():
            metric: CounterMetricFamily | GaugeMetricFamily
            if family.kind == "counter":
                name = family.name.removesuffix("_total")
                metric = CounterMetricFamily(name, family.help, labels=list(family.labels))
            else:
                metric = GaugeMetricFamily(family.name, family.help, labels=list(family.labels))
            for labels, value in family.samples:
                metric.add_metric(list(labels), value)
            yield metric
        http = CounterMetricFamily(
            "smartinstall_http_requests",
            "HTTP requests by route and status",
            labels=["route", "status"],
        )
        for (route, status), count in sorted(self._requests.items()):
            http.add_metric([route, status], float(count))
        yield http


class Metrics:
    def __init__(self, source: Callable[[], list[MetricFamily]]) -> None:
        self.requests: Counter[tuple[str, str]] = Counter()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(HostCollector(source, self.requests))

    def render(self) -> bytes:
        return generate_latest(self.registry)


__all__ = ["CONTENT_TYPE", "Metrics"]
