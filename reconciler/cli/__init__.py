"""The command line: a thin click shell over ``reconciler.app``."""

from reconciler.cli.main import main

__all__ = ["main"]
