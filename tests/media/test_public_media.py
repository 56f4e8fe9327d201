"""The signed, expiring public address of a post's media (Instagram fetches it itself)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import time_machine
from django.test import Client

from portevoix.channels import actions as channel_actions
from portevoix.media import public
from portevoix.publishing import actions
from portevoix.publishing.actions import Upload
from portevoix.publishing.models import PostMedia
from portevoix.sandbox import service
from tests.images import image_bytes


@pytest.fixture
def item(team, settings) -> PostMedia:
    settings.PORTEVOIX_BASE_URL = "https://social.example.com"
    account = service.create_account("acme-pub", workspace=team.workspace)
    channel = channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name="Photos",
    )
    post = actions.schedule_post(
        team.workspace,
        by=team["admin"],
        text="Avec image",
        channels=[channel],
        uploads=[Upload("vitrine.png", image_bytes("PNG"), alt_text="La vitrine")],
    )
    return post.media.get()


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_the_media_item_carries_a_public_address_that_serves_the_file_without_login(
    item: PostMedia,
) -> None:
    media = item.as_media_item("instagram")
    assert media.public_url.startswith("https://social.example.com/public/media/")
    assert media.public_url.endswith("/vitrine.png")
    response = Client().get(path_of(media.public_url))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == media.data
    assert response["Cache-Control"] == "private, no-store"


def test_an_expired_address_is_gone(item: PostMedia) -> None:
    with time_machine.travel("2026-12-01 10:00:00+00:00", tick=False):
        url = public.media_url(item, "instagram")
    with time_machine.travel("2026-12-01 10:59:00+00:00", tick=False):
        assert Client().get(path_of(url)).status_code == 200
    with time_machine.travel("2026-12-01 11:00:02+00:00", tick=False):
        response = Client().get(path_of(url))
    assert response.status_code == 410
    assert b"expired" in response.content or "expiré".encode() in response.content


def test_a_tampered_address_is_not_found(item: PostMedia) -> None:
    url = public.media_url(item, "instagram")
    token = path_of(url).split("/")[3]
    other = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert Client().get(f"/public/media/{other}/vitrine.png").status_code == 404
    assert Client().get("/public/media/not-a-token/vitrine.png").status_code == 404


def test_a_deleted_media_is_not_found(item: PostMedia) -> None:
    url = public.media_url(item, "instagram")
    item.delete()
    assert Client().get(path_of(url)).status_code == 404


def test_only_reading(item: PostMedia) -> None:
    url = public.media_url(item, "instagram")
    assert Client().post(path_of(url)).status_code == 405
