"""Cross-field media rules of a route: counts, frame mode, audio pairing.

Pure: takes the model's capabilities and what the rules read of one instance's media and
params (``combination_inputs``), returns the problems as ``(field or None, message,
hint)``; the caller places them in the file. Thousands of instances share a few distinct
inputs, so the validator keeps each answer.
"""

from __future__ import annotations

from pydantic import JsonValue

from reconciler.spec.capabilities import ModelCaps

Problem = tuple[str | None, str, str | None]
# What ``check_combination`` reads of an instance besides the model: the number of
# images, reference videos and audios, which frames are set, an adaptive ratio.
CombinationInputs = tuple[str, int, int, int, bool, bool, bool]


def combination_inputs(
    caps: ModelCaps, media: dict[str, tuple[str, ...]], params: dict[str, JsonValue]
) -> CombinationInputs:
    return (
        caps.name,
        len(media.get("images", ())),
        len(media.get("reference_videos", ())),
        len(media.get("reference_audios", ())),
        "first_image" in media,
        "last_image" in media,
        params.get("ratio") == "adaptive",
    )


def check_combination(caps: ModelCaps, inputs: CombinationInputs) -> list[Problem]:
    """The problems of an instance of ``caps`` with these ``combination_inputs``."""
    problems: list[Problem] = []
    name, images, videos, audios, first, last, adaptive_ratio = inputs
    frames = int(first) + int(last)

    counted_images = images + (frames if caps.images_count_frames else 0)
    for field, count, limit, noun in (
        ("images", counted_images, caps.max_images, "images"),
        ("reference_videos", videos, caps.max_videos, "reference videos"),
        ("reference_audios", audios, caps.max_audios, "reference audios"),
    ):
        if limit is None or count <= limit:
            continue
        if limit == 0:
            problems.append(
                (
                    field,
                    f"model {name!r} does not support `{field}`",
                    "remove it, or pick another model",
                )
            )
        else:
            extra = (
                " (first/last frames count as images)"
                if field == "images" and frames and caps.images_count_frames
                else ""
            )
            problems.append(
                (
                    field,
                    f"model {name!r} accepts at most {limit} {noun}, got {count}{extra}",
                    f"use at most {limit}",
                )
            )

    if frames:
        if caps.frames == "none":
            field = "first_image" if first else "last_image"
            problems.append(
                (
                    field,
                    f"model {name!r} does not support first/last frames",
                    "use `images` instead",
                )
            )
        elif caps.frames == "both_required" and frames == 1:
            problems.append(
                (
                    None,
                    f"model {name!r} needs both `first_image` and `last_image` in frame mode",
                    "add the missing frame, or use `images`",
                )
            )
        elif caps.frames == "last_needs_first" and last and not first:
            problems.append(
                ("last_image", f"model {name!r} needs `first_image` when `last_image` is set", None)
            )
        if images:
            problems.append(
                (
                    "images",
                    "`images` (reference mode) cannot be combined with `first_image`/`last_image` "
                    "(frame mode)",
                    "use either images or frames",
                )
            )
        elif caps.frames_exclusive_refs and (videos or audios):
            field = "reference_videos" if videos else "reference_audios"
            problems.append(
                (
                    field,
                    f"model {name!r} does not combine frames with reference media",
                    "use either frames or references",
                )
            )
        if audios and not caps.audio_in_frame_mode:
            problems.append(
                (
                    "reference_audios",
                    f"model {name!r} does not accept `reference_audios` in frame mode",
                    "remove the frames or the audios",
                )
            )

    if audios and caps.audio_pairing != "alone_ok":
        pairing = caps.audio_pairing
        paired = (
            images > 0
            if pairing == "images"
            else images > 0 or videos > 0 or (pairing == "images_videos_or_frames" and frames > 0)
        )
        if not paired:
            need = {
                "images": "images",
                "images_or_videos": "images or reference videos",
                "images_videos_or_frames": "images, reference videos or frames",
            }[pairing]
            problems.append(
                (
                    "reference_audios",
                    f"model {name!r} does not accept reference audios alone; pair them with {need}",
                    f"add {need}",
                )
            )

    if caps.requires_reference_videos and not videos:
        problems.append((None, f"model {name!r} needs at least one reference video", None))

    if adaptive_ratio and caps.family == "fixed_res" and not (images or videos or audios or frames):
        problems.append(
            ("ratio", f"model {name!r} accepts ratio 'adaptive' only with reference media", None)
        )
    return problems
