"""reconciler.store."""
