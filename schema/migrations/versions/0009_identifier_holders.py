"""identifier_holders: the other customers holding a shared phone or email

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identifier_holders",
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("customer_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_identifier_holders_customer_id_customers")),
        sa.PrimaryKeyConstraint("type", "value", "customer_id", name=op.f("pk_identifier_holders")),
    )
    op.create_index(op.f("ix_identifier_holders_customer_id"), "identifier_holders", ["customer_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_identifier_holders_customer_id"), table_name="identifier_holders")
    op.drop_table("identifier_holders")
