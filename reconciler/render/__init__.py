"""reconciler.render."""
