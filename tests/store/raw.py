"""Editing a state behind the store's back, as a hand edit or an older process would."""

from __future__ import annotations

import sqlalchemy as sa

from reconciler.store import StateStore
from reconciler.store.engine import create_state_engine


def edit_new_state(state_url: str, statement: str) -> None:
    """Create the state at head, then run one raw SQL ``statement`` on it."""
    StateStore.open(state_url).close()
    engine = create_state_engine(state_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()
