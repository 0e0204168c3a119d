"""gifts in the donor's currency: exchange_rates, appeal_currencies,
appeals.second_currency, the rate stored with each gift, and the paid figure
on the match ledger

Revision ID: c3a7e5f1d9b2
Revises: c3f7a1e5d9b2
Create Date: 2026-12-06 20:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c3a7e5f1d9b2'
down_revision = 'c3f7a1e5d9b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'exchange_rates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('rate', sa.String(length=32), nullable=False),
        sa.Column('rate_date', sa.Date(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('updated_by', sa.String(length=254), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_rates')),
        sa.UniqueConstraint('currency', 'rate_date', name=op.f('uq_exchange_rates_currency')),
    )
    op.create_table(
        'appeal_currencies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('appeal_id', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('suggested_amounts', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], ondelete='CASCADE',
                                name=op.f('fk_appeal_currencies_appeal_id_appeals')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_appeal_currencies')),
        sa.UniqueConstraint('appeal_id', 'currency', name=op.f('uq_appeal_currencies_appeal_id')),
    )
    # Plain ADD COLUMN (nullable, no constraint): SQLite needs no table copy,
    # so the match ledger keeps its append-only triggers.
    op.add_column('appeals', sa.Column('second_currency', sa.String(length=3), nullable=True))
    op.add_column('donations', sa.Column('rate', sa.String(length=32), nullable=True))
    op.add_column('donations', sa.Column('rate_date', sa.Date(), nullable=True))
    op.add_column('donations', sa.Column('converted_minor', sa.BigInteger(), nullable=True))
    op.add_column('donations', sa.Column('rate_fixed_at', sa.DateTime(), nullable=True))
    op.add_column('match_ledger', sa.Column('paid_minor', sa.BigInteger(), nullable=True))
    op.add_column('match_ledger', sa.Column('paid_currency', sa.String(length=3),
                                            nullable=True))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+): no table copy, triggers stay.
    for table, column in (('match_ledger', 'paid_currency'), ('match_ledger', 'paid_minor'),
                          ('donations', 'rate_fixed_at'), ('donations', 'converted_minor'),
                          ('donations', 'rate_date'), ('donations', 'rate'),
                          ('appeals', 'second_currency')):
        op.drop_column(table, column)
    op.drop_table('appeal_currencies')
    op.drop_table('exchange_rates')
