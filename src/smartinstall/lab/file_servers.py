"""Third-party TFTP servers of a lab (the guide's "Third-Party, Non-Cisco IOS Device as the
TFTP Server"): a plain TFTP server on an address of its own, serving its directory and taking
writes of new or existing files there, as tftp-hpa's ``in.tftpd --create`` does. The director
writes its imagelists (and legacy clients' tailored configurations) to it; the switches fetch
their image and configuration from it.

DHCP options 67 and 150 carry no port, so a switch reaches every TFTP server on the one port
it uses: a lab with file servers fixes that port (``lab: tftp_port``) for the director's
server and theirs alike, each on its own address."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smartinstall.services.tftp import TftpServer, TftpServerConfig
from smartinstall.services.tftp_base import OpenUploads

log = logging.getLogger(__name__)


def check_lab_address(address: str, where: str, taken: set[str], error: type[Exception]) -> None:
    """An address a lab server of its own listens on: IPv4, in 127.0.0.0/8, not ``taken``
    by the director, a switch or another server (raises ``error`` with one line)."""
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        raise error(f"{where}: {address!r} is not an IPv4 address") from None
    if not address.startswith("127."):
        raise error(f"{where}: the lab runs on 127.0.0.0/8 only")
    if address in taken:
        raise error(f"address {address} used twice")


def served_files(
    raw: dict[str, Any],
    where: str,
    base: Path,
    parse_size: Callable[[object, str], int],
    inside: Callable[[str, str, str], None],
    error: type[Exception],
) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, str], ...], Path | None]:
    """``(images, files, directory)`` of a lab server's section: generated images (name →
    size), text files (name → text), each inside its directory, and the directory to copy
    (relative to ``base``)."""
    images_raw = raw.get("images") or {}
    files_raw = raw.get("files") or {}
    if not isinstance(images_raw, dict) or not isinstance(files_raw, dict):
        raise error(f"{where}: 'images' and 'files' map file names to sizes or text")
    images = tuple((str(k), parse_size(v, f"{where}: image {k}")) for k, v in images_raw.items())
    files = tuple((str(k), str(v)) for k, v in files_raw.items())
    for name, _ in (*images, *files):
        inside(name, where, "its directory")
    directory = base / str(raw["directory"]) if raw.get("directory") else None
    return images, files, directory


def image_bytes(name: str, size: int) -> Iterator[bytes]:
    """Deterministic filler for a generated image (the same name and size give the same file)."""
    seed = hashlib.sha256(name.encode()).digest()
    block = (seed * (65536 // len(seed) + 1))[:65536]
    left = size
    while left > 0:
        chunk = block[: min(left, len(block))]
        left -= len(chunk)
        yield chunk


def write_files(
    root: Path, images: tuple[tuple[str, int], ...], files: tuple[tuple[str, str], ...]
) -> None:
    """Generated images (kept when already there with their size) and text files under
    ``root``."""
    for name, text in files:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for name, size in images:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and target.stat().st_size == size:
            continue
        with open(target, "wb") as out:
            for chunk in image_bytes(name, size):
                out.write(chunk)


def copy_tree(source: Path | None, target: Path) -> None:
    """Every file under ``source`` (when given and there) copied to the same place under
    ``target``."""
    if source is None or not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        if path.is_file():
            copy = target / path.relative_to(source)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)


@dataclass(frozen=True)
class FileServerSpec:
    """A third-party TFTP server of the topology (``lab: file_servers``)."""

    address: str
    images: tuple[tuple[str, int], ...] = ()  # (name, size) generated in its directory
    files: tuple[tuple[str, str], ...] = ()  # (name, text) written in its directory
    directory: Path | None = None  # its files, copied into its directory


class LabFileServer:
    """One third-party TFTP server, serving ``root`` on ``spec.address``:``port``."""

    def __init__(self, spec: FileServerSpec, root: Path, port: int) -> None:
        self.spec = spec
        self.root = root
        self.port = port
        self._server: TftpServer | None = None

    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        copy_tree(self.spec.directory, self.root)
        write_files(self.root, self.spec.images, self.spec.files)

    async def start(self) -> None:
        config = TftpServerConfig(
            root=self.root, host=self.spec.address, port=self.port,
            upload_dir=self.root, upload_prefix="",  # writes of files in its directory
        )  # fmt: skip
        server = TftpServer(config, OpenUploads())
        await server.start()
        self._server = server
        log.info("third-party TFTP server on %s:%d, %s", self.spec.address, self.port, self.root)

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.close()
