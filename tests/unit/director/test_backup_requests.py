"""A backup asked of a client that then restarts is never answered (guide, "Backing Up Client
Configurations": the director asks after write memory, at its own start and when a client
comes back). The client's hello forgets that request, so a backup is asked at once instead
of waiting ``BACKUP_RESULT_WAIT`` (120 s) behind it: after a director's takeover asked every
client while some were reloading for their install, those clients got no backup."""

from __future__ import annotations

import time
from pathlib import Path

from smartinstall.director.core import Director
from smartinstall.director.facts import HelloFacts
from tests.unit.director.director_host import make_director

MAC = "0050.5633.0001"
CONFIG = "vstack director 127.0.0.1\nvstack basic\nvstack backup\n"


def hello_after_reload(director: Director) -> list[str]:
    asked: list[str] = []
    director.backup_later = asked.append  # type: ignore[method-assign]
    director.client_hello(
        HelloFacts(MAC, ip="127.0.0.3", hostname="ACCESS-1", has_startup_config=True)
    )
    return asked


def test_a_hello_forgets_a_backup_the_client_never_answered(tmp_path: Path) -> None:
    director = make_director(tmp_path, CONFIG)
    assert director.is_director and director.settings.backup.enabled
    hello_after_reload(director)  # known, no backup yet: asked
    # asked again just before the client reloaded; then another write memory came meanwhile
    director._backup_asked_at[MAC] = time.monotonic()
    director._backup_requests[MAC] = "vstack/backup/ACCESS-1-0050.5633.0001.upload"
    director._backup_again.add(MAC)
    assert hello_after_reload(director) == [MAC]
    assert MAC not in director._backup_asked_at and MAC not in director._backup_requests
    assert MAC not in director._backup_again


def test_a_hello_with_nothing_outstanding_asks_only_what_the_guide_says(tmp_path: Path) -> None:
    director = make_director(tmp_path, CONFIG)
    assert hello_after_reload(director) == [MAC]  # no backup yet
    assert not director.forget_unanswered_backup(MAC)
