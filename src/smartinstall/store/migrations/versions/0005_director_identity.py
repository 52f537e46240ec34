"""every row names its director

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 16:00:00

Many directors share one PostgreSQL database: each row carries the id of the director it
belongs to (``vstack director-id``, or the id in ``DATA/director-id``) and every key begins
with it. The rows of a database written before hold the records of one director: they get the
id of the director that migrates (``config.attributes["director_id"]``), or an empty id that
the first director to open the database claims (:mod:`smartinstall.store.sqlstore`).

Stack members and neighbours are saved, their tables made anew with the composite foreign key,
and their rows put back: SQLite copies a table to alter it, and dropping a parent table with
foreign keys on would delete its children.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = {
    "devices": ["id"],
    "downloads": ["id"],
    "backups": ["id"],
    "pending_backups": ["mac"],
    "replacements": ["new_mac"],
    "director_state": ["key"],
}
DIRECTOR_ID = sa.String(length=64)


def _owner_column(director_key: bool) -> list[sa.Column[str]]:
    return [sa.Column("director_id", DIRECTOR_ID, nullable=False)] if director_key else []


def _children(director_key: bool) -> None:
    """The stack members' and neighbours' tables, keyed with the director id or without."""
    owner = ["director_id"] if director_key else []
    fk = "fk_%s_director_id_devices" if director_key else "fk_%s_device_id_devices"
    parent = ["devices.director_id", "devices.id"] if director_key else ["devices.id"]
    op.create_table(
        "neighbors",
        *_owner_column(director_key),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("local_port", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=14), nullable=False),
        sa.Column("device_name", sa.String(length=255), nullable=False),
        sa.Column("ip", sa.String(length=15), nullable=False),
        sa.Column("port", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            [*owner, "device_id"],
            parent,
            name=fk % "neighbors",
            ondelete="CASCADE",
            onupdate="CASCADE" if director_key else None,
        ),
        sa.PrimaryKeyConstraint(*owner, "device_id", "position", name="pk_neighbors"),
    )
    op.create_table(
        "stack_members",
        *_owner_column(director_key),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("pid", sa.String(length=40), nullable=False),
        sa.Column("mac", sa.String(length=14), nullable=False),
        sa.ForeignKeyConstraint(
            [*owner, "device_id"],
            parent,
            name=fk % "stack_members",
            ondelete="CASCADE",
            onupdate="CASCADE" if director_key else None,
        ),
        sa.PrimaryKeyConstraint(*owner, "device_id", "number", name="pk_stack_members"),
    )
    with op.batch_alter_table("stack_members", schema=None) as batch_op:
        batch_op.create_index("ix_stack_members_mac", ["mac"], unique=False)


def _save_children() -> dict[str, list[dict[str, Any]]]:
    bind = op.get_bind()
    saved = {
        name: [dict(row._mapping) for row in bind.execute(sa.text(f"SELECT * FROM {name}"))]
        for name in ("stack_members", "neighbors")
    }
    op.drop_table("stack_members")
    op.drop_table("neighbors")
    return saved


def _restore_children(saved: dict[str, list[dict[str, Any]]], director_id: str | None) -> None:
    bind = op.get_bind()
    for name, rows in saved.items():
        if not rows:
            continue
        if director_id is None:
            rows = [{k: v for k, v in row.items() if k != "director_id"} for row in rows]
        else:
            rows = [{**row, "director_id": director_id} for row in rows]
        columns = list(rows[0])
        statement = sa.text(
            f"INSERT INTO {name} ({', '.join(columns)}) "
            f"VALUES ({', '.join(':' + c for c in columns)})"
        )
        bind.execute(statement, rows)


def upgrade() -> None:
    fill = str(context.config.attributes.get("director_id") or "")
    saved = _save_children()
    for table, key in KEYS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "director_id", DIRECTOR_ID, nullable=False, server_default=sa.literal(fill)
                )
            )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("director_id", server_default=None)
            batch_op.drop_constraint(f"pk_{table}", type_="primary")
            batch_op.create_primary_key(f"pk_{table}", ["director_id", *key])
    with op.batch_alter_table("backups", schema=None) as batch_op:
        batch_op.drop_index("ix_backups_mac_taken")
        batch_op.create_index("ix_backups_mac_taken", ["director_id", "mac", "taken_at"])
    _children(director_key=True)
    _restore_children(saved, fill)


def downgrade() -> None:
    saved = _save_children()
    with op.batch_alter_table("backups", schema=None) as batch_op:
        batch_op.drop_index("ix_backups_mac_taken")
        batch_op.create_index("ix_backups_mac_taken", ["mac", "taken_at"])
    for table, key in KEYS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"pk_{table}", type_="primary")
            batch_op.create_primary_key(f"pk_{table}", key)
            batch_op.drop_column("director_id")
    _children(director_key=False)
    _restore_children(saved, None)
