"""The composer's live checks on a video: what each network refuses in the file itself
(format, duration; size through the shared rules), in the reader's language."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import translation

from portevoix.networks.facebook import FacebookNetwork
from portevoix.networks.types import MediaItem, OutgoingPost
from portevoix.publishing.composer import network_problems, video_problems


def clip(**values: Any) -> Any:
    base = {
        "kind": "video",
        "name": "atelier.mp4",
        "mime_type": "video/mp4",
        "width": 1920,
        "height": 1080,
        "duration": 95.0,
        "size": 40_000_000,
    }
    return SimpleNamespace(**{**base, **values})


def test_a_video_facebook_takes_has_no_problem() -> None:
    assert video_problems(FacebookNetwork(), [clip()]) == []


@pytest.mark.parametrize(
    ("values", "english", "french"),
    [
        ({"duration": 5 * 3600.0}, "Runs 300:00; Facebook takes videos up to 240:00.", "Facebook"),
        (
            {"mime_type": "video/x-msvideo"},
            "Facebook does not take video/x-msvideo videos.",
            "video/x-msvideo",
        ),
    ],
)
def test_duration_and_format_are_said_in_the_readers_language(
    values: dict[str, Any], english: str, french: str
) -> None:
    with translation.override("en"):
        [said] = video_problems(FacebookNetwork(), [clip(**values)])
    assert said == f"atelier.mp4: {english}"
    with translation.override("fr"):
        [dit] = video_problems(FacebookNetwork(), [clip(**values)])
    assert dit != said and french in dit


def test_size_is_the_shared_rule_in_french() -> None:
    limits = replace(FacebookNetwork.limits, max_video_bytes=1_000_000)
    item = MediaItem(b"\x00" * 2_500_000, "video/mp4", filename="lourde.mp4")
    with translation.override("fr"):
        problems = network_problems(
            FacebookNetwork(limits=limits), OutgoingPost("x", media=(item,))
        )
    assert problems == ["lourde.mp4 pèse 2.5 Mo\u00a0; Facebook accepte des vidéos jusqu’à 1.0 Mo."]
