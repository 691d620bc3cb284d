"""consent references: a performer's reference images and recordings, kept with their consent

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'consent_references',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('consent_id', sa.String(length=32), sa.ForeignKey('consents.id'), nullable=False),
        sa.Column('media_type', sa.String(length=100), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('embedding', sa.JSON(), nullable=True),
        sa.Column('embedding_model', sa.String(length=300), nullable=True),
        sa.Column('added_by', sa.String(length=200), nullable=False),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_consent_references_consent_id', 'consent_references', ['consent_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_consent_references_consent_id', table_name='consent_references')
    op.drop_table('consent_references')
