"""review queue, remembered review decisions, trained match parameters

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_queue",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("left_record", sa.Text(), nullable=False),
        sa.Column("right_record", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("probability", sa.Double(), nullable=True),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_queue")),
        sa.UniqueConstraint("left_record", "right_record", name=op.f("uq_review_queue_left_record_right_record")),
    )
    op.create_index(op.f("ix_review_queue_status"), "review_queue", ["status"], unique=False)
    op.create_table(
        "review_decisions",
        sa.Column("left_record", sa.Text(), nullable=False),
        sa.Column("right_record", sa.Text(), nullable=False),
        sa.Column("same_person", sa.Boolean(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("left_record", "right_record", name=op.f("pk_review_decisions")),
    )
    op.create_table(
        "match_parameters",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_parameters")),
    )


def downgrade() -> None:
    op.drop_table("match_parameters")
    op.drop_table("review_decisions")
    op.drop_index(op.f("ix_review_queue_status"), table_name="review_queue")
    op.drop_table("review_queue")
