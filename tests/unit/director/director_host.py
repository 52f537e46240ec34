"""A director on a real state, repository and event log (no network), and the host its
engine is built on: what the tests of the director's commands share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smartinstall.director.core import Director
from smartinstall.director.eventlog import EventLog
from smartinstall.director.state import DirectorState
from smartinstall.domain.settings import DirectorSettings
from smartinstall.ios.director_commands import replay_director_config
from smartinstall.store.repository import Repository


@dataclass
class Host:
    data_dir: Path
    events: EventLog
    state: DirectorState
    repo: Repository
    director: Director
    dhcp: Any = None
    proxy: Any = None
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def settings(self) -> DirectorSettings:
        return self.director.settings

    @property
    def db(self) -> DirectorState:
        return self.state


def make_director(data_dir: Path, config: str = "", address: str = "127.0.0.1") -> Director:
    """A director at ``address`` running ``config``, its role worked out."""
    settings = replay_director_config(config, lambda address: True).settings
    director = Director(
        settings,
        DirectorState(),
        Repository(data_dir / "flash"),
        EventLog(),
        address=address,
        owns_address=lambda address: True,
    )
    director.refresh_role()
    return director


def make_host(data_dir: Path, config: str = "") -> Host:
    """The host of a :func:`make_director` director."""
    director = make_director(data_dir, config)
    return Host(data_dir, director.events, director.state, director.repo, director)
