"""Alembic environment of the reconciler state database.

``reconciler.store.migrate`` runs it programmatically and hands over an open connection
in ``config.attributes["connection"]``. Run by hand (``alembic -c ...``), it opens the
URL named by ``sqlalchemy.url`` or by ``RECONCILER_STATE_URL``.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

from reconciler.store.schema import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("RECONCILER_STATE_URL")
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get(
        "RECONCILER_STATE_URL", "sqlite:///.reconciler/state.db"
    )
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
