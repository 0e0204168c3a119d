"""payments.previous_status: the status before the last move, written by the
same UPDATE that moves it, so a move is one statement (no SELECT ... FOR
UPDATE before it)

Revision ID: f1a6c3d8b2e4
Revises: a8d3f1c6e2b9
Create Date: 2026-12-07 15:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'f1a6c3d8b2e4'
down_revision = 'a8d3f1c6e2b9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payments') as batch:
        batch.add_column(sa.Column('previous_status', sa.String(length=24), nullable=True))


def downgrade():
    with op.batch_alter_table('payments') as batch:
        batch.drop_column('previous_status')
