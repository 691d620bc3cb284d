"""findings record the consent they rely on, so an expired or revoked consent flags them again

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_id', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_findings_consent_id', ['consent_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index('ix_findings_consent_id')
        batch_op.drop_column('consent_id')
