"""donor portal: portal_links (magic links and their sessions), donations.erased_at

Revision ID: a4d9e2f7c615
Revises: e6b2c4d8a913
Create Date: 2026-12-06 17:10:00

"""
import warnings

import sqlalchemy as sa
from alembic import op

revision = 'a4d9e2f7c615'
down_revision = 'e6b2c4d8a913'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'portal_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('session_ends_at', sa.DateTime(), nullable=True),
        sa.Column('session_hash', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_portal_links_token_hash')),
        sa.UniqueConstraint('session_hash', name=op.f('uq_portal_links_session_hash')),
    )
    op.create_index('ix_portal_links_email_created', 'portal_links', ['email', 'created_at'])
    # A plain ADD COLUMN on both databases (no table rebuild on SQLite).
    op.add_column('donations', sa.Column('erased_at', sa.DateTime(), nullable=True))


def downgrade():
    # SQLite rebuilds the table, and cannot reflect the lower(email) index.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table('donations') as batch:
            batch.drop_column('erased_at')
    op.drop_index('ix_portal_links_email_created', table_name='portal_links')
    op.drop_table('portal_links')
