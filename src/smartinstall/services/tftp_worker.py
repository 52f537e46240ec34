"""A TFTP worker process: runs the data transfers its server hands it.

Started by `tftp_workers.WorkerPool` as

    python -m smartinstall.services.tftp_worker --fd N

with N one end of a SOCK_SEQPACKET socket pair (tftp_channel). The worker receives its
configuration, then one `start` per approved request: it opens the file itself (confined to
the root or the upload directory as on the server), answers refusals to the client, and runs
the transfer with the same machinery as the server's own loop (tftp_transfers), reporting
start, progress and end back. It exits when the server's end of the socket closes, whether
the server stopped it or died.

The loop here is a minimal epoll loop rather than asyncio: a ready socket calls its
transfer's callback directly, which is most of the CPU per packet at small block sizes.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import itertools
import logging
import os
import resource
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

from smartinstall.services.tftp_base import (
    Overloaded,
    Refused,
    TftpServerConfig,
    TransferInfo,
    overloaded,
    reply_error,
)
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
)
from smartinstall.services.tftp_limits import (
    WORKER_FDS,
    RateLog,
    fd_budget,
    is_overload,
    open_fds,
    raise_fd_limit,
)
from smartinstall.services.tftp_transfers import Transfer, start_read
from smartinstall.services.tftp_uploads import start_write
from smartinstall.wire.tftp import ErrorCode

log = logging.getLogger("smartinstall.services.tftp_worker")

_IN = select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP
_OUT = select.EPOLLOUT | select.EPOLLERR | select.EPOLLHUP


class Timer:
    """A one-shot timer of WorkerLoop; cancel() before it fires and it never does."""

    __slots__ = ("callback",)

    def __init__(self, callback: Callable[[], object]) -> None:
        self.callback: Callable[[], object] | None = callback

    def cancel(self) -> None:
        self.callback = None


class WorkerLoop:
    """Readiness callbacks and timers on one epoll object; what transfers need, no more."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._readers: dict[int, Callable[[], object]] = {}
        self._writers: dict[int, Callable[[], object]] = {}
        self._masks: dict[int, int] = {}
        self._timers: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self.running = False

    def add_reader(self, fd: int, callback: Callable[[], object]) -> None:
        self._readers[fd] = callback
        self._update(fd)

    def remove_reader(self, fd: int) -> bool:
        if self._readers.pop(fd, None) is None:
            return False
        self._update(fd)
        return True

    def add_writer(self, fd: int, callback: Callable[[], object]) -> None:
        self._writers[fd] = callback
        self._update(fd)

    def remove_writer(self, fd: int) -> bool:
        if self._writers.pop(fd, None) is None:
            return False
        self._update(fd)
        return True

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        timer = Timer(callback)
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), timer))
        return timer

    def _update(self, fd: int) -> None:
        mask = (select.EPOLLIN if fd in self._readers else 0) | (
            select.EPOLLOUT if fd in self._writers else 0
        )
        old = self._masks.get(fd, 0)
        if mask == old:
            return
        if not mask:
            del self._masks[fd]
            with contextlib.suppress(OSError, ValueError):  # closed already: dropped
                self._epoll.unregister(fd)
            return
        self._masks[fd] = mask
        if old:
            try:
                self._epoll.modify(fd, mask)
                return
            except FileNotFoundError:
                pass  # the fd was closed and reused meanwhile
        try:
            self._epoll.register(fd, mask)
        except FileExistsError:
            self._epoll.modify(fd, mask)

    def run(self) -> None:
        """Dispatch until `running` is cleared."""
        self.running = True
        poll = self._epoll.poll
        readers = self._readers
        writers = self._writers
        timers = self._timers
        now = time.monotonic
        while self.running:
            timeout = -1.0
            if timers:
                moment = now()
                if timers[0][0] <= moment:
                    self._run_timers(moment)
                    moment = now()
                if timers:
                    timeout = max(0.0, timers[0][0] - moment)
            for fd, events in poll(timeout):
                if events & _IN:
                    callback = readers.get(fd)
                    if callback is not None:
                        try:
                            callback()
                        except Exception:
                            log.exception("tftp worker: reader callback failed")
                if events & _OUT:
                    callback = writers.get(fd)
                    if callback is not None:
                        try:
                            callback()
                        except Exception:
                            log.exception("tftp worker: writer callback failed")

    def _run_timers(self, moment: float) -> None:
        """Fire the timers due at `moment`; cancelled ones are dropped as they surface."""
        timers = self._timers
        while timers and timers[0][0] <= moment:
            timer = heapq.heappop(timers)[2]
            callback = timer.callback
            if callback is not None:
                timer.callback = None
                try:
                    callback()
                except Exception:
                    log.exception("tftp worker: timer callback failed")
        while timers and timers[0][2].callback is None:
            heapq.heappop(timers)

    def close(self) -> None:
        self._epoll.close()


class WorkerEngine:
    """The worker's side of the channel: starts the transfers it is sent, reports on them."""

    def __init__(self, loop: WorkerLoop, sock: socket.socket) -> None:
        self.loop = loop
        self.channel = Channel(sock, loop)
        self.config = TftpServerConfig(root=Path("/nonexistent"))
        self.configured = False
        self.transfers: dict[int, Transfer] = {}
        # transfers this process has descriptors for (its soft limit is raised in main())
        self.capacity = fd_budget(
            resource.getrlimit(resource.RLIMIT_NOFILE)[0], open_fds(), WORKER_FDS // 2
        )
        self.errors = RateLog(log, loop.call_later)
        loop.add_reader(self.channel.fd, self._on_channel)

    # -- the channel -----------------------------------------------------------------------

    def _on_channel(self) -> None:
        messages, closed = self.channel.receive()
        for data in messages:
            try:
                message = decode(data)
            except ProtocolError as exc:
                log.warning("tftp worker: bad control message dropped: %s", exc)
                continue
            try:
                self._handle(message)
            except Exception:
                log.exception("tftp worker: control message %s failed", type(message).__name__)
        if closed:
            self.stop()

    def _handle(self, message: Message) -> None:
        if isinstance(message, StartJob):
            self._start(message)
        elif isinstance(message, CancelJob):
            transfer = self.transfers.get(message.transfer_id)
            if transfer is not None:
                transfer.abort(ErrorCode.NOT_DEFINED, "Server busy")
        elif isinstance(message, Configure):
            if not self.configured:
                if message.nice > 0:
                    os.nice(message.nice)
                logging.getLogger().setLevel(message.log_level)
            self.config = message.config
            self.configured = True
            self.channel.send(Ready(os.getpid()))
        else:
            log.warning("tftp worker: unexpected %s dropped", type(message).__name__)

    def _start(self, job: StartJob) -> None:
        if not self.configured or job.transfer_id in self.transfers:
            self.channel.send(JobRefused(job.transfer_id, 0, "worker not ready"))
            return
        try:
            if len(self.transfers) >= self.capacity:
                raise Overloaded(f"this worker's {self.capacity} transfers are running")
            try:
                request = job.request()
                if job.is_read:
                    transfer: Transfer = start_read(self, request, job.peer, job.transfer_id)
                else:
                    transfer = start_write(self, request, job.peer, job.transfer_id)
            except OSError as exc:
                if not is_overload(exc):
                    raise
                raise overloaded(exc) from None
        except Refused as exc:
            reply_error(self.config.host, job.peer, exc.code, exc.message)
            why = exc.why if isinstance(exc, Overloaded) else exc.message
            self.channel.send(JobRefused(job.transfer_id, int(exc.code), why))
            return
        except Exception as exc:
            self.errors.note(
                ("failed", type(exc)),
                logging.ERROR,
                f"tftp worker: requests failed with {type(exc).__name__}",
                f"tftp worker: request from {job.peer} failed",
                exc,
            )
            reply_error(self.config.host, job.peer, ErrorCode.NOT_DEFINED, "Internal error")
            self.channel.send(JobRefused(job.transfer_id, 0, f"internal error: {exc}"))
            return
        self.transfers[job.transfer_id] = transfer
        transfer.begin()

    def stop(self) -> None:
        """The server closed its end: end every transfer, report, leave."""
        self.loop.remove_reader(self.channel.fd)
        for transfer in list(self.transfers.values()):
            transfer.abort(ErrorCode.NOT_DEFINED, "Server shutting down")
        self.channel.flush_blocking(2.0)
        self.loop.running = False

    # -- TransferHost ----------------------------------------------------------------------

    def call_hook(self, name: str, *args: object) -> None:
        info = args[0]
        if not isinstance(info, TransferInfo):
            return
        message: Message
        if name == "transfer_progress":
            done = args[1]
            assert isinstance(done, int)
            message = JobProgress(info.transfer_id, done)
        elif name == "transfer_started":
            message = JobStarted(info.transfer_id, info.path, info.size, info.options)
        elif name == "transfer_finished":
            done, error = args[1], args[2]
            assert isinstance(done, int) and (error is None or isinstance(error, str))
            message = JobFinished(info.transfer_id, done, error)
        else:
            return
        self.channel.send(message)

    def transfer_done(self, transfer: Transfer) -> None:
        if self.transfers.get(transfer.info.transfer_id) is transfer:
            del self.transfers[transfer.info.transfer_id]

    def transfer_unanswered(self, transfer: Transfer, unanswered: bool) -> None:
        self.channel.send(JobUnanswered(transfer.info.transfer_id, unanswered))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smartinstall.services.tftp_worker")
    parser.add_argument("--fd", type=int, required=True, help="control socket (SEQPACKET)")
    args = parser.parse_args(argv)
    # Ctrl-C in the server's terminal is for the server, which then stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Each transfer holds a socket and (for a download) the file: room for max_transfers.
    raise_fd_limit()
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s tftp-worker[%(process)d] %(levelname)s %(name)s: %(message)s",
    )
    try:
        sock = socket.socket(fileno=args.fd)
    except OSError as exc:
        log.error("tftp worker: no control socket on fd %d: %s", args.fd, exc)
        return 2
    loop = WorkerLoop()
    engine = WorkerEngine(loop, sock)
    try:
        loop.run()
    finally:
        engine.channel.close()
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
