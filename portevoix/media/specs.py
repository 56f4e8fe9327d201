"""What each network does with an image or a video, beyond the byte and type limits.

A network module's :class:`~portevoix.networks.types.Limits` say how heavy a file may be and
which types the server takes (read from the server where it says). What they do not say is
the size in pixels a network shows an image at, or how long a video may run: those are here,
per network name, from each network's documentation. A network without an entry gets
:data:`DEFAULT`.

The media library uses them at upload to make one rendition of each image per network (resized
to fit, converted, metadata removed, the original kept) and to check each video.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MediaSpec:
    #: The box an image is resized to fit in (never enlarged).
    max_width: int
    max_height: int
    #: At most this many pixels (Mastodon counts pixels, not sides); None: the box decides.
    max_pixels: int | None = None
    #: A video may run this long; None: no limit we know of (the server's size limit decides).
    max_video_seconds: float | None = None
    #: Containers a video may come in; empty: whatever ``Limits.video_mime_types`` says.
    video_mime_types: frozenset[str] = frozenset()


#: Bluesky shows images up to 2000 px on their longest side and takes 1 MB (Limits); its
#: videos run up to 3 minutes, MP4 (the module does not publish videos yet).
#: LinkedIn's videos: MP4, 3 seconds to 30 minutes (https://learn.microsoft.com/linkedin/
#: marketing/community-management/shares/videos-api); its images keep the default box.
#: Mastodon downsizes images above 3840 x 2160 pixels (8.3 MP); videos are bounded by size
#: (99 MB by default, from the instance), MP4, WebM or MOV.
#: Facebook pages show photos up to 2048 px on their longest side; videos by resumable upload
#: run up to 4 hours (https://developers.facebook.com/docs/graph-api/video-uploads).
#: Instagram shows images 1440 px wide at most, portrait up to 4:5 (1440 x 1800), JPEG only
#: (its module's Limits); videos go out as reels, up to 15 minutes, MP4 or MOV.
#: X's images keep the default box; its videos run up to 140 seconds, MP4 or MOV
#: (https://docs.x.com/x-api/media/quickstart/best-practices).
#: The sandbox behaves like a photo network: 2048 px, videos up to 15 minutes.
SPECS: dict[str, MediaSpec] = {
    "bluesky": MediaSpec(
        max_width=2000,
        max_height=2000,
        max_video_seconds=180,
        video_mime_types=frozenset({"video/mp4"}),
    ),
    "facebook": MediaSpec(
        max_width=2048,
        max_height=2048,
        max_video_seconds=4 * 3600,
        video_mime_types=frozenset({"video/mp4", "video/quicktime", "video/webm"}),
    ),
    "instagram": MediaSpec(
        max_width=1440,
        max_height=1800,
        max_video_seconds=15 * 60,
        video_mime_types=frozenset({"video/mp4", "video/quicktime"}),
    ),
    "linkedin": MediaSpec(
        max_width=2048,
        max_height=2048,
        max_video_seconds=30 * 60,
        video_mime_types=frozenset({"video/mp4"}),
    ),
    "mastodon": MediaSpec(
        max_width=3840,
        max_height=3840,
        max_pixels=3840 * 2160,
        video_mime_types=frozenset({"video/mp4", "video/webm", "video/quicktime"}),
    ),
    "x": MediaSpec(
        max_width=2048,
        max_height=2048,
        max_video_seconds=140,
        video_mime_types=frozenset({"video/mp4", "video/quicktime"}),
    ),
    "sandbox": MediaSpec(
        max_width=2048,
        max_height=2048,
        max_video_seconds=15 * 60,
        video_mime_types=frozenset({"video/mp4", "video/webm", "video/quicktime"}),
    ),
}
DEFAULT = MediaSpec(max_width=2048, max_height=2048, max_video_seconds=None)


def spec_for(network: str) -> MediaSpec:
    return SPECS.get(network, DEFAULT)
