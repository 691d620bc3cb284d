"""series casting: a series' character -> voice table, and which series each production's casting belongs to

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'series_castings',
        sa.Column('series_id', sa.String(length=128), nullable=False),
        sa.Column('document', sa.JSON(), nullable=False),
        sa.Column('updated_by', sa.String(length=200), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('series_id'),
    )
    with op.batch_alter_table('castings') as batch:
        batch.add_column(sa.Column('series_id', sa.String(length=128), nullable=True))
        batch.create_index('ix_castings_series_id', ['series_id'])


def downgrade() -> None:
    with op.batch_alter_table('castings') as batch:
        batch.drop_index('ix_castings_series_id')
        batch.drop_column('series_id')
    op.drop_table('series_castings')
