"""A TikTok channel and a video for the tests of TikTok's required choices (API, CLI,
import): the channel's creator options as read at connection, following TikTok's
documentation example (no followers-only level, stitches turned off)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from portevoix.channels.models import Channel
from portevoix.media import actions as media_actions
from portevoix.networks import tiktok
from portevoix.networks.types import Credentials
from tests.media.test_media import mp4

LEVELS = frozenset({"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"})


@pytest.fixture
def tiktok_channel(team) -> Channel:
    """A TikTok channel whose creator's options were read at connection."""
    row = Channel(
        workspace=team.workspace,
        network="tiktok",
        name="TikTok Lumière",
        account_id="o1",
        handle="@tiktok",
        limits=replace(
            tiktok.TikTokNetwork.limits,
            privacy_levels=LEVELS,
            interactions_disabled=frozenset({"stitch"}),
            max_video_seconds=300,
        ).as_json(),
    )
    row.set_credentials(
        Credentials(
            {"access_token": "act.x", "open_id": "o1", "refresh_token": "r", "audited": "yes"}
        )
    )
    row.save()
    return row


@pytest.fixture
def film(team):
    return media_actions.upload(
        team.workspace, by=team["manager"], filename="coulisses.mp4", data=mp4(30.0)
    )
