"""The emulated switch's flash: a directory with ``startup-config``, ``state.json`` and one
small marker per installed image (the image bytes are counted as they stream in, never kept).

Every write is atomic (temporary file, fsync, rename), so a switch killed at any moment comes
back with either the old or the new state, never a torn one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from smartinstall.ios.config import write_atomic
from smartinstall.services.smi_replay import CounterRecord
from smartinstall.wire.smi_auth import PEER_ID_SIZE, U64_MAX

log = logging.getLogger(__name__)

STARTUP_CONFIG = "startup-config"
STATE_FILE = "state.json"
MAX_SMI_PEERS = 16  # directors whose counters a switch remembers
_PEER_HEX = re.compile(rf"[0-9a-f]{{{2 * PEER_ID_SIZE}}}")


@dataclass
class FlashState:
    """What survives a reload besides the startup configuration."""

    images: dict[str, str] = field(default_factory=dict)  # member number -> image file name
    ip: str = ""
    director: str = ""  # director address learnt from option 125/16 or `vstack director`
    autoinstall_aborted: bool = False
    vstack_enabled: bool = True
    pending_script: str = ""  # a type 5 received during zero touch: run after the reload
    reloads: int = 0
    # authenticated mode: the last epoch of the switch's own counter (every message it sealed
    # had a counter below the next epoch), and per director identity (hex) the highest counter
    # accepted from it
    smi_epoch: int = 0
    smi_seen: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FlashState:
        state = cls()
        images = data.get("images")
        if isinstance(images, dict):
            state.images = {str(k): str(v) for k, v in images.items()}
        for name in ("ip", "director", "pending_script"):
            value = data.get(name)
            if isinstance(value, str):
                setattr(state, name, value)
        for name in ("autoinstall_aborted", "vstack_enabled"):
            value = data.get(name)
            if isinstance(value, bool):
                setattr(state, name, value)
        reloads = data.get("reloads")
        if isinstance(reloads, int) and reloads >= 0:
            state.reloads = reloads
        epoch = data.get("smi_epoch")
        if isinstance(epoch, int) and not isinstance(epoch, bool) and 0 <= epoch <= U64_MAX:
            state.smi_epoch = epoch
        seen = data.get("smi_seen")
        if isinstance(seen, dict):
            for key, value in list(seen.items())[:MAX_SMI_PEERS]:
                if (
                    isinstance(key, str)
                    and _PEER_HEX.fullmatch(key)
                    and isinstance(value, int)
                    and not isinstance(value, bool)
                    and 0 < value <= U64_MAX
                ):
                    state.smi_seen[key] = value
        return state


class FlashCounterStore:
    """The switch's Smart Install counters (:class:`~smartinstall.services.smi_replay.CounterBook`)
    kept in its flash state, so a reload neither reuses a counter nor accepts a command again.

    ``state`` gives the switch's current state object (a reload or ``write erase`` replaces it);
    changes merge into it (counters only grow) and the state is written atomically at once, as
    every other flash write of the switch: a few bytes, once per boot (a new epoch) and once per
    command received."""

    def __init__(self, flash: Flash, state: Callable[[], FlashState]) -> None:
        self.flash = flash
        self.state = state

    def load(self) -> CounterRecord:
        current = self.state()
        seen = {bytes.fromhex(key): value for key, value in current.smi_seen.items()}
        return CounterRecord(current.smi_epoch, seen)

    async def save(self, epoch: int | None, seen: Mapping[bytes, int]) -> None:
        current = self.state()
        if epoch is not None:
            current.smi_epoch = max(current.smi_epoch, epoch)
        for raw, value in seen.items():
            key = raw.hex()
            if value == 0:
                current.smi_seen.pop(key, None)
            else:
                current.smi_seen[key] = max(current.smi_seen.get(key, 0), value)
        self.flash.save_state(current)


class Flash:
    """``flash:`` of one emulated switch."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    # --- startup-config ------------------------------------------------------------------

    @property
    def startup_path(self) -> Path:
        return self.root / STARTUP_CONFIG

    def startup_config(self) -> str | None:
        try:
            return self.startup_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return None

    def save_startup(self, text: str) -> None:
        write_atomic(self.startup_path, text.encode("utf-8"))

    def erase_startup(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.startup_path.unlink()

    # --- state ---------------------------------------------------------------------------

    def load_state(self) -> FlashState:
        path = self.root / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return FlashState()
        except (OSError, ValueError) as error:
            log.warning("%s unreadable (%s): starting from a blank state", path, error)
            return FlashState()
        return FlashState.from_json(data) if isinstance(data, dict) else FlashState()

    def save_state(self, state: FlashState) -> None:
        data = json.dumps(asdict(state), sort_keys=True, indent=1).encode()
        write_atomic(self.root / STATE_FILE, data)

    # --- images --------------------------------------------------------------------------

    def record_image(self, name: str, size: int) -> None:
        """A marker for an image streamed to flash: its name and size, not its bytes."""
        safe = Path(name).name or "image"
        write_atomic(self.root / f"{safe}.marker", f"{safe} {size}\n".encode())

    def has_image(self, name: str) -> bool:
        return (self.root / f"{Path(name).name}.marker").exists()
