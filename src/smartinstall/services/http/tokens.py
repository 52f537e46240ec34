"""Bearer tokens of the REST API: ``smartinstall token create --user U`` writes one to the data
directory's ``api-tokens`` file (mode 0600); the director reads the file when a token is shown.

A token is ``si_<id>_<secret>``: the file keeps the id, the user it acts for and the SHA-256
of the secret, never the secret (32 random bytes: a fast hash is enough, nothing to guess).
A token grants what its user may do now: the user's ``username … privilege`` line decides, and
a token of a user that no longer exists grants nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

TOKENS_FILE = "api-tokens"
PREFIX = "si_"
MAX_TOKEN = 200
MAX_FILE = 1 << 20


@dataclass(frozen=True)
class TokenRecord:
    id: str
    user: str
    sha256: str
    created: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token."""
    if len(token) > MAX_TOKEN or not token.startswith(PREFIX):
        return None
    ident, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or not ident.isalnum() or not secret:
        return None
    return ident, secret


class TokenStore:
    """The ``api-tokens`` file of a data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / TOKENS_FILE

    def load(self) -> list[TokenRecord]:
        try:
            with self.path.open("rb") as file:
                raw = file.read(MAX_FILE + 1)
        except FileNotFoundError:
            return []
        if len(raw) > MAX_FILE:
            log.error("%s is larger than %d bytes: no token accepted", self.path, MAX_FILE)
            return []
        records = []
        for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                records.append(
                    TokenRecord(
                        str(item["id"]),
                        str(item["user"]),
                        str(item["sha256"]),
                        str(item["created"]),
                    )
                )
            except (ValueError, KeyError, TypeError):
                log.error("%s line %d is not a token record: ignored", self.path, number)
        return records

    def _save(self, records: list[TokenRecord]) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        text = "".join(json.dumps(asdict(r), sort_keys=True) + "\n" for r in records)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)

    def create(self, user: str) -> tuple[TokenRecord, str]:
        """A new token for ``user``: its record and the token text (shown once)."""
        ident = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        record = TokenRecord(
            ident, user, _digest(secret), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._save([*self.load(), record])
        return record, f"{PREFIX}{ident}_{secret}"

    def revoke(self, ident: str) -> bool:
        records = self.load()
        kept = [r for r in records if r.id != ident]
        if len(kept) == len(records):
            return False
        self._save(kept)
        return True

    def user_of(self, token: str) -> str | None:
        """The user a token acts for, or None (unknown, revoked or malformed)."""
        parts = split_token(token)
        if parts is None:
            return None
        ident, secret = parts
        digest = _digest(secret)
        for record in self.load():
            if record.id == ident and hmac.compare_digest(record.sha256, digest):
                return record.user
        return None


__all__ = ["TOKENS_FILE", "TokenRecord", "TokenStore", "split_token"]
