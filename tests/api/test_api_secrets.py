"""The API key never shows: not in repr/str/format, exceptions, or log records."""

from __future__ import annotations

import logging
import pickle

import httpx
import pytest

from reconciler.api import ApiKey, redact
from reconciler.errors import ApiError, ConfigError
from tests.api.apifakes import SECRET, Recorder, envelope, make_client, run


def test_key_repr_str_format_are_masked() -> None:
    key = ApiKey(SECRET)
    logged = logging.LogRecord("x", logging.INFO, __file__, 1, "key=%s %r", (key, key), None)
    texts = (repr(key), str(key), f"{key}", f"{key!r}", format(key, ">20"), logged.getMessage())
    for text in texts:
        assert SECRET not in text
        assert "sk-***" in text
    assert key.reveal() == SECRET


def test_key_cannot_be_pickled() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(ApiKey(SECRET))


def test_from_env() -> None:
    assert ApiKey.from_env({}) is None
    assert ApiKey.from_env({"SEEDANCE_API_KEY": "  "}) is None
    key = ApiKey.from_env({"SEEDANCE_API_KEY": f" {SECRET}\n"})
    assert key is not None and key.reveal() == SECRET
    with pytest.raises(ConfigError):
        ApiKey("sk a b")


def test_redact() -> None:
    text = f"bad key {SECRET}; header was Authorization: Bearer {SECRET} and bearer other-tok"
    out = redact(text, ApiKey(SECRET))
    assert SECRET not in out and "other-tok" not in out
    assert redact("nothing here", None) == "nothing here"


def test_client_repr_has_no_key() -> None:
    rec = Recorder(envelope({}))
    client = make_client(rec)
    assert SECRET not in repr(client)
    run(client.aclose())


@pytest.mark.parametrize(
    "answer",
    [
        envelope(None, code=20001, msg=f"key {SECRET} is not valid"),
        envelope(None, code=20002, msg=f"echo Bearer {SECRET}"),
        envelope(None, code=-1, msg=f"busy for {SECRET}"),
        httpx.Response(401, text=f"Unauthorized: Bearer {SECRET}"),
        httpx.Response(500, text=f"trace: Authorization: Bearer {SECRET}"),
        httpx.Response(429, json={"code": 429, "msg": f"{SECRET} too fast"}),
        httpx.ReadError(f"reset while sending {SECRET}"),
        httpx.ConnectError(f"refused {SECRET}"),
    ],
)
def test_key_never_in_errors_or_logs(
    answer: httpx.Response | Exception, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rec = Recorder(answer)

    async def go() -> ApiError:
        async with make_client(rec) as api:
            try:
                await api.create_video({"model": "m", "prompt": "p", "duration": 5})
            except ApiError as error:
                return error
        raise AssertionError("expected an error")

    error = run(go())
    assert rec.last.headers["Authorization"] == f"Bearer {SECRET}"
    for text in (error.message, str(error), repr(error), error.hint or "", repr(error.args)):
        assert SECRET not in text
    # Tracebacks must not show the httpx exception either (its text may hold the key).
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    assert caplog.records, "the client logs each request at debug level"
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert "Authorization" not in record.getMessage()


def test_debug_log_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="reconciler.api")
    rec = Recorder(envelope({"task_id": "t", "status": "queued"}))

    async def go() -> None:
        async with make_client(rec) as api:
            await api.get_task("t")

    run(go())
    lines = [r.getMessage() for r in caplog.records if r.name == "reconciler.api"]
    assert any("GET /api/open-api/v1/videos/t -> 200" in line for line in lines)
