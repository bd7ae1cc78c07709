"""reconciler: video generation as code for the Seedance video API."""

__version__ = "0.1.0.dev0"
