"""review at scale: first claim times and handling time, marked regions, second reviews

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_claimed_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('regions', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('handling_seconds', sa.Float(), nullable=True))
        batch_op.create_index('ix_decisions_decided_at', ['decided_at'], unique=False)
    op.create_table(
        'second_reviews',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('item_id', sa.String(length=32), sa.ForeignKey('review_items.id'), nullable=False),
        sa.Column('decision_id', sa.String(length=32), sa.ForeignKey('decisions.id'), nullable=False),
        sa.Column('production_id', sa.String(length=128), nullable=False),
        sa.Column('first_reviewer', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('claimed_by', sa.String(length=200), nullable=True),
        sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reviewer', sa.String(length=200), nullable=True),
        sa.Column('outcome', sa.String(length=32), nullable=True),
        sa.Column('agrees', sa.Boolean(), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('decision_id', name='uq_second_reviews_decision'),
    )
    op.create_index('ix_second_reviews_open', 'second_reviews', ['status', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_second_reviews_open', table_name='second_reviews')
    op.drop_table('second_reviews')
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_decisions_decided_at')
        batch_op.drop_column('handling_seconds')
        batch_op.drop_column('regions')
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.drop_column('first_claimed_at')
