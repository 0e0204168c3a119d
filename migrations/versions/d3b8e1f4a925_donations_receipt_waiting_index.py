"""donations: a partial index on the receipts waiting (not claimed, donor not
erased), for the receipt job's and the scheduler's sweeps
(fundraiser/donations/receipts.py, waiting_receipts)

Revision ID: d3b8e1f4a925
Revises: c8f4a2e6d1b7
Create Date: 2026-12-08 01:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd3b8e1f4a925'
down_revision = 'c8f4a2e6d1b7'
branch_labels = None
depends_on = None

INDEX = 'ix_donations_receipt_waiting'
WAITING = sa.text('receipt_sent_at IS NULL AND erased_at IS NULL')


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        # CONCURRENTLY: gifts keep being written while a large table is indexed.
        with op.get_context().autocommit_block():
            op.create_index(INDEX, 'donations', ['payment_id'], postgresql_where=WAITING,
                            postgresql_concurrently=True, if_not_exists=True)
    else:
        op.create_index(INDEX, 'donations', ['payment_id'], sqlite_where=WAITING)


def downgrade():
    op.drop_index(INDEX, table_name='donations')
