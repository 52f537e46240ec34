"""fleet members and fencing tokens

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:30:00

``director_members``: each director process's heartbeat and role (``smartinstall fleet
status``); ``director_fences``: the fencing token of a hot-standby pair, raised at every
takeover and checked by every commit of the active member.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "director_members",
        sa.Column("director_id", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("fence", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("director_id", "member", name=op.f("pk_director_members")),
    )
    op.create_table(
        "director_fences",
        sa.Column("director_id", sa.String(length=64), nullable=False),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("director_id", name=op.f("pk_director_fences")),
    )


def downgrade() -> None:
    op.drop_table("director_fences")
    op.drop_table("director_members")
