"""match pledges: when a pledger whose closing charge still waits for their
bank (3-D Secure) was reminded, once

Revision ID: d2b6f8a4c1e7
Revises: c3a7e5f1d9b2
Create Date: 2026-12-06 21:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd2b6f8a4c1e7'
down_revision = 'c3a7e5f1d9b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('match_pledges') as batch:
        batch.add_column(sa.Column('auth_reminded_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('match_pledges') as batch:
        batch.drop_column('auth_reminded_at')
