"""webhook_events: an index on outcome, for the scheduler's sweep of events
stored but never applied (fundraiser/tasks.py, requeue_unapplied_events)

Revision ID: f2d9a5c7e118
Revises: a4f19c2e7b53
Create Date: 2026-12-06 17:05:00

"""
from alembic import op

revision = 'f2d9a5c7e118'
down_revision = 'a4f19c2e7b53'
branch_labels = None
depends_on = None

INDEX = 'ix_webhook_events_outcome'


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        # CONCURRENTLY: webhooks keep being stored while a large table is indexed.
        with op.get_context().autocommit_block():
            op.create_index(op.f(INDEX), 'webhook_events', ['outcome'],
                            postgresql_concurrently=True, if_not_exists=True)
    else:
        op.create_index(op.f(INDEX), 'webhook_events', ['outcome'])


def downgrade():
    op.drop_index(op.f(INDEX), table_name='webhook_events')
