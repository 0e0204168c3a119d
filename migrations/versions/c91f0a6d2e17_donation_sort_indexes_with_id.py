"""donations: sort indexes carry the id, for the staff table's cursors

The staff donations table pages by (sort value, id); an index on the sort
column alone makes PostgreSQL scan every gift of the same amount before the
cursor's row.

Revision ID: c91f0a6d2e17
Revises: b5d18e7f3c42
Create Date: 2026-11-26 22:20:00

"""
from alembic import op

revision = 'c91f0a6d2e17'
down_revision = 'b5d18e7f3c42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('donations') as batch:
        batch.drop_index('ix_donations_created_at')
        batch.drop_index('ix_donations_amount_minor')
        batch.create_index('ix_donations_created_id', ['created_at', 'id'], unique=False)
        batch.create_index('ix_donations_amount_id', ['amount_minor', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('donations') as batch:
        batch.drop_index('ix_donations_amount_id')
        batch.drop_index('ix_donations_created_id')
        batch.create_index('ix_donations_amount_minor', ['amount_minor'], unique=False)
        batch.create_index('ix_donations_created_at', ['created_at'], unique=False)
