"""Uploaded media: the type is read from the content, and decompression bombs are refused.

The browser's ``Content-Type`` and the file name are what the sender says; the bytes are what
the networks will get. Pillow reads an image's header (no pixel is decoded here), which gives
the real format, and checks the pixel count against :data:`MAX_IMAGE_PIXELS` before anything
allocates them: a 181 KB PNG that unpacks to 60 megapixels is refused, not decoded. A video is
recognised by its container's own header (an ISO ``ftyp`` box for MP4 and QuickTime, the EBML
signature for WebM); whether a network takes it is the network's check. See
``docs/adr/0401-pillow-for-uploads.md``.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import replace
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from portevoix.core.actions import ActionRefused

if TYPE_CHECKING:
    from portevoix.publishing.actions import Upload

#: Pixels in one image. The largest phone photos (48 MP) pass; Pillow refuses more, for every
#: use of Pillow in the process (its default, 89 MP, only warns up to twice that).
MAX_IMAGE_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

#: Pillow's format name -> the MIME type the networks are told.
FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}


def sniff_video(data: bytes) -> str | None:
    """The MIME type of the video container in ``data``, from its header, if it is one."""
    if data[4:8] == b"ftyp":
        return "video/quicktime" if data[8:12] == b"qt  " else "video/mp4"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    return None


def sniff(data: bytes, filename: str = "") -> str:
    """The MIME type of the image or video in ``data``, read from its content."""
    video = sniff_video(data)
    return video if video is not None else sniff_image(data, filename)


def sniff_image(data: bytes, filename: str = "") -> str:
    """The MIME type of the image in ``data``, read from its content; ActionRefused otherwise."""
    name = filename or _("The file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = image.format or ""
                width, height = image.size
                image.verify()  # structure and checksums, without decoding the pixels
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ActionRefused(
            _(
                "%(name)s is too large in pixels: Porte-voix takes images of at most "
                "%(mp)s megapixels."
            )
            % {"name": name, "mp": MAX_IMAGE_PIXELS // 1_000_000},
            field="image",
            code="too_many_pixels",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ActionRefused(
            _(
                "%(name)s is neither an image (JPEG, PNG, GIF, WebP) nor a video (MP4, "
                "QuickTime, WebM) that Porte-voix can read."
            )
            % {"name": name},
            field="image",
            code="unreadable",
        ) from None
    if kind not in FORMATS:
        raise ActionRefused(
            _("%(name)s is a %(kind)s image; Porte-voix publishes JPEG, PNG, GIF and WebP.")
            % {"name": name, "kind": kind or "?"},
            field="image",
            code="unsupported_image",
        )
    if width * height > MAX_IMAGE_PIXELS:  # also when Pillow was told otherwise elsewhere
        raise ActionRefused(
            _(
                "%(name)s is too large in pixels: Porte-voix takes images of at most "
                "%(mp)s megapixels."
            )
            % {"name": name, "mp": MAX_IMAGE_PIXELS // 1_000_000},
            field="image",
            code="too_many_pixels",
        )
    return FORMATS[kind]


def checked(upload: Upload) -> Upload:
    """``upload`` with its MIME type read from its bytes (whatever the sender said)."""
    return replace(upload, mime_type=sniff(upload.data, upload.filename))
