"""Which recorded downloads are still on disk (the planner plans a download for the rest)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.app.facade import Reconciler
from reconciler.app.settings import Flags, resolve
from reconciler.stateview import Snapshot, VideoStatus
from tests.builders import record, video


def _downloaded(root: Path, files: dict[str, str | None]) -> frozenset[str]:
    """The completed videos that are not "not downloaded": whose file is there.

    Checked both ways, which must agree: on a snapshot's records (apply, refresh), and
    on the recorded files alone (``plan``, while ``plan_snapshot`` reads the state).
    """
    app = Reconciler(resolve(Flags(project_dir=str(root))))
    records = tuple(record(video(name), file_path=path) for name, path in sorted(files.items()))
    missing = app._not_downloaded(Snapshot(lineage="L", serial=1, videos=records))
    gone = app._missing_files(path for path in files.values() if path)
    assert missing == {r.address for r in records if r.file_path is None or r.file_path in gone}
    return frozenset(r.address for r in records) - missing


def test_a_recorded_file_counts_only_while_it_is_a_file(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    (outputs / "kept.mp4").write_bytes(b"video")
    (outputs / "dir.mp4").mkdir()
    (tmp_path / "elsewhere.mp4").write_bytes(b"video")
    (outputs / "link.mp4").symlink_to(tmp_path / "elsewhere.mp4")
    (outputs / "dangling.mp4").symlink_to(tmp_path / "gone.mp4")
    (outputs / "loop.mp4").symlink_to(outputs / "loop.mp4")
    found = _downloaded(
        tmp_path,
        {
            "kept": "outputs/kept.mp4",
            "deleted": "outputs/deleted.mp4",
            "dir": "outputs/dir.mp4",
            "link": "outputs/link.mp4",
            "dangling": "outputs/dangling.mp4",
            "loop": "outputs/loop.mp4",
            "top": "elsewhere.mp4",
            "nodir": "missing/kept.mp4",
            "never": None,
            "absolute": str(outputs / "kept.mp4"),
        },
    )
    assert found == {"video.kept", "video.link", "video.top", "video.absolute"}


def test_a_directory_that_cannot_be_listed_is_looked_into_file_by_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    (outputs / "a.mp4").write_bytes(b"video")
    listing = os.scandir

    def no_listing(path: str | os.PathLike[str]) -> object:
        # As a directory with mode 0o300 behaves (no listing, its files reachable); done
        # this way because root, which CI runs as, reads any directory whatever its mode.
        if Path(path) == outputs:
            raise PermissionError(13, "Permission denied", str(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", no_listing)
    assert _downloaded(tmp_path, {"a": "outputs/a.mp4", "b": "outputs/b.mp4"}) == {"video.a"}


def test_only_a_completed_video_can_lack_its_file(tmp_path: Path) -> None:
    app = Reconciler(resolve(Flags(project_dir=str(tmp_path))))
    records = tuple(record(video(status.value), status, file_path=None) for status in VideoStatus)
    missing = app._not_downloaded(Snapshot(lineage="L", serial=1, videos=records))
    assert missing == {"video.completed"}
