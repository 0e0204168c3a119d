"""sign-on: appeals.asks_signatures and signature_goal; signatures (one per
appeal and email, counted once confirmed by the emailed link)

Revision ID: b8e4d2a6c1f9
Revises: 9c4e1b7d2a60
Create Date: 2026-12-06 17:55:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b8e4d2a6c1f9'
down_revision = '9c4e1b7d2a60'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asks_signatures', sa.Boolean(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('signature_goal', sa.Integer(), nullable=True))
    op.create_table(
        'signatures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('appeal_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('country', sa.String(length=80), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('consent_contact', sa.Boolean(), nullable=False),
        sa.Column('locale', sa.String(length=8), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'],
                                name=op.f('fk_signatures_appeal_id_appeals'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signatures')),
        sa.UniqueConstraint('appeal_id', 'email', name=op.f('uq_signatures_appeal_id')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_signatures_token_hash')),
    )
    op.create_index(op.f('ix_signatures_confirmed_at'), 'signatures', ['confirmed_at'])


def downgrade():
    op.drop_index(op.f('ix_signatures_confirmed_at'), table_name='signatures')
    op.drop_table('signatures')
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_column('signature_goal')
        batch_op.drop_column('asks_signatures')
