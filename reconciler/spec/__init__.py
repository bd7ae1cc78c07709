"""reconciler.spec."""
