"""SQL views for BI: one row per live customer, one row per interaction on its live customer

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE VIEW bi_customers AS
        SELECT c.id AS customer_id,
               c.profile->>'full_name' AS full_name,
               c.profile->'phones'->0->>'value' AS first_phone,
               c.profile->'emails'->0->>'value' AS first_email,
               jsonb_array_length(c.profile->'phones') AS phones,
               jsonb_array_length(c.profile->'emails') AS emails,
               ARRAY(SELECT jsonb_array_elements_text(c.profile->'channels')) AS channels,
               (c.profile->>'interactions')::bigint AS interactions,
               (c.profile->>'first_seen')::timestamptz AS first_seen,
               (c.profile->>'last_seen')::timestamptz AS last_seen,
               jsonb_array_length(c.profile->'merged_from') AS merged_records,
               c.created_at, c.updated_at
          FROM customers c
         WHERE c.merged_into IS NULL
    """)
    op.execute("""
        CREATE VIEW bi_interactions AS
        SELECT i.event_id, coalesce(c.merged_into, c.id) AS customer_id, i.channel, i.source,
               i.source_record_id, i.kind, i.occurred_at, i.received_at, i.stored_at, i.summary, i.amount_vnd
          FROM interactions i JOIN customers c ON c.id = i.customer_id
    """)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS bi_interactions")
    op.execute("DROP VIEW IF EXISTS bi_customers")
