"""Renderers: pure functions from a ``Plan`` to text for a terminal, JSON or markdown."""

from reconciler.render.jsonout import render_json
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text

__all__ = ["render_json", "render_markdown", "render_text"]
