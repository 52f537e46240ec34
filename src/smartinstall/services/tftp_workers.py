"""The control side of the TFTP worker processes (`TftpServerConfig.workers`).

The server keeps the listening socket and the owner's policy on its event loop; approved
requests go to the worker running the fewest transfers, over one SOCK_SEQPACKET socket pair
per worker (tftp_channel). The worker's reports (started, progress, finished) come back on
the same socket, read on this loop, and become the hook's calls. A worker that dies is
restarted; the transfers it was running end with the error "worker exited".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace

from smartinstall.services.tftp_base import Address, Refused, TftpServerConfig, TransferInfo
from smartinstall.services.tftp_channel import (
    CancelJob,
    Channel,
    Configure,
    JobFinished,
    JobProgress,
    JobRefused,
    JobStarted,
    JobUnanswered,
    Message,
    ProtocolError,
    Ready,
    StartJob,
    decode,
    encode,
)
from smartinstall.services.tftp_limits import SlotTable, worker_capacity
from smartinstall.wire import tftp
from smartinstall.wire.tftp import ErrorCode

log = logging.getLogger("smartinstall.services.tftp")

WORKER_MODULE = "smartinstall.services.tftp_worker"
START_TIMEOUT = 20.0  # seconds for the workers to come up in start()
STOP_TIMEOUT = 5.0  # seconds for a worker to end its transfers and exit in close()
_CHANNEL_BUFFER = 1 << 20
_STABLE_AFTER = 10.0  # a worker up this long is restarted at once when it dies
_MAX_RESTART_DELAY = 5.0


@dataclass(slots=True)
class _Job:
    transfer_id: int
    peer: Address
    filename: str
    mode: str
    is_read: bool
    info: TransferInfo | None = None  # once the worker has started it
    done: int = 0
    cancelled: bool = False  # its place went to another source; the worker is ending it


class _Worker:
    """One worker slot: its process, control channel and the jobs sent to it."""

    def __init__(self, slot: int) -> None:
        self.slot = slot
        self.proc: subprocess.Popen[bytes] | None = None
        self.channel: Channel | None = None
        self.pidfd: int | None = None
        self.jobs: dict[int, _Job] = {}
        self.cancelling = 0  # jobs cancelled that the worker has not reported finished yet
        self.ready: asyncio.Future[None] | None = None
        self.exited: asyncio.Future[None] | None = None
        self.started_at = 0.0
        self.restart_delay = 0.0
        self.restart: asyncio.TimerHandle | None = None
        self.exit_check: asyncio.TimerHandle | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None and self.proc.returncode is None else 0


Refusal = Callable[[Address, bool, str, int, str], None]  # peer, is_read, name, code, why


def _log_refusal(peer: Address, is_read: bool, filename: str, code: int, why: str) -> None:
    del code
    log.info("tftp %s: %s %r refused: %s", peer, "RRQ" if is_read else "WRQ", filename, why)


class WorkerPool:
    """N worker processes running the data transfers of one server."""

    def __init__(
        self,
        config: TftpServerConfig,
        call_hook: Callable[..., None],
        slots: SlotTable | None = None,
        refused: Refusal = _log_refusal,
    ) -> None:
        self.config = config
        self.call_hook = call_hook
        self.slots = slots if slots is not None else SlotTable()  # the pending and running
        self.refused = refused
        self.workers = [_Worker(slot) for slot in range(config.workers)]
        # transfers each worker has descriptors for (it raises its soft limit to the hard one)
        self.capacity_each = worker_capacity(resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        self.by_peer: dict[Address, _Job] = {}
        self.restarts = 0
        self.closing = False
        self._running = False
        self._turn = 0
        self._configure = self._configuration(config)

    @staticmethod
    def _configuration(config: TftpServerConfig) -> bytes:
        level = logging.getLogger("smartinstall").getEffectiveLevel()
        absolute = replace(
            config,
            root=config.root.absolute(),
            upload_dir=None if config.upload_dir is None else config.upload_dir.absolute(),
            load_board=None,
        )
        worker_level = level if level <= logging.DEBUG else max(level, logging.WARNING)
        return encode(Configure(absolute, config.worker_nice, worker_level))

    def reconfigure(self, config: TftpServerConfig) -> None:
        """The server's configuration changed (the backup repository moved): every worker
        takes it for its next transfers; a worker started later gets it too."""
        self.config = config
        self._configure = self._configuration(config)
        for worker in self.workers:
            if worker.channel is not None:
                worker.channel.send_bytes(self._configure)

    loop: asyncio.AbstractEventLoop  # set by start()

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        try:
            for worker in self.workers:
                self._spawn(worker)
            async with asyncio.timeout(START_TIMEOUT):
                await asyncio.gather(*(w.ready for w in self.workers if w.ready is not None))
        except BaseException:
            await self.close()
            raise
        self._running = True

    async def close(self) -> None:
        """End every worker: its transfers end with an ERROR to the client and the hook's
        transfer_finished; a worker that does not exit in time is killed."""
        self.closing = True
        for worker in self.workers:
            if worker.restart is not None:
                worker.restart.cancel()
                worker.restart = None
            if worker.channel is not None:
                with contextlib.suppress(OSError):
                    worker.channel.sock.shutdown(socket.SHUT_WR)  # "stop" for the worker
        await self._wait_exits(STOP_TIMEOUT)
        for worker in self.workers:
            if worker.proc is not None and worker.proc.poll() is None:
                log.warning("tftp worker %d (pid %d) did not stop; killing it", *_who(worker))
                worker.proc.kill()  # our own child, by its PID
        await self._wait_exits(STOP_TIMEOUT)
        for worker in self.workers:
            self._lost(worker)
            if worker.exit_check is not None:
                worker.exit_check.cancel()
                worker.exit_check = None
            if worker.proc is not None and worker.proc.poll() is None:
                worker.proc.kill()  # our own child, by its PID
                worker.proc.wait()
            self._reaped(worker)
            if worker.ready is not None and worker.ready.done() and not worker.ready.cancelled():
                worker.ready.exception()  # retrieved: a failed start() raised it already

    async def _wait_exits(self, timeout: float) -> None:
        waits = [w.exited for w in self.workers if w.exited is not None and not w.exited.done()]
        if waits:
            await asyncio.wait(waits, timeout=timeout)

    def _spawn(self, worker: _Worker) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            for end in (parent, child):
                with contextlib.suppress(OSError):
                    end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _CHANNEL_BUFFER)
            argv = [sys.executable, "-m", WORKER_MODULE, "--fd", str(child.fileno())]
            proc = subprocess.Popen(argv, pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL)
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        worker.proc = proc
        worker.channel = Channel(parent, self.loop)
        worker.ready = self.loop.create_future()
        worker.exited = self.loop.create_future()
        worker.started_at = self.loop.time()
        worker.channel.send_bytes(self._configure)
        self.loop.add_reader(worker.channel.fd, self._on_reports, worker)
        try:
            worker.pidfd = os.pidfd_open(proc.pid)
            self.loop.add_reader(worker.pidfd, self._on_exit, worker)
        except (AttributeError, OSError):
            worker.pidfd = None  # no pidfd: the end is noticed by the channel, then polled
        log.info("tftp worker %d started (pid %d)", worker.slot, proc.pid)

    # -- what the server asks --------------------------------------------------------------

    def dispatch(
        self, transfer_id: int, request: tftp.Request, peer: Address, prefer: int | None = None
    ) -> bool:
        """Send an approved request to the least busy worker with room (or to worker
        `prefer`, which is ending a transfer to make room); False if none can take it.
        Raises Refused for a request the channel cannot carry."""
        best: _Worker | None = None
        count = len(self.workers)
        self._turn = (self._turn + 1) % count
        if prefer is not None and 0 <= prefer < count:
            best = self.workers[prefer]
        else:
            for i in range(count):  # ties go round the workers
                worker = self.workers[(self._turn + i) % count]
                load = _load(worker)
                if (
                    worker.channel is not None
                    and load < self.capacity_each
                    and (best is None or load < _load(best))
                ):
                    best = worker
        if best is None or best.channel is None:
            return False
        mode = request.mode.value
        job = StartJob(transfer_id, peer, request.is_read, request.filename, mode, request.options)
        try:
            data = encode(job)
        except ProtocolError:
            raise Refused(ErrorCode.ILLEGAL_OPERATION, "Request too long") from None
        entry = _Job(transfer_id, peer, request.filename, mode, request.is_read)
        best.jobs[transfer_id] = entry
        self.by_peer[peer] = entry
        self.slots.add(peer)
        best.channel.send_bytes(data)
        return True

    def cancel(self, peer: Address) -> int | None:
        """End `peer`'s transfer to make room: the worker answers it "Server busy" and
        reports it finished. Its place is free at once; the worker's slot is returned."""
        job = self.by_peer.get(peer)
        if job is None:
            return None
        self._forget(job)
        for worker in self.workers:
            if worker.jobs.get(job.transfer_id) is job and worker.channel is not None:
                job.cancelled = True
                worker.cancelling += 1
                worker.channel.send(CancelJob(job.transfer_id))
                return worker.slot
        return None

    def capacity(self) -> int:
        """Transfers the workers have descriptors for, together."""
        return self.capacity_each * len(self.workers)

    def has_peer(self, peer: Address) -> bool:
        return peer in self.by_peer

    def running(self) -> int:
        return sum(len(w.jobs) for w in self.workers)

    def running_per_worker(self) -> tuple[int, ...]:
        return tuple(len(w.jobs) for w in self.workers)

    def alive(self) -> int:
        return sum(1 for w in self.workers if w.channel is not None and w.pid)

    def pids(self) -> tuple[int, ...]:
        return tuple(w.pid for w in self.workers)

    # -- what the workers report -----------------------------------------------------------

    def _on_reports(self, worker: _Worker) -> None:
        channel = worker.channel
        if channel is None:
            return
        messages, closed = channel.receive()
        for data in messages:
            try:
                message = decode(data)
            except ProtocolError as exc:
                log.warning("tftp worker %d: bad report dropped: %s", worker.slot, exc)
                continue
            self._handle(worker, message)
        if closed:
            self._lost(worker)

    def _handle(self, worker: _Worker, message: Message) -> None:
        if isinstance(message, JobProgress):
            job = worker.jobs.get(message.transfer_id)
            if job is not None and job.info is not None:
                job.done = message.done
                self.call_hook("transfer_progress", job.info, message.done)
        elif isinstance(message, JobStarted):
            job = worker.jobs.get(message.transfer_id)
            if job is not None and job.info is None:
                job.info = TransferInfo(
                    job.transfer_id,
                    job.peer,
                    job.filename,
                    message.path,
                    job.is_read,
                    job.mode,
                    message.size,
                    message.options,
                )
                self.call_hook("transfer_started", job.info)
        elif isinstance(message, JobFinished):
            job = worker.jobs.pop(message.transfer_id, None)
            if job is not None:
                self._forget(job)
                if job.cancelled:
                    worker.cancelling -= 1
                job.done = message.done
                self._finished(job, message.error)
        elif isinstance(message, JobUnanswered):
            job = worker.jobs.get(message.transfer_id)
            if job is not None and self.by_peer.get(job.peer) is job:
                self.slots.set_unanswered(job.peer, message.unanswered)
        elif isinstance(message, JobRefused):
            job = worker.jobs.pop(message.transfer_id, None)
            if job is not None:
                self._forget(job)
                if job.cancelled:
                    worker.cancelling -= 1
                self.refused(job.peer, job.is_read, job.filename, message.code, message.message)
        elif isinstance(message, Ready):
            if worker.ready is not None and not worker.ready.done():
                worker.ready.set_result(None)
        else:
            log.warning("tftp worker %d: unexpected %s", worker.slot, type(message).__name__)

    def _finished(self, job: _Job, error: str | None) -> None:
        if job.info is None:
            return  # never started: nothing to report
        if error is None:
            verb = "sent" if job.is_read else "received"
            log.info("tftp %s %s %s: %d bytes", job.peer[0], verb, job.filename, job.done)
        elif job.done:  # a failure before any byte (a flood's) is the server's to say, counted
            log.info(
                "tftp %s %s: failed after %d bytes: %s", job.peer[0], job.filename, job.done, error
            )
        self.call_hook("transfer_finished", job.info, job.done, error)

    def _forget(self, job: _Job) -> None:
        if self.by_peer.get(job.peer) is job:
            del self.by_peer[job.peer]
            self.slots.remove(job.peer)

    # -- a worker's end --------------------------------------------------------------------

    def _lost(self, worker: _Worker) -> None:
        """The worker's channel closed: it is ending (or gone). Report its transfers."""
        channel = worker.channel
        if channel is None:
            return
        worker.channel = None
        self.loop.remove_reader(channel.fd)
        channel.close()
        error = "Server shutting down" if self.closing else "worker exited"
        jobs = list(worker.jobs.values())
        worker.jobs.clear()
        worker.cancelling = 0
        for job in jobs:
            self._forget(job)
            self._finished(job, error)
        if worker.ready is not None and not worker.ready.done():
            if self._running:
                worker.ready.cancel()  # a restart nobody waits for
            else:
                worker.ready.set_exception(RuntimeError(f"tftp worker {worker.slot} exited"))
        if worker.exit_check is None:
            # it should be exiting; make sure it does, and notice when (without a pidfd)
            worker.exit_check = self.loop.call_later(0.05, self._check_exit, worker, 0)

    def _check_exit(self, worker: _Worker, tries: int) -> None:
        worker.exit_check = None
        proc = worker.proc
        if proc is None or worker.exited is None or worker.exited.done():
            return
        if proc.poll() is not None:
            self._on_exit(worker)
            return
        if tries == 40:  # two seconds after its channel closed, it is still there
            log.warning(
                "tftp worker %d (pid %d) hung up but did not exit; killing it", *_who(worker)
            )
            proc.kill()  # our own child, by its PID
        worker.exit_check = self.loop.call_later(0.05, self._check_exit, worker, tries + 1)

    def _on_exit(self, worker: _Worker) -> None:
        proc = worker.proc
        if proc is None or proc.poll() is None:
            return
        if worker.channel is not None:
            self._on_reports(worker)  # what it said before it went
            self._lost(worker)
        if worker.exit_check is not None:
            worker.exit_check.cancel()
            worker.exit_check = None
        code = proc.returncode
        if self.closing:
            log.debug("tftp worker %d (pid %d) exited with %s", worker.slot, proc.pid, code)
        else:
            log.warning("tftp worker %d (pid %d) exited with %s", worker.slot, proc.pid, code)
        self._reaped(worker)
        if self.closing or not self._running:
            return
        lived = self.loop.time() - worker.started_at
        delay = 0.0 if lived > _STABLE_AFTER else max(0.1, worker.restart_delay * 2)
        worker.restart_delay = min(delay, _MAX_RESTART_DELAY)
        worker.restart = self.loop.call_later(worker.restart_delay, self._restart, worker)

    def _reaped(self, worker: _Worker) -> None:
        if worker.pidfd is not None:
            self.loop.remove_reader(worker.pidfd)
            os.close(worker.pidfd)
            worker.pidfd = None
        if worker.exited is not None and not worker.exited.done():
            worker.exited.set_result(None)

    def _restart(self, worker: _Worker) -> None:
        worker.restart = None
        if self.closing:
            return
        try:
            self._spawn(worker)
        except OSError as exc:
            log.error("tftp worker %d: cannot restart: %s", worker.slot, exc)
            worker.restart_delay = min(max(0.1, worker.restart_delay * 2), _MAX_RESTART_DELAY)
            worker.restart = self.loop.call_later(worker.restart_delay, self._restart, worker)
            return
        self.restarts += 1


def _load(worker: _Worker) -> int:
    return len(worker.jobs) - worker.cancelling


def _who(worker: _Worker) -> tuple[int, int]:
    return worker.slot, worker.proc.pid if worker.proc is not None else 0
