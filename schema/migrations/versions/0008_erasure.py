"""suppressions and erasure_salt: erased people stay erased when their old or new events arrive

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suppressions",
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_suppressions")),
    )
    op.create_table(
        "erasure_salt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("salt", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_salt")),
    )


def downgrade() -> None:
    op.drop_table("erasure_salt")
    op.drop_table("suppressions")
