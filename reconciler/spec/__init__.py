"""The spec language: reading specs and the project config into validated desired state.

Public API (DESIGN §3): ``load_config``, ``load_desired``, ``capabilities``,
``json_schema`` and ``format_file``.
"""

from reconciler.spec.capabilities import CapabilityTable, ModelCaps, builtin_table
from reconciler.spec.config import CONFIG_FILE, ProjectConfig, capabilities, load_config
from reconciler.spec.fmt import format_file
from reconciler.spec.loader import load_desired, spec_files
from reconciler.spec.schema import json_schema

__all__ = [
    "CONFIG_FILE",
    "CapabilityTable",
    "ModelCaps",
    "ProjectConfig",
    "builtin_table",
    "capabilities",
    "format_file",
    "json_schema",
    "load_config",
    "load_desired",
    "spec_files",
]
