"""voice casting: each production's character -> voice table, beside the consents it relies on

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'castings',
        sa.Column('production_id', sa.String(length=128), nullable=False),
        sa.Column('document', sa.JSON(), nullable=False),
        sa.Column('updated_by', sa.String(length=200), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('production_id'),
    )


def downgrade() -> None:
    op.drop_table('castings')
