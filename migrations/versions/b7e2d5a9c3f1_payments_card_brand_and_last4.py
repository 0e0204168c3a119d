"""payments.card_brand and card_last4: the card as a receipt shows it
("Visa card ending 4242"), when the gateway said; the same on subscriptions
(the card their instalments are charged to)

Revision ID: b7e2d5a9c3f1
Revises: f1a6c3d8b2e4
Create Date: 2026-12-07 16:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b7e2d5a9c3f1'
down_revision = 'f1a6c3d8b2e4'
branch_labels = None
depends_on = None


TABLES = ('payments', 'subscriptions')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('card_brand', sa.String(length=24), nullable=True))
            batch.add_column(sa.Column('card_last4', sa.String(length=4), nullable=True))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('card_last4')
            batch.drop_column('card_brand')
