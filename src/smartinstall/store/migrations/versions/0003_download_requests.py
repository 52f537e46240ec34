"""download-status rows remember what the client was asked to do

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 11:00:00

An on-demand download (``vstack download-image|download-config``) keeps its URL and reload
choice in its row, so that a director restarted in the middle of it can ask the client again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("downloads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("downloads", schema=None) as batch_op:
        batch_op.drop_column("request")
