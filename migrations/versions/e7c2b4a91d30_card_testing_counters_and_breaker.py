"""card testing: counters and blocks (when there is no Redis), the per-appeal breaker

Revision ID: e7c2b4a91d30
Revises: e6b2f0c4a9d1
Create Date: 2026-12-03 08:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e7c2b4a91d30'
down_revision = 'e6b2f0c4a9d1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'abuse_hits',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('cost', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_abuse_hits')),
    )
    op.create_index('ix_abuse_hits_key_at', 'abuse_hits', ['key', 'at'], unique=False)
    op.create_table(
        'abuse_blocks',
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('until', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_abuse_blocks')),
    )
    op.create_table(
        'card_breakers',
        sa.Column('appeal_id', sa.Integer(), nullable=False),
        sa.Column('tripped_at', sa.DateTime(), nullable=False),
        sa.Column('resets_at', sa.DateTime(), nullable=False),
        sa.Column('declines', sa.Integer(), nullable=False),
        sa.Column('paused', sa.Boolean(), nullable=False),
        sa.Column('trips', sa.Integer(), nullable=False),
        sa.Column('reset_at', sa.DateTime(), nullable=True),
        sa.Column('reset_by', sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'],
                                name=op.f('fk_card_breakers_appeal_id_appeals'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('appeal_id', name=op.f('pk_card_breakers')),
    )


def downgrade():
    op.drop_table('card_breakers')
    op.drop_table('abuse_blocks')
    op.drop_index('ix_abuse_hits_key_at', table_name='abuse_hits')
    op.drop_table('abuse_hits')
