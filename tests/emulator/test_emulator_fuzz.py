"""Arbitrary create bodies never break the emulator: always HTTP 200 with 20000 or 20002."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CREATE = "/api/open-api/v1/seedance/videos"
MODELS = [
    "sd2_mx_720p",
    "seedance2.0-mini",
    "seedance2.0-md",
    "seedance2.0-gz-720p",
    "seedance2.0-933",
    "seedance-2.0-720p",
    "seedance2.0-std",
    "nope",
    "",
]
KEYS = [
    "model",
    "prompt",
    "duration",
    "ratio",
    "aspect_ratio",
    "resolution",
    "images",
    "reference_images",
    "first_image",
    "last_image",
    "reference_videos",
    "videos",
    "reference_audios",
    "audios",
    "orientation",
    "reference_mode",
    "generate_audio",
]
LINKS = st.sampled_from(["https://e.com/a.png", "http://e.com/a.png", "asset://x", "", "x.gif"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 40),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=12),
    LINKS,
    st.sampled_from(MODELS),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(st.one_of(LINKS, SCALARS), max_size=12),
    st.dictionaries(st.text(max_size=3), SCALARS, max_size=2),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=8), model=st.sampled_from(MODELS)
)
def test_any_body_gets_an_envelope(
    shared_client: httpx.Client, body: dict[str, object], model: str
) -> None:
    body.setdefault("model", model)
    reply = shared_client.post(CREATE, json=body)
    assert reply.status_code == 200
    assert reply.json()["code"] in ("20000", 20002)
