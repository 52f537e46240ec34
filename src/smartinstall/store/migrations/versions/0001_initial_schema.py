"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-27 02:01:03.429416
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mac", sa.String(length=14), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("file", sa.String(length=1024), nullable=False),
        sa.Column("checksum", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backups")),
    )
    with op.batch_alter_table("backups", schema=None) as batch_op:
        batch_op.create_index("ix_backups_mac_taken", ["mac", "taken_at"], unique=False)

    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(length=14), nullable=False),
        sa.Column("pid", sa.String(length=40), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("image", sa.String(length=255), nullable=False),
        sa.Column("ip", sa.String(length=15), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("hop", sa.Integer(), nullable=True),
        sa.Column("upstream_mac", sa.String(length=14), nullable=False),
        sa.Column("upstream_ip", sa.String(length=15), nullable=False),
        sa.Column("upstream_port", sa.String(length=64), nullable=False),
        sa.Column("supervisor", sa.String(length=64), nullable=False),
        sa.Column("device_type", sa.String(length=1), nullable=False),
        sa.Column("health", sa.String(length=1), nullable=False),
        sa.Column("last_keepalive", sa.DateTime(), nullable=True),
        sa.Column("join_state", sa.String(length=1), nullable=False),
        sa.Column("removed_from_hold", sa.Boolean(), nullable=False),
        sa.Column("image_progress", sa.String(length=16), nullable=False),
        sa.Column("config_progress", sa.String(length=16), nullable=False),
        sa.Column("script_progress", sa.String(length=16), nullable=False),
        sa.Column("is_director", sa.Boolean(), nullable=False),
        sa.Column("smi_version", sa.Integer(), nullable=True),
        sa.Column("capability", sa.String(length=255), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("mac", name=op.f("uq_devices_mac")),
        sa.UniqueConstraint("number", name=op.f("uq_devices_number")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_ip"), ["ip"], unique=False)

    op.create_table(
        "director_state",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_director_state")),
    )
    op.create_table(
        "downloads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ip", sa.String(length=15), nullable=False),
        sa.Column("mac", sa.String(length=14), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("image_status", sa.String(length=16), nullable=False),
        sa.Column("config_status", sa.String(length=16), nullable=False),
        sa.Column("script_status", sa.String(length=16), nullable=False),
        sa.Column("image_reason", sa.Text(), nullable=False),
        sa.Column("config_reason", sa.Text(), nullable=False),
        sa.Column("script_reason", sa.Text(), nullable=False),
        sa.Column("image_at", sa.DateTime(), nullable=True),
        sa.Column("config_at", sa.DateTime(), nullable=True),
        sa.Column("script_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_downloads")),
    )
    with op.batch_alter_table("downloads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_downloads_mac"), ["mac"], unique=False)

    op.create_table(
        "pending_backups",
        sa.Column("mac", sa.String(length=14), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("mac", name=op.f("pk_pending_backups")),
    )
    op.create_table(
        "replacements",
        sa.Column("new_mac", sa.String(length=14), nullable=False),
        sa.Column("old_mac", sa.String(length=14), nullable=False),
        sa.Column("old_number", sa.Integer(), nullable=False),
        sa.Column("upstream_mac", sa.String(length=14), nullable=False),
        sa.Column("upstream_ip", sa.String(length=15), nullable=False),
        sa.Column("upstream_port", sa.String(length=64), nullable=False),
        sa.Column("config_file", sa.String(length=1024), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("new_mac", name=op.f("pk_replacements")),
    )
    op.create_table(
        "neighbors",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("local_port", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=14), nullable=False),
        sa.Column("device_name", sa.String(length=255), nullable=False),
        sa.Column("ip", sa.String(length=15), nullable=False),
        sa.Column("port", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_neighbors_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", "position", name=op.f("pk_neighbors")),
    )
    op.create_table(
        "stack_members",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("pid", sa.String(length=40), nullable=False),
        sa.Column("mac", sa.String(length=14), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_stack_members_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", "number", name=op.f("pk_stack_members")),
        sa.UniqueConstraint("mac", name=op.f("uq_stack_members_mac")),
    )


def downgrade() -> None:
    op.drop_table("stack_members")
    op.drop_table("neighbors")
    op.drop_table("replacements")
    op.drop_table("pending_backups")
    with op.batch_alter_table("downloads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_downloads_mac"))

    op.drop_table("downloads")
    op.drop_table("director_state")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_ip"))

    op.drop_table("devices")
    with op.batch_alter_table("backups", schema=None) as batch_op:
        batch_op.drop_index("ix_backups_mac_taken")

    op.drop_table("backups")
