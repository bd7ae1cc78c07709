"""The snapshot's records hold what was written: specs decoded on access, UTC timestamps.

The snapshot reads JSON and timestamps as text and builds records itself (no SQLAlchemy
types, no driver conversions), so these check it value by value on both backends, across
several chunks of a PostgreSQL stream, and against session settings that change how the
server formats times.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import cast

import psycopg
import pytest
import sqlalchemy as sa
from pydantic import JsonValue
from sqlalchemy.engine import make_url

from reconciler.model import Desired, DesiredVideo
from reconciler.stateview import VideoRecord, VideoStatus
from reconciler.store import StateStore
from reconciler.store.schema import videos
from tests.builders import video

WHEN = datetime(2026, 11, 24, 12, 30, 15, 123456, tzinfo=UTC)
ROWS = 4321  # more than two chunks of a PostgreSQL stream


def _spec(index: int) -> dict[str, JsonValue]:
    return {
        "model": "seedance2.0-std",
        "prompt": f'clip {index}: a "quoted" café, 雨, \\ and a tab\t',
        "duration": index % 11,
        "ratio": 0.5625 if index % 2 else "16:9",
        "seed": None if index % 3 else -index,
        "media": [{"type": "image", "url": f"https://x.example/{index}.png", "n": [1, 2.5]}],
        "flags": {"watermark": index % 2 == 0},
    }


def _row(index: int) -> dict[str, object]:
    return {
        # Upper and lower case, so the order is code point order ("Z" < "a").
        "address": f"video.{'Za'[index % 2]}{index:05d}",
        "fingerprint": f"{index:064x}",
        "spec": _spec(index),
        "description": None if index % 5 else f"description {index}",
        "labels": {"team": f"t{index % 3}", "ünïcode": "✓"} if index % 4 else {},
        "status": list(VideoStatus)[index % len(VideoStatus)].value,
        "task_id": None if index % 7 == 0 else f"task-{index}",
        "progress": index % 101,
        "attempts": index % 4,
        "error_message": "it failed" if index % 9 == 0 else None,
        "result_url": f"https://cdn.example/{index}.mp4" if index % 2 else None,
        "result_expires_at": WHEN + timedelta(seconds=index) if index % 2 else None,
        "file_path": f"out/{index}.mp4" if index % 3 == 0 else None,
        "file_sha256": f"{index:064x}" if index % 3 == 0 else None,
        "created_at": WHEN,
        "updated_at": WHEN - timedelta(microseconds=index),
    }


def _seed(store: StateStore, rows: list[dict[str, object]]) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.insert(videos), rows)


def _check(record: VideoRecord, row: dict[str, object]) -> None:
    assert record.spec == row["spec"]
    assert json.loads(record.spec_json) == row["spec"]
    assert record.labels == row["labels"]
    assert record.status is VideoStatus(str(row["status"]))
    assert record.updated_at == row["updated_at"] and record.updated_at.tzinfo is UTC
    expires = record.result_expires_at
    assert expires == row["result_expires_at"]
    assert expires is None or expires.tzinfo is UTC
    fields = ("address", "fingerprint", "description", "task_id", "progress", "attempts")
    fields += ("error_message", "result_url", "file_path", "file_sha256")
    assert {f: getattr(record, f) for f in fields} == {f: row[f] for f in fields}


def _check_all(videos: tuple[VideoRecord, ...], rows: list[dict[str, object]]) -> None:
    assert [v.address for v in videos] == sorted(str(row["address"]) for row in rows)
    written = {row["address"]: row for row in rows}
    for record in videos:
        _check(record, written[record.address])


def test_snapshot_records_are_what_was_written(store: StateStore) -> None:
    rows = [_row(index) for index in range(ROWS)]
    _seed(store, rows)
    videos = store.snapshot().videos
    _check_all(videos, rows)
    some = rows[15]  # a description, labels, a result, a file
    shown = store.video(str(some["address"]))
    assert shown is not None
    _check(shown, some)
    assert shown == next(v for v in videos if v.address == some["address"])
    assert store.video("video.nothing") is None


def test_spec_is_decoded_on_each_access(store: StateStore) -> None:
    _seed(store, [_row(1)])
    (record,) = store.snapshot().videos
    first = record.spec
    first["prompt"] = "changed by a reader"
    assert record.spec == _spec(1)  # a fresh dict each time: records stay as read


def test_to_json_is_the_state_show_format(store: StateStore) -> None:
    row = _row(15)
    _seed(store, [row])
    shown = store.video(str(row["address"]))
    assert shown is not None
    data = shown.to_json()
    assert list(data) == [
        "address",
        "fingerprint",
        "spec",
        "description",
        "labels",
        "status",
        "task_id",
        "progress",
        "attempts",
        "error_message",
        "result_url",
        "result_expires_at",
        "file_path",
        "file_sha256",
        "updated_at",
    ]
    assert data["spec"] == row["spec"] and data["status"] == row["status"]
    assert data["updated_at"] == "2026-11-24T12:30:15.123441Z"
    assert data["result_expires_at"] == "2026-11-24T12:30:30.123456Z"
    json.dumps(data)  # JSON data only


def test_sqlite_timestamps_written_with_an_offset(tmp_path: Path) -> None:
    """Rows not written by SQLAlchemy may carry an offset: converted to UTC, not refused."""
    url = f"sqlite:///{tmp_path}/state.db"
    with StateStore.open(url) as store:
        _seed(store, [_row(0), _row(1)])
        with store.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE videos SET updated_at = '2026-01-01 02:00:00+02:00', "
                    "result_expires_at = '2026-01-01T00:00:00Z' WHERE address = 'video.a00001'"
                )
            )
        plain, odd = store.snapshot().videos
        assert plain.updated_at == _row(0)["updated_at"]
        assert odd.updated_at == datetime(2026, 1, 1, tzinfo=UTC) and odd.updated_at.tzinfo is UTC
        assert odd.result_expires_at == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.postgres
def test_postgres_session_settings_do_not_change_times(pg_url: str) -> None:
    """The server formats times by its TimeZone and DateStyle: the snapshot must not care."""
    url = make_url(pg_url)
    options = f"{url.query['options']} -cTimeZone=Asia/Kolkata -cDateStyle=SQL,DMY"
    odd = url.update_query_dict({"options": options}).render_as_string(hide_password=False)
    rows = [_row(index) for index in range(50)]
    with StateStore.open(odd) as store:
        with store.engine.connect() as conn:
            shown = conn.exec_driver_sql("SELECT now()::text").scalar_one()
            assert shown.endswith(" IST") and "/" in shown  # e.g. 25/11/2026 05:41:49 IST
        _seed(store, rows)
        _check_all(store.snapshot().videos, rows)


@pytest.mark.postgres
def test_postgres_without_chunked_streams(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A libpq older than 17 cannot stream by chunks: the snapshot fetches the result."""
    monkeypatch.setattr(psycopg.capabilities, "has_stream_chunked", lambda check=False: False)
    rows = [_row(index) for index in range(50)]
    with StateStore.open(pg_url) as store:
        _seed(store, rows)
        videos = store.snapshot().videos
    _check_all(videos, rows)


@pytest.mark.postgres
def test_postgres_error_mid_stream_does_not_hang(pg_url: str) -> None:
    """A row that cannot become a record fails the snapshot. The stream must be closed
    then: left open it holds the connection, and the rollback would wait forever."""
    rows = [_row(index) for index in range(ROWS)]
    rows[ROWS // 2]["status"] = "bogus"  # the schema does not check statuses
    with StateStore.open(pg_url) as store:
        _seed(store, rows)
        outcome: list[BaseException | None] = []

        def snapshot() -> None:
            try:
                store.snapshot()
                outcome.append(None)
            except Exception as exc:
                outcome.append(exc)

        thread = threading.Thread(target=snapshot, daemon=True)
        thread.start()
        thread.join(60)
        if thread.is_alive():
            with psycopg.connect(make_url(pg_url).set(query={}).render_as_string(False)) as admin:
                admin.execute(  # lets the fixture drop the schema
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND query LIKE '%FROM videos%'"
                )
            pytest.fail("the snapshot hung after an error in the middle of the stream")
        assert isinstance(outcome[0], KeyError)
        with store.engine.begin() as conn:
            conn.execute(sa.update(videos).values(status="completed"))
        assert len(store.snapshot().videos) == ROWS


def _wanted(row: dict[str, object], index: int) -> DesiredVideo:
    """A desired video at the row's address: every third with another fingerprint, every
    fourth with another description. Its strings are not the objects a read returns."""
    return replace(
        video(f"wanted{index}"),
        address=str(row["address"]),
        fingerprint="changed" if index % 3 == 0 else str(row["fingerprint"]),
        description="changed" if index % 4 == 0 else cast("str | None", row["description"]),
    )


def test_plan_snapshot_keeps_what_the_planner_reads(store: StateStore) -> None:
    """Read for planning, a record holds its stored spec only where its fingerprint
    differs from the desired video's at its address, its result URL and expiry only
    where it completed and its file is not there (those come back as not downloaded),
    no ``updated_at``, ``file_sha256`` nor ``file_path``, and the desired's own strings
    where they are equal."""
    rows = [_row(index) for index in range(ROWS)]
    _seed(store, rows)
    # Every other row is still in the specs; two desired videos are not in the state.
    wanted = [_wanted(row, index) for index, row in enumerate(rows) if index % 2 == 0]
    extra = [video("new1"), video("new2")]
    desired = Desired(
        videos=tuple(sorted(wanted + extra, key=attrgetter("address"))), specs_digest="d"
    )
    full = store.snapshot()
    on_disk = {f"out/{index}.mp4" for index in range(0, ROWS, 2)}
    asked: list[str] = []

    def missing_files(paths: Iterable[str]) -> set[str]:
        asked.extend(paths)
        return set(asked) - on_disk

    planned, missing = store.plan_snapshot(desired, missing_files)
    # Once, with the recorded files of the completed videos only.
    assert sorted(asked) == sorted(
        str(r.file_path) for r in full.videos if r.status == "completed" and r.file_path
    )
    assert (planned.lineage, planned.serial, planned.assets) == (
        full.lineage,
        full.serial,
        full.assets,
    )
    by_address = {v.address: v for v in wanted}
    assert len(planned.videos) == len(full.videos) == ROWS
    diffed = 0
    for record, whole in zip(planned.videos, full.videos, strict=True):
        want = by_address.get(record.address)
        changed = want is not None and want.fingerprint != whole.fingerprint
        diffed += changed
        gone = whole.status is VideoStatus.COMPLETED and whole.file_path not in on_disk
        assert (whole.address in missing) is gone
        assert record == whole._replace(
            spec_json=whole.spec_json if changed else None,
            updated_at=None,
            file_sha256=None,
            file_path=None,
            result_url=whole.result_url if gone else None,
            result_expires_at=whole.result_expires_at if gone else None,
        )
        if want is not None:
            assert record.address is want.address
            assert (record.fingerprint is want.fingerprint) is not changed
            assert (record.description is want.description) is (
                whole.description == want.description
            )
    assert diffed == len([v for v in wanted if v.fingerprint == "changed"]) > 0
    # Each kind of completed record is there: file on disk, file gone, none recorded.
    kinds = {
        (r.file_path in on_disk, r.file_path is None)
        for r in full.videos
        if r.status == "completed"
    }
    assert kinds == {(True, False), (False, False), (False, True)}


def test_a_record_read_without_its_spec_says_so(store: StateStore) -> None:
    row = _row(2)
    _seed(store, [row])
    desired = Desired(videos=(_wanted(row, 2),), specs_digest="d")
    (record,) = store.plan_snapshot(desired, lambda _paths: set())[0].videos
    assert record.spec_json is None
    with pytest.raises(ValueError, match=r"video\.Z00002 was read without its spec"):
        record.spec  # noqa: B018
