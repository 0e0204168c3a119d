"""match pledges: when the receipt for a saved card's closing charge was sent

Revision ID: d3a87b1e5f04
Revises: c91f0a6d2e17
Create Date: 2026-11-26 23:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd3a87b1e5f04'
down_revision = 'c91f0a6d2e17'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('match_pledges') as batch:
        batch.add_column(sa.Column('charge_receipt_sent_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('match_pledges') as batch:
        batch.drop_column('charge_receipt_sent_at')
