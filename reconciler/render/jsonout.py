"""The plan as JSON: the stable, versioned machine interface (``--format json``).

The document is the plan itself (see ``reconciler.plan``): ``format_version``,
``lineage``, ``serial``, ``specs_digest``, ``pricing_digest``, ``changes[]`` (each with
``address``, ``action``, ``reason``, ``detail`` and the fields of a ``Change``),
``summary`` (a count per action) and ``cost``. Keys are sorted so the same plan always
gives the same bytes.
"""

from __future__ import annotations

from reconciler.plan import Plan


def render_json(plan: Plan) -> str:
    return plan.to_json()
