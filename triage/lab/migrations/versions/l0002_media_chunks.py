"""lab media chunks: a device's per-file media work spread over the workers (triage/lab/jobs.py, triage/lab/media.py)

Revision ID: l0002
Revises: l0001
Create Date: 2026-12-05 23:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "l0002"
down_revision = "l0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_chunk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("chunk_no", sa.Integer(), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("staged", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("worker", sa.Text(), nullable=True),
        sa.Column("taken_utc", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "attempt", "chunk_no"),
    )
    op.create_table(
        "media_result",
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("chunk_no", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("prepared", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "attempt", "chunk_no", "position"),
    )


def downgrade() -> None:
    op.drop_table("media_result")
    op.drop_table("media_chunk")
