"""The lab PnP server's record of exchanges: one JSON object per line in
``DIR/exchanges.jsonl``, and the same records in memory for ``GET /pnp-server/exchanges``.

Each record has ``time`` (ISO 8601, UTC), ``kind`` (``request``: a service request sent in
answer to a work request; ``response``: the agent's answer to it; ``bad-message``: a body the
codec refused; ``unanswered``: a request the agent never answered before asking for more work),
``udi``, ``service``, ``correlator``, ``result`` (``sent``, ``success``, ``failure``,
``protocol-error``, ``unanswered``), ``error_enum``, ``error_string`` and, where there is one,
``detail`` (a small mapping) and ``xsd_errors`` (when the server validates against the XSDs).

Writes are an append and a flush of one short line (no fsync), cheap enough for the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

EXCHANGES_FILE = "exchanges.jsonl"
MAX_IN_MEMORY = 20_000

Record = dict[str, Any]


def read_records(path: Path, limit: int = MAX_IN_MEMORY) -> list[Record]:
    """The last ``limit`` records of an exchanges file (blocking); bad lines are skipped."""
    if not path.exists():
        return []
    out: deque[Record] = deque(maxlen=limit)
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                out.append(record)
    return list(out)


class ExchangeLog:
    """Appends records to the file and keeps them in memory; wakes waiters on each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._records: deque[Record] = deque(maxlen=MAX_IN_MEMORY)
        self._file: IO[str] | None = None
        self._changed: asyncio.Event | None = None

    def open(self) -> None:
        """Load earlier records and open the file for appending (blocking)."""
        self._records.extend(read_records(self.path))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def record(self, **fields: Any) -> Record:
        """Add one record (``time`` is filled in) and return it."""
        record: Record = {"time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")}
        for key in ("kind", "udi", "service", "correlator", "result"):
            record[key] = fields.pop(key, None)
        record["error_enum"] = fields.pop("error_enum", None)
        record["error_string"] = fields.pop("error_string", None)
        record.update({k: v for k, v in fields.items() if v is not None})
        self._records.append(record)
        if self._file is not None:
            try:
                self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
                self._file.flush()
            except (OSError, ValueError):
                log.exception("PnP server: cannot write %s", self.path)
        self._notify()
        return record

    def records(self, udi: str | None = None) -> list[Record]:
        """Every record in memory, oldest first; ``udi`` filters by the full UDI or its serial."""
        if not udi:
            return list(self._records)
        return [r for r in self._records if _udi_matches(r.get("udi"), udi)]

    def _notify(self) -> None:
        event, self._changed = self._changed, None
        if event is not None:
            event.set()

    async def wait_for(self, predicate: Callable[[list[Record]], bool], timeout: float) -> None:
        """Wait until ``predicate(records)`` holds (raises TimeoutError after ``timeout``)."""

        async def wait() -> None:
            while not predicate(list(self._records)):
                if self._changed is None:
                    self._changed = asyncio.Event()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)


def _udi_matches(value: Any, wanted: str) -> bool:
    if not isinstance(value, str):
        return False
    return value == wanted or value.endswith(f",SN:{wanted}")
