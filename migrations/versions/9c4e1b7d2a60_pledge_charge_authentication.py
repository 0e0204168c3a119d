"""match pledges: a closing charge that waits for the pledger's bank
(3-D Secure off-session): when they were asked, and their link's token hash

Revision ID: 9c4e1b7d2a60
Revises: f2d9a5c7e118
Create Date: 2026-12-06 18:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '9c4e1b7d2a60'
down_revision = 'f2d9a5c7e118'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('match_pledges') as batch:
        batch.add_column(sa.Column('auth_requested_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('auth_token_hash', sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f('uq_match_pledges_auth_token_hash'),
                                       ['auth_token_hash'])


def downgrade():
    with op.batch_alter_table('match_pledges') as batch:
        batch.drop_constraint(op.f('uq_match_pledges_auth_token_hash'), type_='unique')
        batch.drop_column('auth_token_hash')
        batch.drop_column('auth_requested_at')
