"""Uploads (WRQ) into the backup repository: DATA in, ACKs out, a temporary file fsynced
and renamed into place only when complete. See tftp_transfers for the shared machinery."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import tempfile

from smartinstall.services.tftp_base import (
    Address,
    Refused,
    TftpServerConfig,
    TransferInfo,
    bind_socket,
    overloaded,
    upload_target,
)
from smartinstall.services.tftp_limits import is_overload
from smartinstall.services.tftp_transfers import Transfer, TransferHost
from smartinstall.wire import tftp
from smartinstall.wire.tftp import ErrorCode, Mode


class WriteTransfer(Transfer):
    """An upload into the backup repository: DATA in, ACKs out, temp file then rename."""

    __slots__ = (
        "cap",
        "complete",
        "decoder",
        "directory",
        "file",
        "gap_acked",
        "last_reply",
        "name",
        "received",
        "since_ack",
        "temp_path",
    )

    def __init__(
        self,
        server: TransferHost,
        sock: socket.socket,
        peer: Address,
        info: TransferInfo,
        oack: dict[str, str],
        directory: str,
        name: str,
    ) -> None:
        super().__init__(server, sock, peer, info, oack)
        self.directory = directory
        self.name = name
        fd, self.temp_path = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
        self.file = os.fdopen(fd, "wb")
        self.received = 0  # absolute number of blocks written
        self.since_ack = 0
        self.gap_acked = -1
        self.complete = False
        self.decoder = tftp.NetasciiDecoder() if info.mode == Mode.NETASCII.value else None
        self.last_reply: bytes = tftp.encode_oack(oack) if oack else tftp.encode_ack(0)
        self.cap = server.config.max_upload_size

    def mark(self) -> int:
        return self.received

    def first_send(self) -> None:
        self.send(self.last_reply)

    def resend(self) -> None:
        if self.complete:  # dallying ended: the final ACK stood
            self.finish(None)
            return
        if self.since_ack:  # RFC 7440: acknowledge what arrived of a window cut short
            self.ack()
            return
        self.send(self.last_reply)

    def ack(self) -> None:
        self.last_reply = tftp.encode_ack(self.received)
        self.since_ack = 0
        self.send(self.last_reply)

    def on_packet(self, n: int) -> None:
        rbuf = self.rbuf
        if n >= 4 and rbuf[0] == 0 and rbuf[1] == 3:
            block16 = rbuf[2] << 8 | rbuf[3]
            delta = (block16 - self.received) & 0xFFFF
            if delta != 1:
                if delta == 0 or delta > 0x8000:  # duplicate of a block already written
                    self.send(self.last_reply)
                elif self.gap_acked != self.received:  # a gap: tell where to restart
                    self.gap_acked = self.received
                    self.ack()
                return
            if self.complete:
                return
            size = n - 4
            if size > self.opts.blksize:
                self.abort(ErrorCode.ILLEGAL_OPERATION, "Block larger than negotiated")
                return
            payload = bytes(self.rview[4:n])
            if self.decoder is not None:
                payload = self.decoder.feed(payload)
            self.done += len(payload)
            if self.done > self.cap:
                self.abort(ErrorCode.DISK_FULL, "Upload exceeds the size limit")
                return
            try:
                self.file.write(payload)
                if size < self.opts.blksize:
                    self.commit()
            except OSError as exc:
                self.write_failed(exc)
                return
            self.received += 1
            self.since_ack += 1
            self.made_progress()
            if self.complete:
                self.ack()
                # Dally: stay to re-ACK a retransmitted last DATA, then finish from the timer.
                self.server.call_hook("transfer_progress", self.info, self.done)
                self.rto = self.base_rto
                return
            if self.since_ack >= self.opts.windowsize:
                self.ack()
            if self.done >= self.next_progress:
                self.progress()
        elif n >= 2 and rbuf[0] == 0 and rbuf[1] == 5:
            self.peer_error(n)
        else:
            self.unexpected(n)

    def commit(self) -> None:
        if self.decoder is not None:
            tail = self.decoder.finish()
            self.file.write(tail)
            self.done += len(tail)
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.temp_path, os.path.join(self.directory, self.name))
        dir_fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self.complete = True

    def write_failed(self, exc: OSError) -> None:
        """The file cannot be written (a full disk): the peer is told, nothing stays."""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            self.abort(ErrorCode.DISK_FULL, "Disk full or allocation exceeded")
        else:
            self.abort(ErrorCode.ACCESS_VIOLATION, f"Cannot write: {exc.strerror or exc}")

    def abort(self, code: ErrorCode, message: str) -> None:
        # the partial file is gone before the peer hears of the failure
        with contextlib.suppress(OSError):
            self.cleanup(False)
        super().abort(code, message)

    def cleanup(self, ok: bool) -> None:
        try:
            if not self.file.closed:
                self.file.close()
        except OSError:
            # what was still buffered could not be written (a full disk): an upload that did
            # not complete is removed anyway
            if self.complete:
                raise
        finally:
            if not self.complete:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.temp_path)

    def finish(self, error: str | None) -> None:
        # Once the file is in place, a late error or a lost last ACK changes nothing.
        super().finish(None if self.complete else error)


def check_upload(
    config: TftpServerConfig, request: tftp.Request
) -> tuple[str, str, tftp.TransferOptions, dict[str, str]]:
    """(directory, name, options, OACK) of an upload the configuration allows, or Refused."""
    directory, name = upload_target(config, request.filename)
    opts, oack = tftp.negotiate(request, config.limits, None)
    if opts.tsize is not None and opts.tsize > config.max_upload_size:
        raise Refused(ErrorCode.DISK_FULL, "Upload exceeds the size limit")
    return directory, name, opts, oack


def start_write(
    host: TransferHost, request: tftp.Request, peer: Address, transfer_id: int
) -> WriteTransfer:
    """Set up an upload the owner approved: its temporary file in the upload directory
    (confined there again here, where it is opened). Raises Refused."""
    config = host.config
    directory, name, opts, oack = check_upload(config, request)
    path = os.path.join(directory, name)
    info = TransferInfo(
        transfer_id, peer, request.filename, path, False, request.mode.value, opts.tsize, opts
    )
    sock = bind_socket(config.host, 0, peer=peer)
    try:
        # room for a whole window of large blocks (the kernel caps it at rmem_max)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        return WriteTransfer(host, sock, peer, info, oack, directory, name)
    except OSError as exc:
        sock.close()
        if is_overload(exc):
            raise overloaded(exc) from None
        raise Refused(ErrorCode.ACCESS_VIOLATION, f"Cannot write: {exc.strerror}") from None
    except BaseException:
        sock.close()
        raise
