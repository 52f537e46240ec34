"""Syslog receivers for the director's tests, on loopback: plain UDP and TCP listeners and a TLS
one (Python's ssl), each in a thread; rsyslog over TLS (``gtls``) when it is installed; and a
throwaway certificate authority made with ``cryptography``."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import subprocess
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.tools import find_program

RSYSLOG_MODULES = Path("/usr/lib/x86_64-linux-gnu/rsyslog")


# --- a throwaway certificate authority -------------------------------------------------------


@dataclass
class Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_authority(common: str = "smartinstall test CA") -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return Authority(key, cert)


def server_files(authority: Authority, address: str, folder: Path) -> tuple[Path, Path]:
    """A server certificate for `address` (in its subjectAltName) signed by `authority`:
    (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(address))
        .issuer_name(authority.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.IPv4Address(address))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key()),
            critical=False,
        )
        .sign(authority.key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_file = folder / f"server-{address}.pem"
    key_file = folder / f"server-{address}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


# --- receivers -------------------------------------------------------------------------------


@dataclass
class Received:
    text: str
    peer: str


@dataclass
class Receiver:
    """Collects what one listener receives."""

    address: str
    port: int = 0
    lines: list[Received] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _closing: bool = False

    def add(self, text: str, peer: str) -> None:
        with self._changed:
            self.lines.append(Received(text, peer))
            self._changed.notify_all()

    def texts(self) -> list[str]:
        with self._changed:
            return [r.text for r in self.lines]

    def wait_for(self, needle: str, timeout: float = 10.0) -> Received:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for received in self.lines:
                    if needle in received.text:
                        return received
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{needle!r} not received on {self}: {self.lines}")
                self._changed.wait(left)

    def close(self) -> None:
        self._closing = True


class UdpReceiver(Receiver):
    def __init__(self, address: str) -> None:
        super().__init__(address)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._closing:
            try:
                data, peer = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.add(data.decode(errors="replace"), peer[0])

    def close(self) -> None:
        super().close()
        self.thread.join(2)
        self.sock.close()


class StreamReceiver(Receiver):
    """TCP, or TLS with `context`: octet-counted frames (RFC 6587 / RFC 5425)."""

    def __init__(self, address: str, context: ssl.SSLContext | None = None) -> None:
        super().__init__(address)
        self.context = context
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind((address, 0))
        self.server.listen(8)
        self.server.settimeout(0.1)
        self.port = self.server.getsockname()[1]
        self.handshake_errors: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._closing:
            try:
                conn, peer = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn, peer[0]), daemon=True).start()

    def _serve(self, conn: socket.socket, peer: str) -> None:
        conn.settimeout(5)
        try:
            if self.context is not None:
                conn = self.context.wrap_socket(conn, server_side=True)
            buffer = b""
            while not self._closing:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                while b" " in buffer:
                    length, _, rest = buffer.partition(b" ")
                    if len(rest) < int(length):
                        break
                    self.add(rest[: int(length)].decode(errors="replace"), peer)
                    buffer = rest[int(length) :]
        except (OSError, ValueError) as error:
            self.handshake_errors.append(str(error))
        finally:
            conn.close()

    def close(self) -> None:
        super().close()
        self.thread.join(2)
        self.server.close()


def tls_server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


# --- rsyslog ---------------------------------------------------------------------------------


def rsyslog_tls_available() -> str | None:
    """rsyslogd's path when it and its GnuTLS driver are installed."""
    program = find_program("rsyslogd")
    if program is None or not (RSYSLOG_MODULES / "lmnsd_gtls.so").exists():
        return None
    return program


class RsyslogTls(Receiver):
    """rsyslogd in the foreground with its own configuration: one TLS (gtls) input on
    `address`, writing ``<severity> <msgid> <msg>`` lines to a file."""

    def __init__(
        self, program: str, address: str, port: int, folder: Path, ca: Path, cert: Path, key: Path
    ) -> None:
        super().__init__(address, port)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "work").mkdir(exist_ok=True)
        self.out = folder / "received.log"
        self.config = folder / "rsyslog.conf"
        self.config.write_text(f"""
global(workDirectory="{folder / "work"}"
       defaultNetstreamDriver="gtls"
       defaultNetstreamDriverCAFile="{ca}"
       defaultNetstreamDriverCertFile="{cert}"
       defaultNetstreamDriverKeyFile="{key}")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1"
       streamDriver.authMode="anon")
template(name="line" type="string" string="%syslogseverity% %msgid% %msg%\\n")
ruleset(name="tls") {{ action(type="omfile" file="{self.out}" template="line") }}
input(type="imtcp" address="{address}" port="{port}" ruleset="tls")
""")
        self.stderr = (folder / "rsyslogd.err").open("wb")
        self.process = subprocess.Popen(
            [program, "-n", "-f", str(self.config), "-i", str(folder / "rsyslogd.pid")],
            stdout=self.stderr,
            stderr=self.stderr,
        )
        self._wait_listening(folder)

    def _wait_listening(self, folder: Path) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"rsyslogd exited: {(folder / 'rsyslogd.err').read_text(errors='replace')}"
                )
            with socket.socket() as probe:
                if probe.connect_ex((self.address, self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("rsyslogd does not listen")

    def texts(self) -> list[str]:
        if not self.out.exists():
            return []
        return self.out.read_text(errors="replace").splitlines()

    def wait_for(self, needle: str, timeout: float = 10.0) -> Received:
        deadline = time.monotonic() + timeout
        while True:
            for text in self.texts():
                if needle in text:
                    return Received(text, "")
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not received by rsyslogd: {self.texts()}")
            time.sleep(0.05)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with suppress(OSError):
            self.stderr.close()
