"""reconciler.api."""
