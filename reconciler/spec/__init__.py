"""The spec language: reading specs and the project config into validated desired state.

Public API (DESIGN §3): ``load_config``, ``load_desired``, ``capabilities``,
``json_schema`` and ``format_file``.

Format rules worth knowing (details in the modules named):

* Effective fields of a video, weakest first: its file's ``defaults``, the effective
  fields of the video it ``extends`` (with that video's own defaults), its own fields
  (``expand``). A route-specific field (``generate_audio``, ``resolution`` on a
  fixed-resolution model, ...) written in ``defaults`` applies only to videos whose
  model supports it; written on a video, it is an error there.
* ``matrix`` values are short address-safe words; ``takes`` is 1-100. Addresses follow
  ``reconciler.model.video_address``: ``video.spin[ratio=9:16]#2``.
* Media references: an asset name (stored as ``asset.<name>``), a literal https URL, or
  ``asset://ID`` (``assetId://ID`` on GZ) where the route accepts ids (``validate``).
* The route's defaults (duration, ratio, resolution, route-specific flags) are written
  into ``params``, so writing a default explicitly does not change the fingerprint
  (``fingerprint``, which also documents the billing units).
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
