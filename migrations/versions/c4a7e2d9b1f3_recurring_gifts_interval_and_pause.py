"""recurring gifts: yearly interval, paused_at

Revision ID: c4a7e2d9b1f3
Revises: c4a7e9d1b3f2
Create Date: 2026-12-06 20:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c4a7e2d9b1f3'
down_revision = "c4a7e9d1b3f2"
branch_labels = None
depends_on = None


def upgrade():
    # Existing gifts are monthly: the server default fills them in.
    with op.batch_alter_table('subscriptions') as batch:
        batch.add_column(sa.Column('interval', sa.String(length=8), server_default='month',
                                   nullable=False))
        batch.add_column(sa.Column('paused_at', sa.DateTime(), nullable=True))
        batch.create_check_constraint(op.f('ck_subscriptions_interval_known'), "interval IN ('month', 'year')")


def downgrade():
    with op.batch_alter_table('subscriptions') as batch:
        batch.drop_constraint(op.f('ck_subscriptions_interval_known'), type_='check')
        batch.drop_column('paused_at')
        batch.drop_column('interval')
