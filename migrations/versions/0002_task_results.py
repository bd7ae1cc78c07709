"""Keep each task's result URL and expiry, so a replaced video's paid result stays reachable.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("result_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("result_expires_at", sa.DateTime(timezone=True), nullable=True))
    # Backfill from the videos whose current task it is: that is all 0001 knew.
    videos = sa.table(
        "videos",
        sa.column("task_id", sa.String),
        sa.column("result_url", sa.Text),
        sa.column("result_expires_at", sa.DateTime(timezone=True)),
    )
    tasks = sa.table(
        "tasks",
        sa.column("task_id", sa.String),
        sa.column("result_url", sa.Text),
        sa.column("result_expires_at", sa.DateTime(timezone=True)),
    )
    current = videos.c.task_id == tasks.c.task_id
    op.execute(
        tasks.update()
        .where(sa.exists().where(current))
        .values(
            result_url=sa.select(videos.c.result_url).where(current).scalar_subquery(),
            result_expires_at=sa.select(videos.c.result_expires_at)
            .where(current)
            .scalar_subquery(),
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("result_expires_at")
        batch.drop_column("result_url")
