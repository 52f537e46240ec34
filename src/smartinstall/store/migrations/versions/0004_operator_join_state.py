"""a join-window state the operator set holds

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 12:00:00

``vstack join-window-status index N {allowed | held}`` sets a client's state by hand (the
guide: "from the denied state to the active or held state"); the state then holds across the
client's next DHCP exchanges instead of following the join window.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("join_pinned", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("join_pinned")
