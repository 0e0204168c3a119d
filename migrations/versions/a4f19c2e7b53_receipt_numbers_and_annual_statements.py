"""receipt numbers (donations.receipt_number, one counter row) and the
annual statements sent (one row per email and year)

Revision ID: a4f19c2e7b53
Revises: a4d9e2f7c615
Create Date: 2026-12-06 17:00:00

"""
import warnings

import sqlalchemy as sa
from alembic import op

revision = 'a4f19c2e7b53'
down_revision = 'a4d9e2f7c615'
branch_labels = None
depends_on = None


def upgrade():
    # A plain column and a unique index: no table rebuild on SQLite.
    op.add_column('donations', sa.Column('receipt_number', sa.BigInteger(), nullable=True))
    op.create_index('ux_donations_receipt_number', 'donations', ['receipt_number'],
                    unique=True)
    counters = op.create_table(
        'receipt_counters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('last_number', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt_counters')),
    )
    op.bulk_insert(counters, [{'id': 1, 'last_number': 0}])
    op.create_table(
        'statements_sent',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('queued_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_statements_sent')),
        sa.UniqueConstraint('email', 'year', name='uq_statements_sent_email_year'),
    )


def downgrade():
    op.drop_table('statements_sent')
    op.drop_table('receipt_counters')
    op.drop_index('ux_donations_receipt_number', table_name='donations')
    # SQLite rebuilds the table; the lower(email) index cannot be reflected.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table('donations') as batch:
            batch.drop_column('receipt_number')
