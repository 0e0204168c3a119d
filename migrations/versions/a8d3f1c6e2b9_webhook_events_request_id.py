"""webhook_events.request_id: the request that stored the event, so the
worker that applies it (one job for every event waiting) logs it under
that request's id

Revision ID: a8d3f1c6e2b9
Revises: e5c9a2f7b3d1
Create Date: 2026-12-07 13:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'a8d3f1c6e2b9'
down_revision = 'e5c9a2f7b3d1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webhook_events') as batch:
        batch.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('webhook_events') as batch:
        batch.drop_column('request_id')
