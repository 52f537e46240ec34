"""CPU and memory of a process and everything it forks, for the benchmarks.

Two ways, the first that works:

* **cgroup**: the process is started inside a fresh cgroup of its own (cgroup v1 ``cpuacct``,
  or cgroup v2 ``cpu.stat``), so every process it forks is counted, however short-lived, and
  whether or not anyone reaps it. Needs write access to the cgroup hierarchy (root, here).
  :func:`cgroup_wrapper` gives the argv prefix that enters the cgroup and execs the command
  (the pid stays the same), for launchers that take a wrapper;
  :meth:`CpuGroup.enter_current` is a ``preexec_fn`` for ``subprocess.Popen``.
* **process tree**: :class:`TreeSampler` walks ``/proc`` every ``interval`` seconds and sums
  ``utime+stime+cutime+cstime`` of the root and its live descendants. A descendant that ends
  between two samples is counted through its parent's ``cutime`` when the parent waits for
  it, else (a parent that ignores SIGCHLD, as in.tftpd does) with the time it had at its last
  sample: the fallback undercounts short-lived children (tftp-hpa's 1-second transfers by
  30–50 % at 0.5 s sampling; long-lived workers, as the director's, are counted fully).

The tree sampler also gives the peak summed RSS of the tree (a cgroup's memory counter
includes the page cache of the image file, so it is not used for that).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
V1_ROOT = Path("/sys/fs/cgroup/cpuacct")
V2_ROOTS = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))


class CpuGroup:
    """A cgroup that counts the CPU of every process started in it."""

    def __init__(self, path: Path, v2: bool) -> None:
        self.path = path
        self.v2 = v2

    @classmethod
    def create(cls, name: str) -> CpuGroup | None:
        """A new cgroup, or None when this process may not make one."""
        label = f"smartinstall-bench-{name}-{os.getpid()}-{time.monotonic_ns() % 10**9}"
        if (V1_ROOT / "cpuacct.usage").exists():
            with contextlib.suppress(OSError):
                (V1_ROOT / label).mkdir()
                return cls(V1_ROOT / label, v2=False)
        for root in V2_ROOTS:
            if (root / "cgroup.controllers").exists():
                try:
                    (root / label).mkdir()
                except OSError:
                    continue
                group = cls(root / label, v2=True)
                if (group.path / "cpu.stat").exists():
                    return group
                group.remove()
        return None

    @property
    def procs(self) -> Path:
        return self.path / "cgroup.procs"

    def enter_current(self) -> None:
        """Move the calling process into the group (a ``preexec_fn``)."""
        self.procs.write_text(str(os.getpid()))

    def add(self, pid: int) -> None:
        self.procs.write_text(str(pid))

    def cpu(self) -> float:
        """CPU seconds (user+system) of every process that ran in the group."""
        if not self.v2:
            return int((self.path / "cpuacct.usage").read_text()) / 1e9
        for line in (self.path / "cpu.stat").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec":
                return int(value) / 1e6
        return 0.0

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in self.procs.read_text().split()]
        except OSError:
            return []

    def remove(self, wait: float = 5.0) -> None:
        deadline = time.monotonic() + wait
        while True:
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.1)  # forked children may linger a moment


def cgroup_wrapper(group: CpuGroup) -> tuple[str, ...]:
    """argv prefix: a shell that puts itself in the group, then execs the command (same pid)."""
    return ("/bin/sh", "-c", f'echo $$ > "{group.procs}" && exec "$0" "$@"')


def _read_stats() -> dict[int, list[str]]:
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stats[int(entry)] = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
    return stats


def tree(root: int, stats: dict[int, list[str]] | None = None) -> dict[int, list[str]]:
    """The stat fields (after the command name) of root and its live descendants."""
    stats = _read_stats() if stats is None else stats
    children: dict[int, list[int]] = {}
    for pid, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(pid)
    found: dict[int, list[str]] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        entry = stats.get(pid)
        if entry is None or pid in found:
            continue
        found[pid] = entry
        todo.extend(children.get(pid, []))
    return found


def proc_cpu(pid: int) -> float:
    """utime+stime of one process (not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def proc_hwm_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of one process."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class TreeSampler:
    """Samples a process tree's CPU and RSS every ``interval`` seconds (see the module)."""

    def __init__(self, root: int, interval: float = 0.5) -> None:
        self.root = root
        self.interval = interval
        self.ticks_seen: dict[int, int] = {}  # pid -> own+reaped ticks at its last sample
        self.reaped_seen: dict[int, int] = {}  # pid -> its cutime+cstime at its last sample
        self.parent_of: dict[int, int] = {}
        self.gone_ticks = 0  # ticks of descendants that ended without reaching a parent
        self.peak_rss = 0  # bytes, summed over the tree
        self.peak_processes = 0
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        found = tree(self.root)
        if not found:
            return
        rss = 0
        reaped_before = dict(self.reaped_seen)
        for pid, fields in found.items():
            self.ticks_seen[pid] = sum(int(x) for x in fields[11:15])
            self.reaped_seen[pid] = int(fields[13]) + int(fields[14])
            self.parent_of[pid] = int(fields[1])
            rss += int(fields[21]) * PAGE
        # Ended since the last sample: a parent that waited for them holds their time in its
        # cutime now; a parent that did not (SIGCHLD ignored, as in.tftpd does) holds none,
        # and their last sampled time is kept here. Whatever its cutime did not grow by is
        # counted as such (the time since their last sample is lost either way).
        ended: dict[int, int] = {}
        for pid in [p for p in self.ticks_seen if p not in found]:
            ticks = self.ticks_seen.pop(pid)
            self.reaped_seen.pop(pid, None)
            parent = self.parent_of.pop(pid, 0)
            ended[parent] = ended.get(parent, 0) + ticks
        for parent, ticks in ended.items():
            if parent in found:
                grew = self.reaped_seen[parent] - reaped_before.get(parent, 0)
                self.gone_ticks += max(0, ticks - grew)
            else:
                self.gone_ticks += ticks
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_processes = max(self.peak_processes, len(found))
        self.samples += 1

    def cpu(self) -> float:
        """CPU seconds of the tree so far (takes a fresh sample)."""
        self.sample()
        return (sum(self.ticks_seen.values()) + self.gone_ticks) / CLK

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(OSError, ValueError, IndexError):
                self.sample()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
