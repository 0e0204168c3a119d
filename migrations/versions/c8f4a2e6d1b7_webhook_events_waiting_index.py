"""webhook_events: a partial index on id for the events waiting to be
applied (outcome = 'received') replaces the index on outcome. A worker's
pick (ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) read and sorted every
entry the outcome index kept for the value, live or dead: 2,000 rows sorted
per pick in a run of 2,000 events. The partial index holds only the waiting
ones, in the order they are taken.

Revision ID: c8f4a2e6d1b7
Revises: b7e2d5a9c3f1
Create Date: 2026-12-07 17:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c8f4a2e6d1b7'
down_revision = 'b7e2d5a9c3f1'
branch_labels = None
depends_on = None

WAITING = 'ix_webhook_events_waiting'
OUTCOME = 'ix_webhook_events_outcome'
WHERE = sa.text("outcome = 'received'")


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        # CONCURRENTLY: webhooks keep being stored while a large table is indexed.
        with op.get_context().autocommit_block():
            op.create_index(WAITING, 'webhook_events', ['id'], postgresql_where=WHERE,
                            postgresql_concurrently=True, if_not_exists=True)
            op.drop_index(OUTCOME, table_name='webhook_events',
                          postgresql_concurrently=True, if_exists=True)
    else:
        op.create_index(WAITING, 'webhook_events', ['id'], sqlite_where=WHERE)
        op.drop_index(OUTCOME, table_name='webhook_events')


def downgrade():
    op.create_index(OUTCOME, 'webhook_events', ['outcome'])
    op.drop_index(WAITING, table_name='webhook_events')
