"""The director's Prometheus metrics, as plain `MetricFamily` values read from memory at each
scrape: devices by status, download-status rows, DHCP/TFTP/SMI counters of the services, the
bytes TFTP served and received, the event loop's lag, the store writer's queue, the age of the
newest backup of each client."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING

from smartinstall.domain.downloads import DownloadStatus
from smartinstall.services.http.host import MetricFamily

if TYPE_CHECKING:
    from smartinstall.director.daemon import DirectorDaemon

PREFIX = "smartinstall_"
MAX_REASON = 80  # a failure reason as a label: bounded (the table has at most 255 rows)


def _family(name: str, kind: str, help_text: str, labels: tuple[str, ...] = ()) -> MetricFamily:
    return MetricFamily(PREFIX + name, kind, help_text, labels)


def director_metrics(daemon: DirectorDaemon) -> list[MetricFamily]:
    state = daemon.state
    devices = [d for d in state.devices() if not d.is_director]
    families: list[MetricFamily] = []

    by_status = _family(
        "devices", "gauge", "Clients in the director database by status letters",
        ("device_type", "health", "join_state"),
    )  # fmt: skip
    counts = Counter((d.device_type.value, d.health.value, d.join_state.value) for d in devices)
    by_status.samples = [(key, float(n)) for key, n in sorted(counts.items())]
    families.append(by_status)

    upgrades = _family(
        "device_upgrades", "gauge", "Clients by upgrade kind and progress", ("kind", "progress")
    )
    progress: Counter[tuple[str, str]] = Counter()
    for d in devices:
        progress["image", d.upgrade.image.value] += 1
        progress["config", d.upgrade.config.value] += 1
        progress["script", d.upgrade.script.value] += 1
    upgrades.samples = [(key, float(n)) for key, n in sorted(progress.items())]
    families.append(upgrades)

    downloads = _family(
        "downloads", "gauge", "Download-status rows by method, kind and status",
        ("method", "kind", "status"),
    )  # fmt: skip
    rows: Counter[tuple[str, str, str]] = Counter()
    for entry in state.downloads():
        for kind, status in (
            ("image", entry.image),
            ("config", entry.config),
            ("script", entry.script),
        ):
            rows[entry.method.value, kind, status.value] += 1
    downloads.samples = [(key, float(n)) for key, n in sorted(rows.items())]
    families.append(downloads)

    failed = _family(
        "download_failures", "gauge", "Failed download-status columns by kind and reason",
        ("kind", "reason"),
    )  # fmt: skip
    reasons: Counter[tuple[str, str]] = Counter()
    for entry in state.downloads():
        for kind, status, reason in (
            ("image", entry.image, entry.image_reason),
            ("config", entry.config, entry.config_reason),
            ("script", entry.script, entry.script_reason),
        ):
            if status is DownloadStatus.FAILED:
                reasons[kind, (reason or "unknown")[:MAX_REASON]] += 1
    failed.samples = [(key, float(n)) for key, n in sorted(reasons.items())]
    families.append(failed)

    if daemon.dhcp is not None:
        dhcp = _family("dhcp_messages_total", "counter", "DHCP messages by outcome", ("outcome",))
        dhcp.samples = [((k,), float(v)) for k, v in sorted(daemon.dhcp.stats.items())]
        families.append(dhcp)
    if daemon.smi is not None:
        smi = _family(
            "smi_messages_total", "counter", "Smart Install messages by outcome", ("outcome",)
        )
        smi.samples = [((k,), float(v)) for k, v in sorted(daemon.smi.stats.items())]
        families.append(smi)
    if daemon.tftp is not None:
        stats = daemon.tftp.stats()
        transfers = _family(
            "tftp_transfers_total", "counter", "TFTP transfers by outcome", ("outcome",)
        )
        transfers.samples = [
            (("started",), float(stats.transfers_started)),
            (("finished",), float(stats.transfers_finished)),
            (("failed",), float(stats.transfers_failed)),
            (("refused_busy",), float(stats.refused_busy)),
            (("ended_for_room",), float(stats.ended_for_room)),
        ]
        active = _family("tftp_transfers_active", "gauge", "TFTP transfers running")
        active.samples = [((), float(stats.transfers_running))]
        families += [transfers, active]

    # owned by the director core, which hears the end of every transfer (workers included)
    core = daemon.director
    sent = _family("tftp_bytes_sent_total", "counter", "Bytes served by TFTP (file reads)")
    sent.samples = [((), float(core.tftp_bytes_sent))]
    received = _family(
        "tftp_bytes_received_total", "counter", "Bytes received by TFTP (backup uploads)"
    )
    received.samples = [((), float(core.tftp_bytes_received))]
    families += [sent, received]

    lag = daemon.monitor.recent()
    loop = _family("event_loop_lag_seconds", "gauge", "Event loop lag (recent)", ("quantile",))
    loop.samples = [(("0.5",), lag.p50_ms / 1000), (("0.99",), lag.p99_ms / 1000)]
    loop.samples.append((("1",), lag.max_ms / 1000))
    families.append(loop)

    writer = daemon.writer.stats()
    queue = _family("store_queue_depth", "gauge", "Changes waiting for the store writer")
    queue.samples = [((), float(writer.pending))]
    commits = _family("store_commit_failures_total", "counter", "Store commits that failed")
    commits.samples = [((), float(writer.failures))]
    families += [queue, commits]

    now = dt.datetime.now(dt.UTC)
    ages = [
        (now - latest.taken_at).total_seconds()
        for d in devices
        if (latest := state.latest_backup(d.mac)) is not None
    ]
    oldest = _family(
        "backup_oldest_age_seconds", "gauge", "Age of the oldest newest-backup among the clients"
    )
    oldest.samples = [((), max(ages) if ages else 0.0)]
    with_backup = _family("clients_with_backup", "gauge", "Clients with at least one backup")
    with_backup.samples = [((), float(len(ages)))]
    families += [oldest, with_backup]
    return families


__all__ = ["director_metrics"]
