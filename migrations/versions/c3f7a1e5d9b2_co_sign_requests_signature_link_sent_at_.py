"""co-sign requests; signature link_sent_at and removed_at

Links sent before this revision count from their signature's last change
(updated_at, set whenever a link was issued), so they expire like new ones.

Revision ID: c3f7a1e5d9b2
Revises: c4a7e2d9b1f3
Create Date: 2026-12-06 19:55:15

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3f7a1e5d9b2'
down_revision = 'c4a7e2d9b1f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cosign_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appeal_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=80), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('logo_id', sa.Integer(), nullable=True),
    sa.Column('consent_contact', sa.Boolean(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('link_sent_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by', sa.String(length=254), nullable=False),
    sa.Column('decline_reason', sa.String(length=500), nullable=False),
    sa.Column('cosigner_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('unconfirmed', 'waiting', 'approved', 'declined')", name=op.f('ck_cosign_requests_status_known')),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_cosign_requests_appeal_id_appeals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['cosigner_id'], ['cosigners.id'], name=op.f('fk_cosign_requests_cosigner_id_cosigners'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['logo_id'], ['images.id'], name=op.f('fk_cosign_requests_logo_id_images')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cosign_requests')),
    sa.UniqueConstraint('appeal_id', 'email', name='uq_cosign_requests_appeal_email'),
    sa.UniqueConstraint('appeal_id', 'name_key', name='uq_cosign_requests_appeal_name'),
    sa.UniqueConstraint('token_hash', name=op.f('uq_cosign_requests_token_hash'))
    )
    with op.batch_alter_table('cosign_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cosign_requests_status'), ['status'], unique=False)

    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_sent_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE signatures SET link_sent_at = updated_at WHERE token_hash IS NOT NULL")



def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_column('removed_at')
        batch_op.drop_column('link_sent_at')

    with op.batch_alter_table('cosign_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cosign_requests_status'))

    op.drop_table('cosign_requests')
