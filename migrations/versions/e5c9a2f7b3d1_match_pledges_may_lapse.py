"""match pledges may lapse: a saved card's closing charge that waited
PLEDGE_LAPSE_AFTER_DAYS for the pledger's bank is given up

Revision ID: e5c9a2f7b3d1
Revises: d2b6f8a4c1e7
Create Date: 2026-12-06 23:30:00

"""
from alembic import op

revision = 'e5c9a2f7b3d1'
down_revision = 'd2b6f8a4c1e7'
branch_labels = None
depends_on = None

BEFORE = "status IN ('pending', 'active', 'withdrawn', 'closed')"
AFTER = "status IN ('pending', 'active', 'withdrawn', 'closed', 'lapsed')"


def upgrade():
    with op.batch_alter_table('match_pledges') as batch:
        batch.drop_constraint(op.f('ck_match_pledges_status_known'), type_='check')
        batch.create_check_constraint(op.f('ck_match_pledges_status_known'), AFTER)


def downgrade():
    # A lapsed pledge matches nothing, like a withdrawn one.
    op.execute("UPDATE match_pledges SET status = 'withdrawn' WHERE status = 'lapsed'")
    with op.batch_alter_table('match_pledges') as batch:
        batch.drop_constraint(op.f('ck_match_pledges_status_known'), type_='check')
        batch.create_check_constraint(op.f('ck_match_pledges_status_known'), BEFORE)
