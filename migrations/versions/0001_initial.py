"""Initial state schema: meta, videos, tasks, assets, runs, operations, lock.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lineage", sa.String(32), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_meta"),
    )
    op.create_table(
        "videos",
        sa.Column("address", sa.String(512), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("task_id", sa.String(128), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("result_url", sa.Text(), nullable=True),
        _ts("result_expires_at", nullable=True),
        sa.Column("file_path", sa.Text(), nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("address", name="pk_videos"),
    )
    op.create_table(
        "tasks",
        sa.Column("task_id", sa.String(128), nullable=False),
        sa.Column("address", sa.String(512), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("operation_id", sa.Integer(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("task_id", name="pk_tasks"),
    )
    op.create_index("ix_tasks_address", "tasks", ["address"])
    op.create_table(
        "assets",
        sa.Column("content_hash", sa.String(128), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("uploaded_url", sa.Text(), nullable=True),
        _ts("upload_expires_at", nullable=True),
        sa.Column("audit_asset_id", sa.String(128), nullable=True),
        sa.Column("audit_status", sa.String(32), nullable=True),
        sa.Column("audit_reason", sa.Text(), nullable=True),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("content_hash", name="pk_assets"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("user", sa.String(128), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("git_commit", sa.String(64), nullable=True),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_table(
        "operations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("address", sa.String(512), nullable=True),
        sa.Column("fingerprint", sa.String(128), nullable=True),
        sa.Column("request", sa.JSON(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("task_id", sa.String(128), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("finished_at", nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_operations_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_operations"),
    )
    op.create_index("ix_operations_run_id", "operations", ["run_id"])
    op.create_index("ix_operations_address", "operations", ["address"])
    op.create_index("ix_operations_state", "operations", ["state"])
    op.create_table(
        "lock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lock_id", sa.String(32), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        _ts("acquired_at"),
        _ts("heartbeat_at"),
        sa.PrimaryKeyConstraint("id", name="pk_lock"),
    )


def downgrade() -> None:
    op.drop_table("lock")
    op.drop_index("ix_operations_state", table_name="operations")
    op.drop_index("ix_operations_address", table_name="operations")
    op.drop_index("ix_operations_run_id", table_name="operations")
    op.drop_table("operations")
    op.drop_table("runs")
    op.drop_table("assets")
    op.drop_index("ix_tasks_address", table_name="tasks")
    op.drop_table("tasks")
    op.drop_table("videos")
    op.drop_table("meta")
