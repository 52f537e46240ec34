"""the state owner keeps device numbers and MACs unique

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 08:00:00

The director keeps its entries in memory and persists batches of changes; within a batch a
device number or a MAC may pass from one entry to another (a stack merge, a client that becomes
the director), so the database no longer enforces their uniqueness row by row. They stay
indexed for readers.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_devices_mac"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_devices_number"), type_="unique")
        batch_op.create_index(batch_op.f("ix_devices_mac"), ["mac"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_number"), ["number"], unique=False)
    with op.batch_alter_table("stack_members", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_stack_members_mac"), type_="unique")
        batch_op.create_index(batch_op.f("ix_stack_members_mac"), ["mac"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stack_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stack_members_mac"))
        batch_op.create_unique_constraint(batch_op.f("uq_stack_members_mac"), ["mac"])
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_number"))
        batch_op.drop_index(batch_op.f("ix_devices_mac"))
        batch_op.create_unique_constraint(batch_op.f("uq_devices_number"), ["number"])
        batch_op.create_unique_constraint(batch_op.f("uq_devices_mac"), ["mac"])
