"""the commit position a hot standby follows

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 17:00:00

``director_fences.commits`` and ``committed_at``: every commit of an active member advances its
director id's commit position in the same transaction as its fencing-token check, so a standby
knows which commit the state it holds is at; ``counting_token``: the token whose holder does so
(a member of an older release raises the token without it, and its commits do not count).
``director_members.state_at`` and ``behind``: a standby's heartbeat says when the state it
holds was committed and how far behind it is (``smartinstall fleet status``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("director_fences", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("commits", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(sa.Column("committed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("counting_token", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    with op.batch_alter_table("director_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("behind", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("director_members", schema=None) as batch_op:
        batch_op.drop_column("behind")
        batch_op.drop_column("state_at")
    with op.batch_alter_table("director_fences", schema=None) as batch_op:
        batch_op.drop_column("counting_token")
        batch_op.drop_column("committed_at")
        batch_op.drop_column("commits")
