"""share links: referral_links, referral_visits, and the link a signature
or gift came through

Revision ID: c4a7e9d1b3f2
Revises: b8c1e4d2f9a6
Create Date: 2026-12-06 20:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c4a7e9d1b3f2'
down_revision = 'b8c1e4d2f9a6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'referral_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=16), nullable=False),
        sa.Column('appeal_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('cosigner_id', sa.Integer(), nullable=True),
        sa.Column('signature_id', sa.Integer(), nullable=True),
        sa.Column('donation_id', sa.Integer(), nullable=True),
        sa.Column('email_hash', sa.String(length=64), nullable=True),
        sa.Column('report_token', sa.String(length=48), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('cosigner', 'signer', 'donor')",
                           name=op.f('ck_referral_links_kind_known')),
        sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], ondelete='CASCADE',
                                name=op.f('fk_referral_links_appeal_id_appeals')),
        sa.ForeignKeyConstraint(['cosigner_id'], ['cosigners.id'], ondelete='SET NULL',
                                name=op.f('fk_referral_links_cosigner_id_cosigners')),
        sa.ForeignKeyConstraint(['signature_id'], ['signatures.id'], ondelete='SET NULL',
                                name=op.f('fk_referral_links_signature_id_signatures')),
        sa.ForeignKeyConstraint(['donation_id'], ['donations.id'],
                                name=op.f('fk_referral_links_donation_id_donations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_links')),
        sa.UniqueConstraint('code', name=op.f('uq_referral_links_code')),
        sa.UniqueConstraint('cosigner_id', name=op.f('uq_referral_links_cosigner_id')),
        sa.UniqueConstraint('report_token', name=op.f('uq_referral_links_report_token')),
        sa.UniqueConstraint('appeal_id', 'email_hash',
                            name=op.f('uq_referral_links_appeal_id')),
    )
    op.create_index(op.f('ix_referral_links_appeal_id'), 'referral_links', ['appeal_id'])
    op.create_table(
        'referral_visits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('link_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('visitor', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['link_id'], ['referral_links.id'], ondelete='CASCADE',
                                name=op.f('fk_referral_visits_link_id_referral_links')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_visits')),
        sa.UniqueConstraint('link_id', 'day', 'visitor',
                            name=op.f('uq_referral_visits_link_id')),
    )
    # Plain ADD COLUMNs and indexes on both databases (no table rebuild on SQLite).
    op.add_column('signatures', sa.Column('referral_link_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_signatures_referral_link_id'), 'signatures', ['referral_link_id'])
    op.add_column('donations', sa.Column('referral_link_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_donations_referral_link_id'), 'donations', ['referral_link_id'])


def downgrade():
    op.drop_index(op.f('ix_donations_referral_link_id'), table_name='donations')
    op.drop_index(op.f('ix_signatures_referral_link_id'), table_name='signatures')
    import warnings
    with warnings.catch_warnings():  # SQLite cannot reflect the lower(email) index
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table('donations') as batch:
            batch.drop_column('referral_link_id')
        with op.batch_alter_table('signatures') as batch:
            batch.drop_column('referral_link_id')
    op.drop_table('referral_visits')
    op.drop_index(op.f('ix_referral_links_appeal_id'), table_name='referral_links')
    op.drop_table('referral_links')
