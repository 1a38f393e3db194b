"""initial store: customers, identifiers, source records, interactions, evidence, merges

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 19:43:12.950043
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customers',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('merged_into', sa.UUID(), nullable=True),
    sa.Column('profile', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['merged_into'], ['customers.id'], name=op.f('fk_customers_merged_into_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers'))
    )
    op.create_index(op.f('ix_customers_merged_into'), 'customers', ['merged_into'], unique=False)
    op.create_table('match_evidence',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('event_id', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_evidence'))
    )
    op.create_table('identifiers',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('type', sa.Text(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_identifiers_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identifiers')),
    sa.UniqueConstraint('type', 'value', name=op.f('uq_identifiers_type_value'))
    )
    op.create_index(op.f('ix_identifiers_customer_id'), 'identifiers', ['customer_id'], unique=False)
    op.create_table('interactions',
    sa.Column('event_id', sa.Text(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('channel', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('source_record_id', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('amount_vnd', sa.BigInteger(), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('raw_topic', sa.Text(), nullable=True),
    sa.Column('raw_partition', sa.Integer(), nullable=True),
    sa.Column('raw_offset', sa.BigInteger(), nullable=True),
    sa.Column('stored_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_interactions_customer_id_customers')),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_interactions'))
    )
    op.create_index(op.f('ix_interactions_customer_id_occurred_at'), 'interactions', ['customer_id', 'occurred_at'], unique=False)
    op.create_table('merges',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('survivor_id', sa.UUID(), nullable=False),
    sa.Column('absorbed_id', sa.UUID(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('evidence_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['absorbed_id'], ['customers.id'], name=op.f('fk_merges_absorbed_id_customers')),
    sa.ForeignKeyConstraint(['evidence_id'], ['match_evidence.id'], name=op.f('fk_merges_evidence_id_match_evidence')),
    sa.ForeignKeyConstraint(['survivor_id'], ['customers.id'], name=op.f('fk_merges_survivor_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merges'))
    )
    op.create_index(op.f('ix_merges_absorbed_id'), 'merges', ['absorbed_id'], unique=False)
    op.create_index(op.f('ix_merges_survivor_id'), 'merges', ['survivor_id'], unique=False)
    op.create_table('source_records',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('source_record_id', sa.Text(), nullable=False),
    sa.Column('channel', sa.Text(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('link_rule', sa.Text(), nullable=False),
    sa.Column('link_identifier', sa.Text(), nullable=True),
    sa.Column('record', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('first_event_id', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_source_records_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_records')),
    sa.UniqueConstraint('source', 'source_record_id', name=op.f('uq_source_records_source_source_record_id'))
    )
    op.create_index(op.f('ix_source_records_customer_id'), 'source_records', ['customer_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_source_records_customer_id'), table_name='source_records')
    op.drop_table('source_records')
    op.drop_index(op.f('ix_merges_survivor_id'), table_name='merges')
    op.drop_index(op.f('ix_merges_absorbed_id'), table_name='merges')
    op.drop_table('merges')
    op.drop_index(op.f('ix_interactions_customer_id_occurred_at'), table_name='interactions')
    op.drop_table('interactions')
    op.drop_index(op.f('ix_identifiers_customer_id'), table_name='identifiers')
    op.drop_table('identifiers')
    op.drop_table('match_evidence')
    op.drop_index(op.f('ix_customers_merged_into'), table_name='customers')
    op.drop_table('customers')
