"""Reading a video's container, duration and size from its first bytes, in plain Python.

Only the headers are read (no frame is decoded): ISO base media files (MP4, MOV, M4V: the
``moov`` box's ``mvhd`` for the duration, a ``tkhd`` for the picture size) and Matroska/WebM
(the EBML header's doc type, the segment's ``Info`` for the duration). That is what the
networks take; anything else is "not a video Porte-voix can read". See
``docs/adr/0402-video-probe.md`` for why not ffprobe or libmediainfo.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class VideoInfo:
    mime_type: str
    duration: float | None
    width: int | None = None
    height: int | None = None


class NotAVideo(ValueError):
    pass


# --- ISO base media (MP4, MOV) -------------------------------------------------------------

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"udta"}


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes between ``start`` and ``end``."""
    found = []
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        header = 8
        if size == 1:
            if offset + 16 > end:
                break
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            # A box that claims more than there is: keep what is complete.
            if kind in _CONTAINERS or kind == b"mdat":
                found.append((kind, offset + header, end))
            break
        found.append((kind, offset + header, offset + size))
        offset += size
    return found


def _iso(data: bytes) -> VideoInfo:
    top = _boxes(data, 0, len(data))
    if not top or top[0][0] != b"ftyp":
        raise NotAVideo("no ftyp box")
    _, start, _end = top[0]
    brand = data[start : start + 4]
    mime = "video/quicktime" if brand == b"qt  " else "video/mp4"
    moov = next((b for b in top if b[0] == b"moov"), None)
    if moov is None:
        raise NotAVideo("no moov box in the part read")
    duration: float | None = None
    width = height = None
    for kind, s, e in _boxes(data, moov[1], moov[2]):
        if kind == b"mvhd":
            version = data[s]
            if version == 1:
                timescale, length = struct.unpack(">IQ", data[s + 20 : s + 32])
            else:
                timescale, length = struct.unpack(">II", data[s + 12 : s + 20])
            if timescale:
                duration = length / timescale
        elif kind == b"trak" and width is None:
            for inner, ts, te in _boxes(data, s, e):
                if inner == b"tkhd" and te - ts >= 84:
                    # width and height are the box's last eight bytes, 16.16 fixed point.
                    w, h = struct.unpack(">II", data[te - 8 : te])
                    if w >> 16 and h >> 16:
                        width, height = w >> 16, h >> 16
    return VideoInfo(mime, duration, width, height)


# --- Matroska, WebM ------------------------------------------------------------------------


def _vint(data: bytes, offset: int, *, keep_marker: bool) -> tuple[int, int]:
    first = data[offset]
    length = 1
    mask = 0x80
    while length <= 8 and not first & mask:
        mask >>= 1
        length += 1
    if length > 8:
        raise NotAVideo("bad EBML number")
    value = first if keep_marker else first & (mask - 1)
    for byte in data[offset + 1 : offset + length]:
        value = (value << 8) | byte
    return value, offset + length


_EBML, _DOCTYPE, _SEGMENT, _INFO = 0x1A45DFA3, 0x4282, 0x18538067, 0x1549A966
_SCALE, _DURATION = 0x2AD7B1, 0x4489
_TRACKS, _TRACK_ENTRY, _VIDEO, _WIDTH, _HEIGHT = 0x1654AE6B, 0xAE, 0xE0, 0xB0, 0xBA


def _elements(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    found = []
    offset = start
    while offset < end:
        try:
            ident, offset = _vint(data, offset, keep_marker=True)
            size, offset = _vint(data, offset, keep_marker=False)
        except (IndexError, NotAVideo):
            break
        stop = min(offset + size, end)
        found.append((ident, offset, stop))
        offset = stop
    return found


def _matroska(data: bytes) -> VideoInfo:
    head = _elements(data, 0, len(data))
    if not head or head[0][0] != _EBML:
        raise NotAVideo("no EBML header")
    doctype = b"matroska"
    for ident, s, e in _elements(data, head[0][1], head[0][2]):
        if ident == _DOCTYPE:
            doctype = data[s:e]
    mime = "video/webm" if doctype == b"webm" else "video/x-matroska"
    segment = next((el for el in head if el[0] == _SEGMENT), None)
    if segment is None:
        raise NotAVideo("no segment")
    scale = 1_000_000
    raw_duration: float | None = None
    width = height = None
    for ident, s, e in _elements(data, segment[1], segment[2]):
        if ident == _INFO:
            for inner, a, b in _elements(data, s, e):
                if inner == _SCALE:
                    scale = int.from_bytes(data[a:b], "big") or scale
                elif inner == _DURATION:
                    raw_duration = struct.unpack(">f" if b - a == 4 else ">d", data[a:b])[0]
        elif ident == _TRACKS:
            for entry, a, b in _elements(data, s, e):
                if entry != _TRACK_ENTRY:
                    continue
                for part, c, d in _elements(data, a, b):
                    if part == _VIDEO and width is None:
                        for dim, x, y in _elements(data, c, d):
                            if dim == _WIDTH:
                                width = int.from_bytes(data[x:y], "big")
                            elif dim == _HEIGHT:
                                height = int.from_bytes(data[x:y], "big")
    duration = raw_duration * scale / 1e9 if raw_duration is not None else None
    return VideoInfo(mime, duration, width, height)


def probe(data: bytes) -> VideoInfo:
    """What ``data`` (the whole file, or at least its headers) is; ``NotAVideo`` otherwise."""
    if data[4:8] == b"ftyp":
        return _iso(data)
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return _matroska(data)
    raise NotAVideo("unknown container")
