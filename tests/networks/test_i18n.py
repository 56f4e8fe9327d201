"""The networks' refusals a person reads, in French and in English (gettext with parameters)."""

from __future__ import annotations

import pytest
from django.utils import translation

from portevoix.networks.base import human_bytes
from portevoix.networks.facebook import FacebookNetwork
from portevoix.networks.instagram import InstagramNetwork
from portevoix.networks.linkedin import LinkedInNetwork
from portevoix.networks.mastodon import MastodonNetwork
from portevoix.networks.tiktok import TikTokNetwork
from portevoix.networks.types import MediaItem, OutgoingPost, ThreadPart
from portevoix.networks.x import XNetwork
from portevoix.networks.youtube import YouTubeNetwork

CLIP = MediaItem(b"\x00" * 10, "video/mp4", filename="clip.mp4")
PHOTO = MediaItem(b"\x00" * 10, "image/jpeg", filename="photo.jpg")


@pytest.mark.parametrize(
    ("network", "post", "english", "french"),
    [
        (
            TikTokNetwork(),
            OutgoingPost("x", media=(CLIP, PHOTO)),
            "On TikTok a video goes alone: one video, or photos, not both.",
            "Sur TikTok, une vidéo part seule\u00a0: une vidéo, ou des photos, pas les deux.",
        ),
        (
            FacebookNetwork(),
            OutgoingPost("x", media=(CLIP, PHOTO)),
            "On Facebook a video goes alone, without photos or another video.",
            "Sur Facebook, une vidéo part seule, sans photo ni autre vidéo.",
        ),
        (
            InstagramNetwork(),
            OutgoingPost("x"),
            "Instagram posts need at least one image.",
            "Une publication Instagram demande au moins une image.",
        ),
        (
            LinkedInNetwork(),
            OutgoingPost("x", media=(CLIP, PHOTO)),
            "On LinkedIn a video goes alone, without images or another video.",
            "Sur LinkedIn, une vidéo part seule, sans image ni autre vidéo.",
        ),
        (
            XNetwork(),
            OutgoingPost("x" * 300),
            "the text is 300 characters long; X allows 280.",
            "le texte compte 300 caractères\u00a0; X en permet 280.",
        ),
        (
            YouTubeNetwork(),
            OutgoingPost("T" * 101, media=(CLIP,)),
            "The title (first line) is 101 characters long; YouTube allows 100.",
            "Le titre (la première ligne) compte 101 caractères\u00a0; YouTube en permet 100.",
        ),
        (
            FacebookNetwork(),
            OutgoingPost("a", thread=(ThreadPart("b"),)),
            "Facebook does not take threads.",
            "Facebook n’accepte pas les fils.",
        ),
        (
            MastodonNetwork(),
            OutgoingPost("x", media=(CLIP, CLIP)),
            "Mastodon takes one video alone, or up to 4 images.",
            "Mastodon accepte une vidéo seule, ou jusqu’à 4 images.",
        ),
    ],
)
def test_validate_speaks_the_readers_language(
    network: object, post: OutgoingPost, english: str, french: str
) -> None:
    assert english in network.validate(post)  # type: ignore[attr-defined]
    with translation.override("fr"):
        assert french in network.validate(post)  # type: ignore[attr-defined]


def test_sizes_in_the_readers_units() -> None:
    assert human_bytes(2_500_000) == "2.5 MB"
    with translation.override("fr"):
        assert human_bytes(2_500_000) == "2.5 Mo"
        assert human_bytes(999) == "999 octets"


def test_a_mapped_refusal_is_translated_too() -> None:
    network = TikTokNetwork()
    error = network._error(403, "spam_risk_text", "", write=True, action="publishing")
    assert error.message == "TikTok refused the post as spam: change its text."
    with translation.override("fr"):
        error = network._error(403, "spam_risk_text", "", write=True, action="publishing")
    assert error.message == "TikTok a refusé la publication comme spam\u00a0: changez son texte."


# -- the steps named in refusals ("…(uploading the video)") -----------------------------------

STEP_PATTERNS = (
    r'action\s*=\s*"([^"]+)"',
    r'_call(?:_once)?\(\s*"([^"]+)"',
    r'optional_part\(\s*"[a-z]+",\s*"([^"]+)"',
    r'_json\([^()]*?,\s*"([^"]+)"\s*\)',
    r'_get_json\([^()]*?,\s*"([^"]+)"\s*\)',
)


def test_every_step_a_module_names_is_marked_for_translation() -> None:
    import re
    from pathlib import Path

    from portevoix.networks import steps

    folder = Path(steps.__file__).parent
    named: set[str] = set()
    for path in folder.glob("*.py"):
        text = path.read_text()
        for pattern in STEP_PATTERNS:
            named.update(m.group(1) for m in re.finditer(pattern, text, re.S))
    # HTTP verbs and YouTube's method names ("videos.insert") are not steps.
    named = {n for n in named if "." not in n and n not in {"GET", "POST", "metrics"}}
    assert named, "the patterns found no step"
    assert named <= set(steps.STEPS), sorted(named - set(steps.STEPS))
    with translation.override("fr"):
        untranslated = [s for s in steps.STEPS if translation.gettext(s) == s]
    assert not untranslated


def _refused_video(language: str) -> str:
    """Graph refuses a video chunk (subcode 1363023, too large: https://developers.facebook.com/
    docs/video-api/reference/error-codes/) while the worker runs in ``language``; what the
    publication stores about it."""
    import httpx
    import respx

    from portevoix.channels.messages import network_problem
    from portevoix.networks import meta
    from portevoix.networks.errors import InvalidInput

    refusal = {
        "error": {
            "message": "The video file you tried to upload is too large.",
            "type": "OAuthException",
            "code": 6000,
            "error_subcode": 1363023,
        }
    }
    with respx.mock() as router, translation.override(language):
        router.post("https://graph-video.facebook.com/v26.0/1/videos").mock(
            return_value=httpx.Response(400, json=refusal)
        )
        client = meta.GraphClient(
            "facebook",
            "Facebook",
            graph_url="https://graph-video.facebook.com",
            token="t",
            timeout=5,
            transport=httpx.HTTPTransport(),
        )
        with pytest.raises(InvalidInput) as caught:
            client.post("1/videos", {"upload_phase": "transfer"}, action="uploading the video")
        client.close()
    return network_problem(caught.value).dumps()


@pytest.mark.parametrize("worker_language", ["en", "fr"])
def test_a_refusal_names_its_step_in_each_readers_language(worker_language: str) -> None:
    from portevoix.core.sentences import render

    stored = _refused_video(worker_language)
    with translation.override("en"):
        english = render(stored)
    with translation.override("fr"):
        french = render(stored)
    assert "Facebook refused the video (uploading the video)" in english
    assert "Facebook a refusé la vidéo (envoi de la vidéo)" in french
    assert "uploading" not in french
