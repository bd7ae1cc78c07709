"""E12 file upload: a streaming ``multipart/form-data`` reader that writes field ``file`` to disk.

The body is never held in memory: it is read in 64 KiB chunks, scanned for the part boundary and
written to a temporary file under the data directory while being hashed. Limits follow API-FACTS
§3.12: one ``file`` field, <= 100 MB, a fixed extension whitelist. The returned URL points at a
host that never resolves (``files.emulator.invalid``); create validation accepts it as a public
https URL and nothing ever fetches it.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

MAX_UPLOAD = 100 * 1024 * 1024
# Room for the multipart envelope around the file (boundaries, part headers, small fields).
_ENVELOPE_SLACK = 64 * 1024
_CHUNK = 64 * 1024
UPLOAD_URL_PREFIX = "https://files.emulator.invalid/openapi/upload/"

MIME_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
    ".webp": "image/webp", ".bmp": "image/bmp", ".svg": "image/svg+xml",
    ".mp4": "video/mp4", ".mov": "video/quicktime", ".avi": "video/x-msvideo",
    ".webm": "video/webm", ".mkv": "video/x-matroska", ".m4v": "video/x-m4v",
    ".flv": "video/x-flv",
    ".mp3": "audio/mpeg", ".wav": "audio/wav", ".aac": "audio/aac", ".m4a": "audio/mp4",
    ".flac": "audio/flac", ".ogg": "audio/ogg",
}  # fmt: skip

_BOUNDARY_RE = re.compile(r'boundary="?([^";]+)"?')
_NAME_RE = re.compile(r'\bname="([^"]*)"')
_FILENAME_RE = re.compile(r'\bfilename="([^"]*)"')


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class UploadError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Uploaded:
    sha256: str
    filename: str
    size: int
    mime_type: str

    @property
    def url(self) -> str:
        return f"{UPLOAD_URL_PREFIX}{self.sha256}/{self.filename}"

    def as_json(self) -> dict[str, str | int]:
        return {
            "url": self.url,
            "filename": self.filename,
            "size": self.size,
            "mime_type": self.mime_type,
        }


class _Reader:
    """Bounded chunked reads with a pushback buffer."""

    def __init__(self, stream: Readable, length: int) -> None:
        self._stream = stream
        self._left = length
        self.buffer = b""

    def fill(self) -> bool:
        if self._left <= 0:
            return False
        chunk = self._stream.read(min(_CHUNK, self._left))
        if not chunk:
            self._left = 0
            return False
        self._left -= len(chunk)
        self.buffer += chunk
        return True

    def until(self, marker: bytes, sink: Callable[[bytes], None], limit: int) -> None:
        """Pass bytes to ``sink`` up to ``marker`` (consumed); raise past ``limit`` bytes."""
        passed = 0
        while True:
            index = self.buffer.find(marker)
            if index >= 0:
                passed += index
                if passed > limit:
                    raise UploadError("file is larger than 100 MB")
                sink(self.buffer[:index])
                self.buffer = self.buffer[index + len(marker) :]
                return
            keep = len(marker) - 1
            flush = self.buffer[: max(0, len(self.buffer) - keep)]
            passed += len(flush)
            if passed > limit:
                raise UploadError("file is larger than 100 MB")
            sink(flush)
            self.buffer = self.buffer[len(flush) :]
            if not self.fill():
                raise UploadError("malformed multipart body")


def _safe_name(raw: str) -> str:
    base = raw.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")
    return cleaned[:200] or "file"


def receive_upload(
    stream: Readable, content_type: str, content_length: str | None, directory: Path
) -> Uploaded:
    if not content_type.lower().startswith("multipart/form-data"):
        raise UploadError("Content-Type must be multipart/form-data")
    match = _BOUNDARY_RE.search(content_type)
    if match is None:
        raise UploadError("multipart boundary missing")
    if content_length is None or not content_length.isdigit():
        raise UploadError("Content-Length is required")
    length = int(content_length)
    if length > MAX_UPLOAD + _ENVELOPE_SLACK:
        raise UploadError("file is larger than 100 MB")
    boundary = match.group(1).encode()
    reader = _Reader(stream, length)
    reader.until(b"--" + boundary, lambda _b: None, _ENVELOPE_SLACK)
    directory.mkdir(parents=True, exist_ok=True)
    while True:
        while len(reader.buffer) < 2 and reader.fill():
            pass
        if reader.buffer.startswith(b"--"):
            raise UploadError("multipart body has no field named 'file'")
        head = bytearray()
        reader.until(b"\r\n\r\n", head.extend, 16 * 1024)
        headers = bytes(head).decode("utf-8", "replace")
        name = _NAME_RE.search(headers)
        filename = _FILENAME_RE.search(headers)
        delimiter = b"\r\n--" + boundary
        if name is None or name.group(1) != "file" or filename is None:
            reader.until(delimiter, lambda _b: None, _ENVELOPE_SLACK)
            continue
        safe = _safe_name(filename.group(1))
        suffix = Path(safe).suffix.lower()
        if suffix not in MIME_TYPES:
            raise UploadError(f"file extension {suffix or '(none)'} is not allowed")
        part = directory / f"incoming-{uuid.uuid4().hex}.part"
        sha, size = _save(reader, delimiter, part)
        part.replace(directory / f"{sha}-{safe}")
        return Uploaded(sha, safe, size, MIME_TYPES[suffix])


def _save(reader: _Reader, delimiter: bytes, target: Path) -> tuple[str, int]:
    """Stream one part body into ``target``; return its sha256 and size."""
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:

        def sink(data: bytes) -> None:
            nonlocal size
            digest.update(data)
            size += len(data)
            out.write(data)

        try:
            reader.until(delimiter, sink, MAX_UPLOAD)
        except UploadError:
            out.close()
            target.unlink(missing_ok=True)
            raise
    return digest.hexdigest(), size
