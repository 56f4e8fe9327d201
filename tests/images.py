"""Real images made with Pillow, for the tests of uploads."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image


def image_bytes(kind: str = "PNG", size: tuple[int, int] = (4, 3), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color=0).save(buffer, format=kind)
    return buffer.getvalue()


@cache
def bomb_png() -> bytes:
    """60 megapixels that weigh a few kilobytes: a decompression bomb."""
    buffer = io.BytesIO()
    Image.new("1", (10_000, 6_000), color=0).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


#: The start of an MP4 file (an ISO ``ftyp`` box, brand mp42): enough to be read as a video.
MP4_HEADER = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 40
