"""Result media: a small, real, per-task MP4 file and the signed URL that serves it.

The file is a structurally valid ISO-BMFF movie (ftyp, moov with mvhd and one video trak with
tkhd/mdia/minf/stbl, then mdat) whose sample bytes embed the task id, so every task's file is
different. Nobody is expected to decode the frame; clients download, size-check and hash it.
URLs carry an expiry and an HMAC like a private cloud bucket's presigned link.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

MEDIA_PREFIX = "/_emulator/media/"

FORBIDDEN_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Request has expired or the signature does not match</Message></Error>\n"
)


def _box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full_box(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *parts)


_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)


def build_mp4(task_id: str, duration_s: int, width: int = 320, height: int = 180) -> bytes:
    """A one-sample H.264-labelled MP4 whose payload is unique to ``task_id``."""
    timescale = 1000
    duration = max(1, duration_s) * timescale
    sample = hashlib.sha256(task_id.encode()).digest() * 8 + task_id.encode()
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2avc1mp41")
    mvhd = _full_box(
        b"mvhd", 0, 0,
        struct.pack(">IIII", 0, 0, timescale, duration),
        struct.pack(">IH", 0x00010000, 0x0100), b"\0" * 10, _MATRIX, b"\0" * 24,
        struct.pack(">I", 2),
    )  # fmt: skip
    tkhd = _full_box(
        b"tkhd", 0, 3,
        struct.pack(">IIIII", 0, 0, 1, 0, duration), b"\0" * 8,
        struct.pack(">HHHH", 0, 0, 0, 0), _MATRIX,
        struct.pack(">II", width << 16, height << 16),
    )  # fmt: skip
    mdhd = _full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, duration, 0x55C4, 0))
    hdlr = _full_box(b"hdlr", 0, 0, struct.pack(">I", 0), b"vide", b"\0" * 12, b"VideoHandler\0")
    vmhd = _full_box(b"vmhd", 0, 1, b"\0" * 8)
    dinf = _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 1)))
    avcc = _box(b"avcC", bytes([1, 0x42, 0xC0, 0x1E, 0xFF, 0xE0, 0x00]))
    avc1 = _box(
        b"avc1", b"\0" * 6, struct.pack(">H", 1), b"\0" * 16,
        struct.pack(">HH", width, height), struct.pack(">II", 0x00480000, 0x00480000),
        b"\0" * 4, struct.pack(">H", 1), b"\0" * 32, struct.pack(">Hh", 0x18, -1), avcc,
    )  # fmt: skip
    stsd = _full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1)
    stts = _full_box(b"stts", 0, 0, struct.pack(">III", 1, 1, duration))
    stsc = _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, 1, 1))
    stsz = _full_box(b"stsz", 0, 0, struct.pack(">III", 0, 1, len(sample)))

    def assemble(chunk_offset: int) -> bytes:
        stco = _full_box(b"stco", 0, 0, struct.pack(">II", 1, chunk_offset))
        stbl = _box(b"stbl", stsd, stts, stsc, stsz, stco)
        minf = _box(b"minf", vmhd, dinf, stbl)
        trak = _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, minf))
        return _box(b"moov", mvhd, trak)

    moov_len = len(assemble(0))
    moov = assemble(len(ftyp) + moov_len + 8)  # sample starts right after the mdat header
    return ftyp + moov + _box(b"mdat", sample)


class UrlSigner:
    """Presigned-style result links: ``?expires=<unix>&sig=<hmac>``."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def signature(self, task_id: str, expires: int) -> str:
        message = f"{task_id}:{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def url(self, base_url: str, task_id: str, expires: int) -> str:
        sig = self.signature(task_id, expires)
        return f"{base_url}{MEDIA_PREFIX}{task_id}.mp4?expires={expires}&sig={sig}"

    def check(self, task_id: str, expires: int, sig: str, now: float) -> bool:
        if now > expires:
            return False
        return hmac.compare_digest(self.signature(task_id, expires), sig)
