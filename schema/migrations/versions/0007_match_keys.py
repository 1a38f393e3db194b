"""match_keys: hashed blocking keys per source record, for fuzzy matching in the stream

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_keys",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_record_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", "source", "source_record_id", name=op.f("pk_match_keys")),
    )


def downgrade() -> None:
    op.drop_table("match_keys")
