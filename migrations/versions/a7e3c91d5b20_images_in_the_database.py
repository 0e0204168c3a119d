"""images in the database: hero images and co-signer logos

Uploaded images move from static/uploads/ on one host's disk into an
`images` table, so that every app host serves them (hosts share nothing but
PostgreSQL and Redis). Appeals point at their hero image by id, and a
co-signer may have a logo. Existing hero images are read from the static
folder and stored; one whose file is gone is dropped (the appeal shows no
image), as it could not have been served by another host anyway.

Revision ID: a7e3c91d5b20
Revises: fb1cf10d1d7c
Create Date: 2026-11-26 21:40:00

"""
import hashlib
import os
import re

import sqlalchemy as sa
from alembic import op

revision = 'a7e3c91d5b20'
down_revision = 'fb1cf10d1d7c'
branch_labels = None
depends_on = None

STATIC = os.path.join(os.path.dirname(__file__), "..", "..", "static")
TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
         ".svg": "image/svg+xml"}


def upgrade():
    op.create_table(
        'images',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('content_type', sa.String(length=40), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_images')),
        sa.UniqueConstraint('digest', name=op.f('uq_images_digest')),
    )
    with op.batch_alter_table('appeals') as batch:
        batch.add_column(sa.Column('hero_image_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_appeals_hero_image_id_images'), 'images',
                                 ['hero_image_id'], ['id'])
    with op.batch_alter_table('cosigners') as batch:
        batch.add_column(sa.Column('logo_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_cosigners_logo_id_images'), 'images',
                                 ['logo_id'], ['id'])
    _move_hero_images()
    with op.batch_alter_table('appeals') as batch:
        batch.drop_column('hero_image')


def _move_hero_images():
    bind = op.get_bind()
    appeals = sa.table('appeals', sa.column('id', sa.Integer), sa.column('hero_image'),
                       sa.column('hero_image_id', sa.Integer))
    images = sa.table('images', sa.column('id', sa.Integer), sa.column('digest'),
                      sa.column('content_type'), sa.column('width', sa.Integer),
                      sa.column('height', sa.Integer), sa.column('data', sa.LargeBinary),
                      sa.column('created_at', sa.DateTime))
    rows = bind.execute(sa.select(appeals.c.id, appeals.c.hero_image)
                        .where(appeals.c.hero_image.is_not(None))).all()
    for appeal_id, path in rows:
        found = _read(path)
        if found is None:
            continue
        data, content_type, width, height = found
        digest = hashlib.sha256(data).hexdigest()
        image_id = bind.scalar(sa.select(images.c.id).where(images.c.digest == digest))
        if image_id is None:
            image_id = bind.execute(images.insert().values(
                digest=digest, content_type=content_type, width=width, height=height,
                data=data, created_at=sa.func.now()).returning(images.c.id)).scalar()
        bind.execute(appeals.update().where(appeals.c.id == appeal_id)
                     .values(hero_image_id=image_id))


def _read(path):
    full = os.path.realpath(os.path.join(STATIC, path))
    kind = TYPES.get(os.path.splitext(full)[1].lower())
    if kind is None or not full.startswith(os.path.realpath(STATIC)) \
            or not os.path.isfile(full):
        return None
    with open(full, "rb") as f:
        data = f.read()
    if kind == "image/svg+xml":
        box = re.search(rb'viewBox="0 0 (\d+) (\d+)"', data)
        width, height = (int(box[1]), int(box[2])) if box else (1200, 600)
    else:
        from PIL import Image

        with Image.open(full) as image:
            width, height = image.size
    return data, kind, width, height


def downgrade():
    with op.batch_alter_table('appeals') as batch:
        batch.add_column(sa.Column('hero_image', sa.String(length=255), nullable=True))
    with op.batch_alter_table('cosigners') as batch:
        batch.drop_constraint(op.f('fk_cosigners_logo_id_images'), type_='foreignkey')
        batch.drop_column('logo_id')
    with op.batch_alter_table('appeals') as batch:
        batch.drop_constraint(op.f('fk_appeals_hero_image_id_images'), type_='foreignkey')
        batch.drop_column('hero_image_id')
    op.drop_table('images')
