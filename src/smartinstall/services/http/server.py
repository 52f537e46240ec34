"""The HTTP(S) listeners, run by uvicorn on the director's event loop.

uvicorn's `Server` is used without its signal handling (the director owns SIGTERM, SIGINT
and SIGHUP) and on sockets bound here, so a port that cannot be had is an `OSError` for the
caller rather than uvicorn's exit. HTTPS takes the PEM certificate and key of ``ip http
secure-certificate`` / ``secure-private-key``; without them the director makes a self-signed
pair once in ``DATA/http/`` (off the event loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from smartinstall.services.http.app import HttpApp

log = logging.getLogger(__name__)

GRACE = 1.0


class Server(uvicorn.Server):
    """uvicorn's server without its signal handling: the caller owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def server_config(app: Any, **ssl_files: Any) -> uvicorn.Config:
    """uvicorn's settings for ``app`` on a socket of ours (:func:`bind`): no lifespan, no
    logging setup or access log, no proxy or server headers, :data:`GRACE` to finish."""
    return uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=int(GRACE),
        **ssl_files,
    )


def bind(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def self_signed(directory: Path, hostname: str) -> tuple[Path, Path]:
    """A self-signed certificate and key in ``directory`` (made once; blocking)."""
    cert_path, key_path = directory / "self-signed.crt", directory / "self-signed.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    log.info("HTTPS: self-signed certificate %s made", cert_path)
    return cert_path, key_path


class HttpListener:
    """One uvicorn server on one socket (HTTP, or HTTPS with ``certificate`` and ``key``)."""

    def __init__(
        self,
        app: HttpApp,
        address: str,
        port: int,
        certificate: Path | None = None,
        key: Path | None = None,
    ) -> None:
        self.app = app
        self.address = address
        self.port = port
        self.certificate = certificate
        self.key = key
        self._server: Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def secure(self) -> bool:
        return self.certificate is not None

    async def start(self) -> None:
        sock = bind(self.address, self.port)
        self.port = int(sock.getsockname()[1])
        config = server_config(
            self.app.app,
            ssl_certfile=str(self.certificate) if self.certificate else None,
            ssl_keyfile=str(self.key) if self.key else None,
        )
        if self.certificate is not None:
            # loading the PEM files is file I/O: off the loop
            await asyncio.to_thread(config.load)
        server = Server(config)
        self._server = server
        self._task = asyncio.get_running_loop().create_task(
            server.serve(sockets=[sock]), name=f"http-{self.port}"
        )
        while not server.started:
            if self._task.done():
                sock.close()
                error = self._task.exception()
                raise OSError(f"HTTP server on port {self.port} did not start: {error}")
            await asyncio.sleep(0.01)
        kind = "HTTPS" if self.secure else "HTTP"
        log.info("%s server on %s:%d", kind, self.address, self.port)

    async def close(self) -> None:
        server, task = self._server, self._task
        self._server = self._task = None
        if server is None or task is None:
            return
        server.should_exit = True
        try:
            await asyncio.wait_for(task, GRACE * 3)
        except (TimeoutError, asyncio.CancelledError):
            server.force_exit = True
            task.cancel()
        except Exception:
            log.exception("HTTP server on port %d failed while stopping", self.port)


def ssl_ok(certificate: Path, key: Path) -> str | None:
    """Why the pair cannot serve HTTPS, or None (blocking: reads the files)."""
    try:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(certificate), str(key))
    except (OSError, ssl.SSLError) as error:
        return str(error)
    return None


__all__ = ["HttpListener", "bind", "self_signed", "ssl_ok"]
