"""Which director the rows of a database belong to: the director id.

A director configured with ``vstack director-id <name>`` runs under that name; one without it
runs under the id kept in ``DATA/director-id``, made once (``director-`` and 8 hex digits) and
never changed by itself. The file always holds the id the director last ran under, so a change
of ``vstack director-id`` is seen at the next start: the database then holds the records of
the old id, and the director refuses to start as an empty director under the new one unless
told to move them (``--rename-director-id``, :meth:`SqlStore.rename_director`).

On SQLite the id file beside the database tells tools (``smartinstall db``, the lab, tests)
whose rows to read; on a shared PostgreSQL database they name the director themselves.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from smartinstall.domain.errors import DomainError
from smartinstall.domain.fleet import new_director_id, validate_director_id

log = logging.getLogger(__name__)

ID_FILE = "director-id"


class IdentityError(Exception):
    """The director id file is unreadable or holds no valid id (one line: which, and why)."""


@dataclass(frozen=True)
class DirectorIdentity:
    """The id to run under, and the one the data directory ran under before (None: first
    start)."""

    director_id: str
    previous: str | None

    @property
    def changed(self) -> bool:
        return self.previous is not None and self.previous != self.director_id


def read_id(data_dir: Path) -> str | None:
    """The id in ``data_dir/director-id`` (None when there is no such file)."""
    path = Path(data_dir) / ID_FILE
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise IdentityError(f"cannot read the director id in {path}: {error}") from error
    try:
        return validate_director_id(text)
    except DomainError as error:
        raise IdentityError(
            f"{path} holds no valid director id ({text[:70]!r}): write one (letters, digits, "
            ". _ -) or remove the file to get a new one"
        ) from error


def write_id(data_dir: Path, director_id: str) -> None:
    """Write the id atomically (temporary file, fsync, rename, fsync of the directory)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / ID_FILE
    temp = path.with_name(f".{ID_FILE}.{os.getpid()}")
    with temp.open("w", encoding="ascii") as stream:
        stream.write(director_id + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temp, path)
    fd = os.open(data_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def resolve(data_dir: Path, configured: str | None) -> DirectorIdentity:
    """The id a director starts under: the configured one, else the data directory's (a new
    one when there is none, written by :func:`record` once the database has accepted it).
    Reads a small file; writes nothing."""
    previous = read_id(data_dir)
    if configured is not None:
        return DirectorIdentity(validate_director_id(configured), previous)
    if previous is not None:
        return DirectorIdentity(previous, previous)
    return DirectorIdentity(new_director_id(), None)


def record(data_dir: Path, identity: DirectorIdentity) -> None:
    """Remember the id run under now (once the database has accepted it; blocking, fsync:
    the store writer's thread)."""
    if identity.previous != identity.director_id:
        write_id(data_dir, identity.director_id)
        if identity.previous is None:
            log.info("director id %s made for %s", identity.director_id, data_dir)
