"""Images and videos, read and prepared for each network with Pillow and ``media.probe``.

* :func:`read` says what a file is from its bytes (never from its name or the browser's
  word), refuses decompression bombs before any pixel is decoded, and measures it.
* :func:`render_image` makes one network's version of an image: turned upright (EXIF), fitted
  in the network's box (:mod:`portevoix.media.specs`), converted to JPEG (PNG where there is
  transparency), its metadata removed (a phone's GPS position stays home), and made lighter
  until the network's byte limit is met. An animated GIF stays an animated GIF.
* :func:`check_video` compares a video with a network's formats, size and duration.

Problems are plain data (``{"code": ..., ...}``), turned into sentences in the reader's
language by :func:`describe`.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from portevoix.media.probe import NotAVideo, probe
from portevoix.media.specs import MediaSpec
from portevoix.networks.types import Capability, Limits

#: Pixels in one image: the largest phone photos (48 MP) pass; bombs are refused unread.
MAX_IMAGE_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
JPEG_QUALITIES = (85, 75, 65, 55)


class MediaRefused(ValueError):
    """A file the library cannot take; ``code`` says why (see :func:`refusal_message`)."""

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class FileInfo:
    kind: str  # "image" or "video"
    mime_type: str
    width: int | None
    height: int | None
    frames: int = 1
    duration: float | None = None


def read(data: bytes) -> FileInfo:
    """What ``data`` is: an image Pillow reads, or a video ``probe`` reads."""
    try:
        return _read_image(data)
    except MediaRefused as exc:
        if exc.code != "unknown":
            raise
    try:
        video = probe(data)
    except (NotAVideo, IndexError, ValueError) as exc:
        raise MediaRefused("unknown") from exc
    return FileInfo("video", video.mime_type, video.width, video.height, 1, video.duration)


def _read_image(data: bytes) -> FileInfo:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = image.format or ""
                width, height = image.size
                frames = getattr(image, "n_frames", 1)
                image.verify()  # structure and checksums, no pixel decoded
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaRefused("too_many_pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error):
        raise MediaRefused("unknown") from None
    if kind not in IMAGE_TYPES:
        raise MediaRefused("image_type", kind=kind or "?")
    if width * height > MAX_IMAGE_PIXELS:
        raise MediaRefused("too_many_pixels")
    return FileInfo("image", IMAGE_TYPES[kind], width, height, frames)


@dataclass(frozen=True)
class Rendered:
    data: bytes
    mime_type: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return {"image/png": "png", "image/gif": "gif"}.get(self.mime_type, "jpg")


def fit(size: tuple[int, int], spec: MediaSpec, scale: float = 1.0) -> tuple[int, int]:
    """``size`` shrunk (never enlarged) into the spec's box and pixel budget, times ``scale``."""
    width, height = size
    ratio = min(1.0, spec.max_width / width, spec.max_height / height)
    if spec.max_pixels is not None and width * height * ratio * ratio > spec.max_pixels:
        ratio = (spec.max_pixels / (width * height)) ** 0.5
    ratio *= scale
    return max(1, int(width * ratio)), max(1, int(height * ratio))


def render_image(data: bytes, spec: MediaSpec, limits: Limits) -> Rendered | dict[str, Any]:
    """One network's version of an image, or the problem (``{"code": "too_heavy", ...}``)."""
    limit = limits.max_image_bytes
    with Image.open(io.BytesIO(data)) as source:
        if source.format == "GIF" and getattr(source, "n_frames", 1) > 1:
            return _render_animated(source, spec, limit)
        upright = ImageOps.exif_transpose(source)
        upright.load()
    alpha = upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    )
    png = alpha and "image/png" in limits.image_mime_types
    for scale in (1.0, 0.8, 0.64, 0.5, 0.4):
        size = fit(upright.size, spec, scale)
        image = upright.resize(size, Image.Resampling.LANCZOS) if size != upright.size else upright
        for quality in (None,) if png else JPEG_QUALITIES:
            buffer = io.BytesIO()
            if png:
                image.convert("RGBA").save(buffer, "PNG", optimize=True)
            else:
                flat = image
                if alpha:
                    flat = Image.new("RGB", image.size, "white")
                    flat.paste(image.convert("RGBA"), mask=image.convert("RGBA").split()[-1])
                flat.convert("RGB").save(
                    buffer, "JPEG", quality=quality, optimize=True, progressive=True
                )
            out = buffer.getvalue()
            if limit is None or len(out) <= limit:
                mime = "image/png" if png else "image/jpeg"
                return Rendered(out, mime, size[0], size[1])
        if png:
            # Too heavy as a PNG even smaller: a JPEG on white does it.
            png = False
    return {"code": "too_heavy", "limit": limit}


def _render_animated(
    source: Image.Image, spec: MediaSpec, limit: int | None
) -> Rendered | dict[str, Any]:
    duration = source.info.get("duration", 100)
    loop = source.info.get("loop", 0)
    for scale in (1.0, 0.75, 0.5):
        size = fit(source.size, spec, scale)
        frames = [
            frame.convert("RGBA").resize(size, Image.Resampling.LANCZOS)
            if size != source.size
            else frame.convert("RGBA")
            for frame in ImageSequence.Iterator(source)
        ]
        buffer = io.BytesIO()
        frames[0].save(
            buffer,
            "GIF",
            save_all=True,
            append_images=frames[1:],
            duration=duration,
            loop=loop,
            disposal=2,
            optimize=True,
        )
        out = buffer.getvalue()
        if limit is None or len(out) <= limit:
            return Rendered(out, "image/gif", size[0], size[1])
    return {"code": "too_heavy", "limit": limit}


def check_video(
    info: FileInfo,
    size: int,
    *,
    capabilities: frozenset[Capability],
    limits: Limits,
    spec: MediaSpec,
) -> list[dict[str, Any]]:
    """What a network would refuse in this video (empty: it can go there)."""
    if Capability.VIDEO not in capabilities or not limits.accepts_video:
        return [{"code": "no_video"}]
    problems: list[dict[str, Any]] = []
    types = limits.video_mime_types or spec.video_mime_types
    if types and info.mime_type not in types:
        problems.append({"code": "video_type", "type": info.mime_type})
    if limits.max_video_bytes is not None and size > limits.max_video_bytes:
        problems.append({"code": "too_heavy", "limit": limits.max_video_bytes})
    # The network's rule, or the account's own when the network says it (a TikTok creator's
    # longest video, from creator_info), whichever is shorter.
    longest = min(
        (s for s in (spec.max_video_seconds, limits.max_video_seconds) if s is not None),
        default=None,
    )
    if info.duration is None:
        problems.append({"code": "no_duration"})
    elif longest is not None and info.duration > longest:
        problems.append({"code": "too_long", "limit": longest, "value": info.duration})
    return problems


def _megabytes(size: int | None) -> str:
    return f"{(size or 0) / 1_000_000:.1f}"


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def describe(problem: dict[str, Any], network: str) -> str:
    """A stored problem as a sentence in the reader's language."""
    code = problem.get("code")
    if code == "no_video":
        return _("%(network)s does not take videos from Porte-voix.") % {"network": network}
    if code == "video_type":
        return _("%(network)s does not take %(type)s videos.") % {
            "network": network,
            "type": problem.get("type", "?"),
        }
    if code == "too_heavy":
        return _("Too heavy for %(network)s, even resized (at most %(limit)s MB).") % {
            "network": network,
            "limit": _megabytes(problem.get("limit")),
        }
    if code == "too_long":
        return _("Runs %(value)s; %(network)s takes videos up to %(limit)s.") % {
            "network": network,
            "value": _duration(float(problem.get("value", 0))),
            "limit": _duration(float(problem.get("limit", 0))),
        }
    if code == "no_duration":
        return _("Porte-voix could not read how long this video runs.")
    return _("%(network)s cannot take this file.") % {"network": network}


def refusal_message(exc: MediaRefused, name: str) -> str:
    if exc.code == "too_many_pixels":
        return _(
            "%(name)s is too large in pixels: Porte-voix takes images of at most %(mp)s megapixels."
        ) % {"name": name, "mp": MAX_IMAGE_PIXELS // 1_000_000}
    if exc.code == "image_type":
        return _("%(name)s is a %(kind)s image; Porte-voix takes JPEG, PNG, GIF and WebP.") % {
            "name": name,
            "kind": exc.details.get("kind", "?"),
        }
    if exc.code == "too_large":
        return _("%(name)s weighs %(size)s MB; the library takes files up to %(limit)s MB.") % {
            "name": name,
            "size": _megabytes(exc.details.get("size")),
            "limit": _megabytes(exc.details.get("limit")),
        }
    return _(
        "%(name)s is not a file Porte-voix can read: images in JPEG, PNG, GIF or WebP, videos "
        "in MP4, MOV or WebM."
    ) % {"name": name}
