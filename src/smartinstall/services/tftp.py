"""Asyncio TFTP server: the director's file root ("flash:") for reads, the backup
repository for writes.

The server owns the listening socket: it parses requests, asks the owner's policy through
`TftpHook` (which uploads are welcome, which reads may go ahead) and starts the transfers.
It shares itself out fairly between source addresses and within its file descriptors, and
says floods of refusals and errors once with a count (tftp_limits).
Transfers run on this event loop (`workers=0`, tftp_transfers) or, with `workers=N`, in N
worker processes beside it (tftp_workers, tftp_worker), so a storm of downloads does not
delay the rest of the director. Either way the hook is called on this loop.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import socket
from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path

from smartinstall.services.tftp_base import (
    Address,
    LoadBoard,
    NullHook,
    Overloaded,
    ReadPolicy,
    Refused,
    TftpHook,
    TftpServerConfig,
    TftpStats,
    TransferInfo,
    bind_socket,
    open_for_read,
    overloaded,
    reply_error,
    upload_target,
)
from smartinstall.services.tftp_limits import (
    WORKER_FDS,
    RateLog,
    SlotTable,
    control_reserve,
    fd_budget,
    is_overload,
    open_fds,
    raise_fd_limit,
)
from smartinstall.services.tftp_transfers import Transfer, start_read
from smartinstall.services.tftp_uploads import check_upload, start_write
from smartinstall.services.tftp_workers import WorkerPool
from smartinstall.wire import tftp
from smartinstall.wire.tftp import ErrorCode, MalformedPacket

__all__ = [
    "Address",
    "LoadBoard",
    "NullHook",
    "ReadPolicy",
    "Refused",
    "TftpHook",
    "TftpServer",
    "TftpServerConfig",
    "TftpStats",
    "TransferInfo",
    "open_for_read",
    "upload_target",
]

log = logging.getLogger(__name__)


class TftpServer:
    """The listening socket, the owner's policy and the running transfers (or the workers
    that run them)."""

    def __init__(self, config: TftpServerConfig, hook: TftpHook | None = None) -> None:
        self.config = config
        self.hook: TftpHook = hook if hook is not None else NullHook()
        self.transfers: dict[Address, Transfer] = {}  # those on this loop (workers=0)
        self._held: dict[Address, asyncio.Task[None]] = {}  # reads awaiting approve_read
        self.slots = SlotTable()  # all of the above, and the workers' jobs, by source
        self.capacity = config.max_transfers  # set by start(): fewer if descriptors are short
        self.notes = RateLog(log, lambda delay, callback: self.loop.call_later(delay, callback))
        self._busy = 0  # requests refused "Server busy" since start()
        self._ended = 0  # transfers ended to make room for another source since start()
        self._ids = itertools.count(1)
        self._sock: socket.socket | None = None
        self._pool: WorkerPool | None = None
        self._started = 0
        self._finished = 0
        self._failed = 0

    loop: asyncio.AbstractEventLoop  # set by start()

    @property
    def address(self) -> Address:
        if self._sock is None:
            raise RuntimeError("server not started")
        host, port = self._sock.getsockname()[:2]
        return host, port

    async def start(self, listening: socket.socket | None = None) -> None:
        """Listen on the configured address, or on `listening` (a bound UDP socket shared
        by several worker processes); with `config.workers`, start the worker processes."""
        self.loop = asyncio.get_running_loop()
        self._started = self._finished = self._failed = self._busy = self._ended = 0
        soft, _ = raise_fd_limit()
        if listening is not None:
            listening.setblocking(False)
            sock = listening
        else:
            sock = bind_socket(self.config.host, self.config.port, self.config.reuse_port)
        if self.config.workers > 0 and (self._pool is None or self._pool.closing):
            pool = WorkerPool(self.config, self.call_hook, self.slots, self._worker_refused)
            try:
                await pool.start()
            except BaseException:
                sock.close()
                raise
            self._pool = pool
        if self._pool is not None:
            fits = self._pool.capacity()
            why = f"a worker may open {self._pool.capacity_each * 2 + WORKER_FDS} files"
        else:
            reserve = self.config.fd_reserve
            reserve = control_reserve(soft) if reserve is None else reserve
            fits = fd_budget(soft, open_fds(), reserve)
            why = f"the open files limit is {soft}, {reserve} of them kept for the rest"
        self.capacity = min(self.config.max_transfers, fits)
        if self.capacity < self.config.max_transfers:
            log.warning(
                "tftp: %d transfers at once, not %d: %s; raise the limit (LimitNOFILE=, "
                "ulimit -n) for more",
                self.capacity,
                self.config.max_transfers,
                why,
            )
        self._sock = sock
        self.loop.add_reader(sock.fileno(), self._on_request)
        log.info(
            "tftp server on %s:%d, root %s%s",
            *self.address,
            self.config.root,
            f", {self.config.workers} worker processes" if self._pool is not None else "",
        )

    async def close(self) -> None:
        if self._sock is not None:
            self.loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        held = list(self._held.values())
        self._held.clear()
        for task in held:
            task.cancel()
        if held:
            await asyncio.gather(*held, return_exceptions=True)
        for transfer in list(self.transfers.values()):
            transfer.abort(ErrorCode.NOT_DEFINED, "Server shutting down")
        if self._pool is not None and not self._pool.closing:
            await self._pool.close()  # kept for stats()
        self.notes.flush()  # the counts of the last window

    async def __aenter__(self) -> TftpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def set_uploads(self, upload_dir: Path | None, prefix: str) -> None:
        """Uploads go to ``upload_dir`` under the names ``<prefix>/<name>`` from now on (the
        operator moved the backup repository: ``vstack backup file-server flash:<dir>``)."""
        self.config = replace(self.config, upload_dir=upload_dir, upload_prefix=prefix)
        if self._pool is not None:
            self._pool.reconfigure(self.config)

    def stats(self) -> TftpStats:
        pool = self._pool
        running = len(self.transfers) + len(self._held)
        shares = (self.capacity, self.slots.sources(), self._busy, self._ended)
        if pool is None:
            return TftpStats(
                self.config.workers,
                0,
                running,
                (),
                self._started,
                self._finished,
                self._failed,
                0,
                (),
                *shares,
            )
        per_worker = pool.running_per_worker()
        return TftpStats(
            workers=self.config.workers,
            workers_alive=pool.alive(),
            transfers_running=running + sum(per_worker),
            running_per_worker=per_worker,
            transfers_started=self._started,
            transfers_finished=self._finished,
            transfers_failed=self._failed,
            worker_restarts=pool.restarts,
            worker_pids=pool.pids(),
            capacity=shares[0],
            sources=shares[1],
            refused_busy=shares[2],
            ended_for_room=shares[3],
        )

    # -- called by the transfers and the worker pool ---------------------------------------

    def call_hook(self, name: str, *args: object) -> None:
        if name == "transfer_started":
            self._started += 1
        elif name == "transfer_finished":
            if args[2] is None:
                self._finished += 1
            else:
                self._failed += 1
            info, done, error = args
            if error is not None and not done and isinstance(info, TransferInfo):
                source = info.peer[0]
                self.notes.note(
                    ("failed", source, error),
                    logging.INFO,
                    f"tftp {source}: transfers failed before any byte: {error}",
                    f"tftp {source} {info.filename}: failed after 0 bytes: {error}",
                )
        try:
            getattr(self.hook, name)(*args)
        except Exception:
            log.exception("tftp hook %s failed", name)

    def transfer_done(self, transfer: Transfer) -> None:
        if self.transfers.get(transfer.peer) is transfer:
            del self.transfers[transfer.peer]
            self.slots.remove(transfer.peer)
        if self.config.load_board is not None:
            self.config.load_board.set(len(self.transfers))

    def transfer_unanswered(self, transfer: Transfer, unanswered: bool) -> None:
        if self.transfers.get(transfer.peer) is transfer:
            self.slots.set_unanswered(transfer.peer, unanswered)

    # -- requests --------------------------------------------------------------------------

    def _running(self) -> int:
        return len(self.slots)

    def _on_request(self) -> None:
        sock = self._sock
        if sock is None:
            return
        board = self.config.load_board
        if board is not None and not board.least_loaded():
            # a less busy worker will take it; look again shortly in case it cannot
            self._step_back(sock, 0.005)
            return
        for _ in range(self.config.requests_per_wakeup):
            try:
                packet, peer = sock.recvfrom(tftp.MAX_REQUEST_SIZE + 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("tftp: receive on the listening socket failed: %s", exc)
                return
            try:
                self._handle_request(packet, (peer[0], peer[1]))
            except Exception as exc:
                self._failed_request(peer, exc)
            pause = min(self.config.accept_pause * len(self.transfers), 0.05)
            if pause > 0:
                # Step back from the shared socket for a moment, longer the busier we are,
                # so that idle workers take the next requests.
                self._step_back(sock, pause)
                return

    def _step_back(self, sock: socket.socket, pause: float) -> None:
        self.loop.remove_reader(sock.fileno())
        self.loop.call_later(pause, self._resume_requests, sock)

    def _resume_requests(self, sock: socket.socket) -> None:
        if self._sock is sock:
            self.loop.add_reader(sock.fileno(), self._on_request)

    def _reply_error(self, peer: Address, code: ErrorCode, message: str) -> None:
        failed = reply_error(self.config.host, peer, code, message, self._sock)
        if failed is not None:
            why = failed.strerror or str(failed)
            self.notes.note(
                ("reply", why),
                logging.WARNING,
                f"tftp: refusals answered from the listening port: {why}",
                f"tftp: no socket to answer {peer[0]} ({why}); answered from the listening port",
            )

    def _refuse(self, request: tftp.Request, peer: Address, exc: Refused) -> None:
        verb = "RRQ" if request.is_read else "WRQ"
        source = peer[0]
        if isinstance(exc, Overloaded):
            self._busy += 1
            self.notes.note(
                ("busy", source),
                logging.WARNING,
                f"tftp {source}: requests refused, Server busy",
                f"tftp {peer}: {verb} {request.filename!r} refused: Server busy ({exc.why})",
            )
        else:
            self.notes.note(
                ("refused", source, exc.message),
                logging.INFO,
                f"tftp {source}: requests refused: {exc.message}",
                f"tftp {peer}: {verb} {request.filename!r} refused: {exc.message}",
            )
        self._reply_error(peer, exc.code, exc.message)

    def _worker_refused(
        self, peer: Address, is_read: bool, filename: str, code: int, why: str
    ) -> None:
        """A worker refused a job (and answered the client itself): a refusal of the path
        policy, or (code 0) an overload or a failure."""
        source = peer[0]
        verb = "RRQ" if is_read else "WRQ"
        if code:
            key: tuple[str, ...] = ("refused", source, why)
            level, summary = logging.INFO, f"tftp {source}: requests refused: {why}"
        else:
            self._busy += 1
            key = ("busy", source)
            level, summary = logging.WARNING, f"tftp {source}: requests refused, Server busy"
        self.notes.note(key, level, summary, f"tftp {peer}: {verb} {filename!r} refused: {why}")

    def _failed_request(self, peer: Address, exc: Exception) -> None:
        """An unexpected failure: its traceback once, then a count."""
        kind = type(exc).__name__
        self.notes.note(
            ("failed", kind),
            logging.ERROR,
            f"tftp: requests failed with {kind}",
            f"tftp: request from {peer} failed",
            exc,
        )

    def _handle_request(self, packet: bytes, peer: Address) -> None:
        try:
            request = tftp.parse(packet)
        except MalformedPacket as exc:
            self.notes.note(
                ("bad", peer[0]),
                logging.INFO,
                f"tftp {peer[0]}: bad requests",
                f"tftp {peer}: bad request: {exc}",
            )
            if len(packet) >= 2 and packet[1] in (1, 2) and packet[0] == 0:
                self._reply_error(peer, exc.code, str(exc))
            return
        if not isinstance(request, tftp.Request):
            log.debug("tftp %s: %s on the listening port dropped", peer, type(request).__name__)
            return
        pool = self._pool
        if peer in self.transfers or peer in self._held or (pool and pool.has_peer(peer)):
            log.debug("tftp %s: repeated request while its transfer runs, dropped", peer)
            return
        try:
            self._admit(request, peer)
        except Refused as exc:
            self._refuse(request, peer, exc)
        except OSError as exc:
            if not is_overload(exc):
                raise
            self._refuse(request, peer, overloaded(exc))

    def _make_room(self, peer: Address) -> int | None:
        """In a full server, end the transfer that gives way to `peer`. Raises Overloaded
        when `peer`'s source already holds its share."""
        if len(self.slots) < self.capacity:
            return None
        return self._give_way(peer, "server full")

    def _give_way(self, peer: Address, why: str) -> int | None:
        """End the transfer that gives way to `peer` (tftp_limits.SlotTable) for `why` (the
        server is full, descriptors ran out); the worker that ran it, if any, is returned.
        Raises Overloaded when none does: `peer`'s source holds its share."""
        source = peer[0]
        running = len(self.slots)
        victim = self.slots.victim(source)
        if victim is None:
            held = self.slots.count(source)
            raise Overloaded(f"{why}; {source} holds {held} of {running} transfers")
        slot = self.slots.get(victim)
        unanswered = ", this one never answered" if slot is not None and slot.unanswered else ""
        holds = self.slots.count(victim[0])
        self._ended += 1
        self.notes.note(
            ("ended", victim[0]),
            logging.WARNING,
            f"tftp {victim[0]}: transfers ended to make room for other sources",
            f"tftp {victim}: transfer ended to make room for {source} ({why}; "
            f"{victim[0]} held {holds} of {running} transfers{unanswered})",
        )
        transfer = self.transfers.get(victim)
        if transfer is not None:
            transfer.abort(ErrorCode.NOT_DEFINED, "Server busy")
            return None
        task = self._held.pop(victim, None)
        if task is not None:
            self.slots.remove(victim)
            task.cancel()
            self._reply_error(victim, ErrorCode.NOT_DEFINED, "Server busy")
            return None
        return self._pool.cancel(victim) if self._pool is not None else None

    def _admit(self, request: tftp.Request, peer: Address) -> None:
        """The owner's policy: approve_read (perhaps held) or approve_upload; then a place
        (made in a full server, see _make_room). Raises Refused."""
        if request.is_read:
            policy = getattr(self.hook, "approve_read", None)
            if policy is not None:
                try:
                    answer = policy(peer, request.filename)
                except Exception:
                    log.exception("tftp hook approve_read failed")
                    answer = False
                if inspect.isawaitable(answer):
                    try:
                        self._make_room(peer)  # a held read takes a place (no descriptor)
                    except Refused:
                        if inspect.iscoroutine(answer):
                            answer.close()  # never awaited
                        raise
                    task = self.loop.create_task(self._await_approval(request, peer, answer))
                    self._held[peer] = task
                    self.slots.add(peer)
                    return
                if not answer:
                    raise Refused(ErrorCode.ACCESS_VIOLATION, "Access violation")
        else:
            _, name, opts, _ = check_upload(self.config, request)
            try:
                approved = self.hook.approve_upload(peer, name, opts.tsize)
            except Exception:
                log.exception("tftp hook approve_upload failed")
                approved = False
            if not approved:
                raise Refused(ErrorCode.ACCESS_VIOLATION, "Upload not allowed")
        self._launch(request, peer, self._make_room(peer))

    async def _await_approval(
        self, request: tftp.Request, peer: Address, answer: Awaitable[bool]
    ) -> None:
        """Hold a read until the owner's awaitable answer; other requests go on meanwhile."""
        future = asyncio.ensure_future(answer)
        owned = future is not answer  # a coroutine of the hook's, wrapped here
        refusal = Refused(ErrorCode.ACCESS_VIOLATION, "Access violation")
        allowed = False
        try:
            async with asyncio.timeout(self.config.approve_read_timeout):
                # shielded: the owner's future may be shared by several reads
                allowed = bool(await asyncio.shield(future))
        except TimeoutError:
            refusal = Refused(ErrorCode.NOT_DEFINED, "Timed out waiting for the file")
        except asyncio.CancelledError:
            if owned:
                future.cancel()
            raise
        except Exception:
            log.exception("tftp hook approve_read failed")
        finally:
            if self._held.get(peer) is asyncio.current_task():
                del self._held[peer]
                self.slots.remove(peer)
        if owned and not future.done():
            future.cancel()
        if self._sock is None:
            return  # closed meanwhile
        try:
            if not allowed:
                raise refusal
            self._launch(request, peer, self._make_room(peer))
        except Refused as exc:
            self._refuse(request, peer, exc)
        except OSError as exc:
            if is_overload(exc):
                self._refuse(request, peer, overloaded(exc))
            else:
                self._failed_request(peer, exc)
        except Exception as exc:
            self._failed_request(peer, exc)

    def _launch(self, request: tftp.Request, peer: Address, prefer: int | None = None) -> None:
        """Start an approved transfer here or in a worker (`prefer`: the worker that is
        ending a transfer to make room). Raises Refused."""
        transfer_id = next(self._ids)
        if self._pool is not None:
            if not self._pool.dispatch(transfer_id, request, peer, prefer):
                raise Overloaded("no worker can take it")
            return
        start = start_read if request.is_read else start_write
        try:
            transfer: Transfer = start(self, request, peer, transfer_id)
        except Overloaded as exc:
            # out of descriptors below the capacity (another part of the process holds
            # them): a transfer that gives way frees two, else refused
            self._give_way(peer, exc.why)
            transfer = start(self, request, peer, transfer_id)
        self.transfers[peer] = transfer
        self.slots.add(peer)
        if self.config.load_board is not None:
            self.config.load_board.set(len(self.transfers))
        log.debug(
            "tftp %s: %s %r %s",
            peer,
            "RRQ" if request.is_read else "WRQ",
            request.filename,
            transfer.opts,
        )
        transfer.begin()
