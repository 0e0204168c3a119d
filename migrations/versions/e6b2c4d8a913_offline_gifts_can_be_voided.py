"""offline gifts: voided_at, voided_by_id and void_reason

Revision ID: e6b2c4d8a913
Revises: e7c2b4a91d30
Create Date: 2026-12-03 08:40:00

"""
import warnings

import sqlalchemy as sa
from alembic import op

revision = 'e6b2c4d8a913'
down_revision = 'e7c2b4a91d30'
branch_labels = None
depends_on = None

FK = 'fk_offline_gifts_voided_by_id_staff_users'


def upgrade():
    # SQLite rebuilds the table, reflecting what it refers to; the lower(email)
    # index on donations cannot be reflected, and SQLAlchemy warns about it.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table('offline_gifts') as batch:
            batch.add_column(sa.Column('voided_at', sa.DateTime(), nullable=True))
            batch.add_column(sa.Column('voided_by_id', sa.Integer(), nullable=True))
            batch.add_column(sa.Column('void_reason', sa.String(length=500), nullable=False,
                                       server_default=''))
            batch.create_foreign_key(op.f(FK), 'staff_users', ['voided_by_id'], ['id'])


def downgrade():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table('offline_gifts') as batch:
            batch.drop_constraint(op.f(FK), type_='foreignkey')
            batch.drop_column('void_reason')
            batch.drop_column('voided_by_id')
            batch.drop_column('voided_at')
