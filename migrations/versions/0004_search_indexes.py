"""indexes for name searches and deep pages of the resident list (issue 6)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 08:20:00

A search "name starts with" compares lower(name) as a range (app/core/search.py). The index
is on that expression; PostgreSQL's in code-point order (COLLATE "C"), the order SQLite uses.
ix_resident_name becomes (name, id), the list's order (ORDER BY name, id), so that PostgreSQL
skips the rows before a deep page within the index (SQLite's indexes end with the rowid anyway).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_index('ix_resident_name')
        batch_op.create_index('ix_resident_name', ['name', 'id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute('CREATE INDEX ix_resident_name_lower ON resident ((lower(name) COLLATE "C"))')
    else:
        op.execute("CREATE INDEX ix_resident_name_lower ON resident (lower(name))")


def downgrade():
    op.drop_index("ix_resident_name_lower", table_name="resident")
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_index('ix_resident_name')
        batch_op.create_index('ix_resident_name', ['name'], unique=False)
