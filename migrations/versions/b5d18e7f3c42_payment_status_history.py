"""payment status history: every move of a payment's status, with its cause

Existing payments get one row each: the status they have now, with no
"from" (the history begins here).

Revision ID: b5d18e7f3c42
Revises: a7e3c91d5b20
Create Date: 2026-11-26 22:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b5d18e7f3c42'
down_revision = 'a7e3c91d5b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'payment_status_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('payment_id', sa.Integer(), nullable=False),
        sa.Column('from_status', sa.String(length=24), nullable=True),
        sa.Column('to_status', sa.String(length=24), nullable=False),
        sa.Column('cause', sa.String(length=120), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['payment_id'], ['payments.id'],
                                name=op.f('fk_payment_status_changes_payment_id_payments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_status_changes')),
    )
    op.create_index(op.f('ix_payment_status_changes_payment_id'), 'payment_status_changes',
                    ['payment_id'], unique=False)
    op.execute(
        "INSERT INTO payment_status_changes (payment_id, from_status, to_status, cause, at) "
        "SELECT id, NULL, status, 'history begins', updated_at FROM payments ORDER BY id")


def downgrade():
    op.drop_index(op.f('ix_payment_status_changes_payment_id'),
                  table_name='payment_status_changes')
    op.drop_table('payment_status_changes')
