"""The log file (``--log-file``): reopened when logrotate moves it away, optionally kept to a
size by the program itself, and quiet on a full disk.

:class:`LogFile` is a :class:`logging.handlers.WatchedFileHandler`: a file that logrotate
renamed or removed is noticed before the next line, which goes to a new file. With
``max_bytes`` it also rolls the file over itself before a line would take it past that size:
``director.log`` becomes ``director.log.1``, ``.1`` becomes ``.2`` … and the oldest beyond
``backups`` is removed (no backups: the file starts again empty). The size is the file's own
(``fstat``), not a count kept by the handler, so a file that logrotate emptied
(``copytruncate``) or replaced (``create``) is measured afresh, and the two can be used
together: logrotate's own ``.1`` is shifted along like the program's.

A line that cannot be written (no space left) is dropped, not retried: the failure is
reported once on standard error, the lines dropped meanwhile are counted, and the first line
written again says how many were lost.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import re
from io import TextIOWrapper

__all__ = ["LogFile", "parse_size"]

_SIZE = re.compile(r"(\d+)\s*([kmg]?)i?b?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str) -> int:
    """``1048576``, ``512k``, ``10M``, ``1G`` (powers of 1024) as a number of bytes."""
    found = _SIZE.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"not a size: {text!r} (a number of bytes, or with k, M or G)")
    return int(found.group(1)) * _UNITS[found.group(2).lower()]


class LogFile(logging.handlers.WatchedFileHandler):
    """See the module docstring."""

    def __init__(
        self,
        filename: str | os.PathLike[str],
        max_bytes: int = 0,
        backups: int = 5,
        encoding: str | None = "utf-8",
    ) -> None:
        super().__init__(filename, encoding=encoding)
        self.max_bytes = max(0, max_bytes)  # 0: no limit of its own
        self.backups = max(0, backups)
        self.dropped = 0  # lines lost since writing last failed

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.reopenIfNeeded()
            line = self.format(record) + self.terminator
            stream = self.stream
            if stream is None:
                stream = self.stream = self._open()
                self._statstream()
            if self.max_bytes and self._would_overflow(stream, line):
                stream = self._roll_over(stream)
            if self.dropped:
                stream.write(f"({self.dropped} log lines lost: the file could not be written)\n")
            stream.write(line)
            stream.flush()
            self.dropped = 0
        except OSError:
            self._lost(record)
        except Exception:
            self.handleError(record)

    def _would_overflow(self, stream: TextIOWrapper, line: str) -> bool:
        size = os.fstat(stream.fileno()).st_size
        return size > 0 and size + len(line.encode(self.encoding or "utf-8")) > self.max_bytes

    def _roll_over(self, stream: TextIOWrapper) -> TextIOWrapper:
        """``x`` → ``x.1`` → ``x.2`` …; the oldest beyond ``backups`` is removed."""
        stream.close()
        base = self.baseFilename
        if self.backups:
            for n in range(self.backups - 1, 0, -1):
                older = f"{base}.{n}"
                if os.path.exists(older):
                    os.replace(older, f"{base}.{n + 1}")
            os.replace(base, f"{base}.1")
            stream = self.stream = self._open()
        else:
            stream = self.stream = self._open()
            stream.truncate(0)
        self._statstream()
        return stream

    def _lost(self, record: logging.LogRecord) -> None:
        """The line could not be written: said once, then counted. What the stream still held
        is dropped with it (the file is reopened for the next line)."""
        if not self.dropped:
            self.handleError(record)
        self.dropped += 1
        stream = self.stream
        self.stream = None
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
