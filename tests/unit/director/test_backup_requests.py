"""A backup asked of a client that then restarts may never be answered (guide, "Backing Up
Client Configurations": the director asks after write memory, at its own start and when a
client comes back). The client's hello has a backup asked at once instead of waiting
``BACKUP_RESULT_WAIT`` (120 s) behind it: after a director's takeover asked every client while
some were reloading for their install, those clients got no backup. The request the hello
may have crossed stays answerable (tests/integration/test_director.py)."""

from __future__ import annotations

import time
from pathlib import Path

from smartinstall.director.backups import BACKUP_RESULT_WAIT, MAX_OUTSTANDING
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


def test_a_hello_asks_again_at_once_and_the_crossed_request_stays_answerable(
    tmp_path: Path,
) -> None:
    director = make_director(tmp_path, CONFIG)
    assert director.is_director and director.settings.backup.enabled
    hello_after_reload(director)  # known, no backup yet: asked
    # asked again just before the client reloaded; then another write memory came meanwhile
    director._backup_asked_at[MAC] = time.monotonic()
    upload = "vstack/backup/ACCESS-1-0050.5633.0001.0123abcd.upload"
    director._backup_requests[MAC] = {upload: time.monotonic()}
    director._backup_again.add(MAC)
    assert hello_after_reload(director) == [MAC]
    assert MAC not in director._backup_asked_at and MAC not in director._backup_again
    # the upload of the request the hello may have crossed is still allowed, from the client
    assert director.approve_upload("127.0.0.3", upload)
    assert not director.approve_upload("127.0.0.9", upload)


def test_a_hello_with_nothing_outstanding_asks_only_what_the_guide_says(tmp_path: Path) -> None:
    director = make_director(tmp_path, CONFIG)
    assert hello_after_reload(director) == [MAC]  # no backup yet
    assert not director.forget_unanswered_backup(MAC)


def test_requests_expire_and_are_bounded_and_a_result_names_its_request(tmp_path: Path) -> None:
    director = make_director(tmp_path, CONFIG)
    now = time.monotonic()
    old = now - BACKUP_RESULT_WAIT
    requests = director._outstanding(MAC, old)
    requests[f"vstack/a-{MAC}.00000000.upload"] = old
    requests = director._outstanding(MAC, now)
    assert not requests  # expired
    for n in range(MAX_OUTSTANDING + 3):
        director._outstanding(MAC, now + n)[f"vstack/a-{MAC}.{n:08x}.upload"] = now + n
    names = list(director._backup_requests[MAC])
    assert len(names) == MAX_OUTSTANDING and names[-1].endswith(f"{MAX_OUTSTANDING + 2:08x}.upload")
    # a result names its upload (a URL or a path); without one, the latest request
    url = f"tftp://127.0.0.1/{names[0]}"
    assert director._request_of(MAC, url) == names[0]
    assert director._request_of(MAC, "") == names[-1]
    assert director._request_of(MAC, f"tftp://127.0.0.1/vstack/a-{MAC}.ffffffff.upload") is None
    director._answered(MAC, names[0])
    assert names[0] not in director._backup_requests[MAC]
    for name in names[1:]:
        director._answered(MAC, name)
    assert MAC not in director._backup_requests
