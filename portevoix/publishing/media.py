"""Uploaded images: the type is read from the content, and decompression bombs are refused.

The browser's ``Content-Type`` and the file name are what the sender says; the bytes are what
the networks will get. Pillow reads the header (no pixel is decoded here), which gives the
real format, and checks the pixel count against :data:`MAX_IMAGE_PIXELS` before anything
allocates them: a 181 KB PNG that unpacks to 60 megapixels is refused, not decoded. See
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
            _("%(name)s is not an image Porte-voix can read (JPEG, PNG, GIF or WebP).")
            % {"name": name},
            field="image",
            code="not_an_image",
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
    return replace(upload, mime_type=sniff_image(upload.data, upload.filename))
