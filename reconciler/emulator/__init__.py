"""reconciler.emulator."""
