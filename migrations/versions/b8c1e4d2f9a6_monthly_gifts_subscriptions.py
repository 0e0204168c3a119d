"""monthly gifts: subscriptions, donations.subscription_id and invoice_id

Revision ID: b8c1e4d2f9a6
Revises: b8e4d2a6c1f9
Create Date: 2026-12-06 17:50:00

"""
import warnings

import sqlalchemy as sa
from alembic import op

revision = 'b8c1e4d2f9a6'
down_revision = 'b8e4d2a6c1f9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'subscriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.Column('appeal_id', sa.Integer(), nullable=False),
        sa.Column('amount_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('gateway_id', sa.String(length=255), nullable=True),
        sa.Column('customer_id', sa.String(length=255), nullable=True),
        sa.Column('failed_invoice_id', sa.String(length=255), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('canceled_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint('amount_minor > 0', name=op.f('ck_subscriptions_amount_positive')),
        sa.CheckConstraint("status IN ('incomplete', 'active', 'past_due', 'canceled')",
                           name=op.f('ck_subscriptions_status_known')),
        sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'],
                                name=op.f('fk_subscriptions_appeal_id_appeals')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
        sa.UniqueConstraint('gateway_id', name=op.f('uq_subscriptions_gateway_id')),
        sa.UniqueConstraint('public_id', name=op.f('uq_subscriptions_public_id')),
    )
    op.create_index(op.f('ix_subscriptions_email'), 'subscriptions', ['email'])
    # Plain ADD COLUMNs and indexes on both databases (no table rebuild on SQLite).
    op.add_column('donations', sa.Column('subscription_id', sa.Integer(), nullable=True))
    op.add_column('donations', sa.Column('invoice_id', sa.String(length=255), nullable=True))
    op.create_index(op.f('ix_donations_subscription_id'), 'donations', ['subscription_id'])
    op.create_index('ux_donations_invoice_id', 'donations', ['invoice_id'], unique=True)


def downgrade():
    op.drop_index('ux_donations_invoice_id', table_name='donations')
    op.drop_index(op.f('ix_donations_subscription_id'), table_name='donations')
    # SQLite rebuilds the table, and cannot reflect the lower(email) index.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table('donations') as batch:
            batch.drop_column('invoice_id')
            batch.drop_column('subscription_id')
    op.drop_index(op.f('ix_subscriptions_email'), table_name='subscriptions')
    op.drop_table('subscriptions')
