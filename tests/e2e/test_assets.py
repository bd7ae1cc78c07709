"""The asset pipeline: upload local files once, audit what the Full route needs, reuse."""

from __future__ import annotations

import json

from tests.e2e.harness import Emulator, Project

SPECS = """\
assets:
  hero:
    file: ../media/hero.png
  poster:
    url: https://cdn.example.com/poster.png
  banned:
    url: https://cdn.example.com/reject-me.png
videos:
  full-hero:
    model: sd2_mx_720p
    prompt: The hero shot comes alive, slow push-in.
    duration: 5
    images: [hero]
  full-poster:
    model: sd2_mx_720p
    prompt: The poster's characters start to move.
    duration: 5
    first_image: poster
  mini-hero:
    model: seedance2.0-mini
    prompt: The hero shot, gentle parallax.
    duration: 5
    images: [hero]
  full-banned:
    model: sd2_mx_720p
    prompt: This one uses an asset the audit rejects.
    duration: 5
    images: [banned]
"""


def test_upload_audit_reuse_and_rejection(project: Project, emulator: Emulator) -> None:
    project.env["SEEDANCE_API_URL"] = emulator.url
    emulator.admin(reject_audit_pattern="reject-me", audit_seconds=0.3)
    project.write("specs/assets.yaml", SPECS)
    project.write("reconciler.yaml", "poll_interval: 0.2\n")
    (project.root / "media").mkdir()
    (project.root / "media" / "hero.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 4096)

    plan = json.loads(project.run("plan", "--format", "json").stdout)
    assert {a["address"]: a["action"] for a in plan["assets"]} == {
        "asset.banned": "audit",
        "asset.hero": "upload_and_audit",
        "asset.poster": "audit",
    }

    applied = project.run("apply", "--auto-approve", "--wait")
    assert applied.code == 1, applied.stdout + applied.stderr
    assert "3 created, 3 completed, 3 downloaded" in applied.stdout
    assert "full-banned" in applied.stdout
    assert "rejected by the vendor's audit" in applied.stdout

    stats = emulator.stats()
    assert stats["uploads"] == 1, "the local file is uploaded once for both of its videos"
    assert stats["total_creates"] == 3

    after = json.loads(project.run("plan", "--format", "json").stdout)
    assert [(c["address"], c["action"]) for c in after["changes"]] == [
        ("video.full-banned", "retry")
    ]
    assert [(a["address"], a["action"]) for a in after["assets"]] == [("asset.banned", "audit")]
