"""The tables of the director database (SQLAlchemy 2 typed ORM).

These classes are the schema; :mod:`smartinstall.store.sqlstore` converts them to and from the
domain dataclasses, and nothing outside the store package sees them. Every change of these
classes needs an Alembic revision in ``store/migrations/versions`` (the test
``tests/unit/store/test_migrations.py`` fails when the models and the migrations disagree).

Every table's key starts with ``director_id``: the director the row belongs to, so that many
directors share one database (PostgreSQL) without touching each other's rows (revision 0005).

Enumerated values (device type, health, join state, progress, download status) are stored as
their short text values (``S``/``N``/``P``, ``A``/``I``, ``a``/``h``/``d``, ``none`` …,
``NOT STARTED`` …) so the database reads well with a plain SQL client. Times are stored in UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import (
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext

# Constraint names are fixed so that migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime, stored naive (SQLite keeps no time zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the director database; use UTC times")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


def render_item(kind: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    """Alembic autogenerate hook: migrations spell :class:`UTCDateTime` as ``sa.DateTime()``
    so that they never import the application."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


MAC = String(14)  # xxxx.xxxx.xxxx
IP = String(15)
SHORT = String(64)
DIRECTOR_ID = String(64)  # vstack director-id (smartinstall.domain.fleet)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DeviceRow(Base):
    """One entry of the director database: a client, a stack (one entry) or the director."""

    __tablename__ = "devices"

    director_id: Mapped[str] = mapped_column(DIRECTOR_ID, primary_key=True)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # DevNo and MAC are unique among the entries; the director's state owner keeps them so
    # (a batch of changes may pass a number or a MAC from one entry to another).
    number: Mapped[int] = mapped_column(Integer, index=True)  # DevNo
    mac: Mapped[str] = mapped_column(MAC, index=True)
    pid: Mapped[str] = mapped_column(String(40), default="")
    serial: Mapped[str] = mapped_column(SHORT, default="")
    version: Mapped[str] = mapped_column(String(128), default="")
    image: Mapped[str] = mapped_column(String(255), default="")
    ip: Mapped[str] = mapped_column(IP, default="", index=True)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    hop: Mapped[int | None] = mapped_column(Integer, nullable=True)
    upstream_mac: Mapped[str] = mapped_column(MAC, default="")
    upstream_ip: Mapped[str] = mapped_column(IP, default="")
    upstream_port: Mapped[str] = mapped_column(SHORT, default="")
    supervisor: Mapped[str] = mapped_column(SHORT, default="")
    device_type: Mapped[str] = mapped_column(String(1), default="P")
    health: Mapped[str] = mapped_column(String(1), default="A")
    last_keepalive: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    join_state: Mapped[str] = mapped_column(String(1), default="a")
    removed_from_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    join_pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    image_progress: Mapped[str] = mapped_column(String(16), default="none")
    config_progress: Mapped[str] = mapped_column(String(16), default="none")
    script_progress: Mapped[str] = mapped_column(String(16), default="none")
    is_director: Mapped[bool] = mapped_column(Boolean, default=False)
    smi_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    capability: Mapped[str] = mapped_column(String(255), default="")
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    members: Mapped[list[StackMemberRow]] = relationship(
        back_populates="device",
        cascade="all, delete-orphan",
        order_by="StackMemberRow.number",
        passive_deletes=True,
    )
    neighbors: Mapped[list[NeighborRow]] = relationship(
        back_populates="device",
        cascade="all, delete-orphan",
        order_by="NeighborRow.position",
        passive_deletes=True,
    )


def _of_a_device() -> ForeignKeyConstraint:
    """The key of a device's child rows (stack members, neighbours): they go with it."""
    return ForeignKeyConstraint(
        ["director_id", "device_id"],
        ["devices.director_id", "devices.id"],
        ondelete="CASCADE",
        onupdate="CASCADE",
    )


class StackMemberRow(Base):
    __tablename__ = "stack_members"
    __table_args__ = (_of_a_device(),)

    director_id: Mapped[str] = mapped_column(DIRECTOR_ID, primary_key=True)
    device_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    pid: Mapped[str] = mapped_column(String(40))
    mac: Mapped[str] = mapped_column(MAC, index=True)

    device: Mapped[DeviceRow] = relationship(back_populates="members")


class NeighborRow(Base):
    __tablename__ = "neighbors"
    __table_args__ = (_of_a_device(),)

    director_id: Mapped[str] = mapped_column(DIRECTOR_ID, primary_key=True)
    device_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    local_port: Mapped[str] = mapped_column(SHORT)
    mac: Mapped[str] = mapped_column(MAC)
    device_name: Mapped[str] = mapped_column(String(255), default="")
    ip: Mapped[str] = mapped_column(IP, default="")
    port: Mapped[str] = mapped_column(SHORT, default="")
    platform: Mapped[str] = mapped_column(SHORT, default="")

    device: Mapped[DeviceRow] = relationship(back_populates="neighbors")


class DownloadRow(Base):
    """One row of ``show vstack download-status``; ``id`` is stable, the shown number is not."""

    __tablename__ = "downloads"

    director_id: Mapped[str] = mapped_column(DIRECTOR_ID, primary_key=True)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ip: Mapped[str] = mapped_column(IP, default="")
    mac: Mapped[str] = mapped_column(MAC, index=True)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    method: Mapped[str] = mapped_column(String(32))
    image_status: Mapped[str] = mapped_column(String(16))
    config_status: Mapped[str] = mapped_column(String(16))
    script_status: Mapped[str] = mapped_column(String(16))
    image_reason: Mapped[str] = mapped_column(Text, default="")
    config_reason: Mapped[str] = mapped_column(Text, default="")
    script_reason: Mapped[str] = mapped_column(Text, default="")
    image_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    config_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    script_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    request: Mapped[str] = mapped_column(Text, default="")


class BackupRow(Base):
    """A configuration backup the director took of a client (kept by MAC, not by number)."""

    __tablename__ = "backups"
    __table_args__ = (Index("ix_backups_mac_taken", "director_id", "mac", "taken_at"),)

    director_id: Mapped[str] = mapped_column(DIRECTOR_ID, primary_key=True)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    mac: Mapped[str] = mapped_column(MAC)
    hostname: Mapped[str] = mapped_column(String(255))
    file: Mapped[str] = mapped_column(String(1024))
    checksum: Mapped[str] = mapped_column(String(32))  # MD5, upper-case hex
    size: Mapped[int] = mapped_column(Integer, default=0)
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PendingBackupRow(Base):
    """A backup that could not be taken (connection lost): taken when the client returns."""

    __tablename__ = "pending_backups"

    director_id: Mapped[str] = mapped_column(DIRECTOR_ID, primary_key=True)
    mac: Mapped[str] = mapped_column(MAC, primary_key=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=1)


class ReplacementRow(Base):
    """A zero-touch replacement that has started and not yet finished."""

    __tablename__ = "replacements"

    director_id: Mapped[str] = mapped_column(DIRECTOR_ID, primary_key=True)
    new_mac: Mapped[str] = mapped_column(MAC, primary_key=True)
    old_mac: Mapped[str] = mapped_column(MAC)
    old_number: Mapped[int] = mapped_column(Integer)
    upstream_mac: Mapped[str] = mapped_column(MAC, default="")
    upstream_ip: Mapped[str] = mapped_column(IP, default="")
    upstream_port: Mapped[str] = mapped_column(SHORT, default="")
    config_file: Mapped[str] = mapped_column(String(1024), default="")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class StateRow(Base):
    """Small named values the director keeps across restarts (text, JSON if structured)."""

    __tablename__ = "director_state"

    director_id: Mapped[str] = mapped_column(DIRECTOR_ID, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class MemberRow(Base):
    """One director process of the fleet and its last heartbeat (``smartinstall fleet status``):
    two processes with the same director id are a hot-standby pair, one active."""

    __tablename__ = "director_members"

    director_id: Mapped[str] = mapped_column(DIRECTOR_ID, primary_key=True)
    member: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid
    role: Mapped[str] = mapped_column(String(16))  # active, standby, stopped, fenced
    address: Mapped[str] = mapped_column(String(64), default="")
    fence: Mapped[int] = mapped_column(Integer, default=0)  # the token it holds while active
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # a standby: when the state it holds was committed, and how many seconds behind it is
    state_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    behind: Mapped[float | None] = mapped_column(Float, nullable=True)


class FenceRow(Base):
    """The fencing token of a director id: raised by every member that becomes active; a
    commit whose token is no longer the current one is refused (the store checks it in the
    same transaction)."""

    __tablename__ = "director_fences"

    director_id: Mapped[str] = mapped_column(DIRECTOR_ID, primary_key=True)
    token: Mapped[int] = mapped_column(Integer, default=0)
    holder: Mapped[str] = mapped_column(String(128), default="")
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # the commit position: every commit of the active member advances it (the standby follows)
    commits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    committed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the token whose holder advances the position (an older member's raise leaves it behind)
    counting_token: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
