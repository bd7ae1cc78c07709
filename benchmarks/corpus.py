"""Synthetic projects: N videos in F spec files, prompts ~300 characters, some assets.

Deterministic (seeded), so before/after figures compare the same bytes.
"""

from __future__ import annotations

import random
from pathlib import Path

_TEXT = (
    "paper boat drifts down neon canal night slow dolly reflections shimmering water "
    "camera orbits golden hour drone flight coastal city gentle forward motion soft "
    "studio light seamless grey backdrop turntable sneaker rotating wind trees hero "
    "still comes alive close-up macro lens shallow depth of field cinematic grading"
)
WORDS = tuple(_TEXT.split())
RATIOS = ("16:9", "9:16", "1:1")


def _prompt(rng: random.Random, length: int = 300) -> str:
    words: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words).capitalize() + "."


# The reference corpus is "about 9 MB" for 10,000 videos; ours is ~4.9 MB. With
# ``reference=True`` each video also gets a longer description, more labels, an explicit
# duration and a comment line: ~8.2 MB, the same videos and fingerprints otherwise.
_LONG_DESCRIPTION = (
    ", for the autumn launch campaign across web, social and in-store screens; reviewed by"
    " the brand team, approved for the regional cut, keep the grading consistent"
)
_MORE_LABELS = ", owner: studio-team-a, locale: en-gb, brief: br-2026-0042, review: approved"


def write_project(
    root: Path, videos: int, files: int, *, seed: int = 9, reference: bool = False
) -> Path:
    """Write ``reconciler.yaml`` and ``specs/`` under ``root``; return the specs dir."""
    rng = random.Random(seed)
    specs = root / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    (root / "reconciler.yaml").write_text("output_dir: outputs\n")
    per_file = videos // files
    for index in range(files):
        lines = [
            f"# Generated benchmark file {index}.",
            "defaults:",
            "  model: seedance2.0-std",
            "  duration: 5",
            '  ratio: "16:9"',
            "",
            "assets:",
        ]
        for a in range(3):
            lines.append(f"  still-{index}-{a}:")
            lines.append(f"    url: https://cdn.example.com/bench/{index}/{a}.png")
        lines += ["", "videos:"]
        for v in range(per_file):
            name = f"clip-{index:03d}-{v:05d}"
            lines.append(f"  {name}:")
            if v % 5 == 0:  # some videos use an asset, on a route that takes images
                lines.append("    model: seedance2.0-fast-i2v")
                lines.append(f"    images: [still-{index}-{v % 3}]")
            lines.append("    prompt: >-")
            lines.append(f"      {_prompt(rng)}")
            lines.append(f'    ratio: "{rng.choice(RATIOS)}"')
            description = f"Benchmark clip {v} of file {index}, generated"
            labels = f"campaign: bench-{index % 7}, channel: web, batch: b{v % 11}"
            if reference:
                description += _LONG_DESCRIPTION
                labels += _MORE_LABELS + ", tier: gold"
                lines.append("    duration: 5")
                lines.append("    # reviewed: 2026-11-20, brand team; alt copy kept in the brief")
            lines.append(f"    description: {description}")
            lines.append(f"    labels: {{{labels}}}")
        (specs / f"file-{index:03d}.yaml").write_text("\n".join(lines) + "\n")
    return specs


def change_prompts(specs: Path, count: int, *, seed: int = 10) -> None:
    """Edit ``count`` prompts spread over the files (a plan then shows ``count`` updates)."""
    files = sorted(specs.glob("*.yaml"))
    per_file = max(1, count // len(files)) if count >= len(files) else 1
    changed = 0
    for path in files:
        if changed >= count:
            break
        lines = path.read_text().splitlines()
        done_here = 0
        for i, line in enumerate(lines):
            if line.strip() == "prompt: >-" and done_here < per_file and changed < count:
                lines[i + 1] = lines[i + 1] + f" Edited {seed}."
                done_here += 1
                changed += 1
        path.write_text("\n".join(lines) + "\n")
