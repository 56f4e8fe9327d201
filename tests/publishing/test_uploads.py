"""Uploads: the type comes from the bytes, bombs are refused by Pillow's limit, and a body over
the limit is refused before it is read."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from portevoix.channels import actions as channel_actions
from portevoix.core.actions import ActionRefused
from portevoix.publishing import actions, media
from portevoix.publishing.actions import Upload
from portevoix.publishing.models import Post, PostMedia
from portevoix.sandbox import service
from tests.images import MP4_HEADER, bomb_png, image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(team):
    account = service.create_account("acme-up", workspace=team.workspace)
    return channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name="Insta",
    )


def speak(member, language: str) -> None:
    """Once logged in, the account's language decides."""
    member.user.language = language
    member.user.save(update_fields=["language"])


def post_url(channel) -> str:
    return reverse("channel_quick_post", kwargs={"ws": "acme", "pk": channel.pk})


def upload(client: Client, channel, data: bytes, name: str, content_type: str):
    file = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(post_url(channel), {"text": "Avec image", "image": file, "alt_text": "x"})


@pytest.mark.parametrize(("kind", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_the_type_is_read_from_the_content_not_the_header(team, client_for, channel, kind, mime):
    # The browser (or a script) says GIF, and names it .gif: the bytes say otherwise.
    response = upload(client_for(team["content"]), channel, image_bytes(kind), "a.gif", "image/gif")
    assert response.status_code == 302
    assert PostMedia.objects.get().mime_type == mime


def test_a_file_that_is_not_an_image_is_refused_whatever_it_says(team, client_for, channel):
    page = b"<html><script>alert(1)</script></html>"
    response = upload(client_for(team["content"]), channel, page, "photo.png", "image/png")
    assert response.status_code == 400
    assert "photo.png" in response.content.decode()
    assert not Post.objects.exists()


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (MP4_HEADER, "video/mp4"),
        (MP4_HEADER[:8] + b"qt  " + MP4_HEADER[12:], "video/quicktime"),
        (b"\x1a\x45\xdf\xa3" + b"\x00" * 60, "video/webm"),
    ],
)
def test_a_video_is_recognised_by_its_container(data, mime):
    assert media.sniff(data, "clip.bin") == mime


def test_bytes_that_claim_to_be_a_video_are_refused(team, channel):
    with pytest.raises(ActionRefused) as caught:
        actions.schedule_post(
            team.workspace,
            by=team["content"],
            text="x",
            channels=[channel],
            uploads=[Upload("clip.mp4", b"\0" * 64, mime_type="video/mp4")],
        )
    assert caught.value.code == "unreadable" and "clip.mp4" in caught.value.message
    assert not Post.objects.exists()


def test_an_image_format_the_networks_do_not_take_is_refused(team, channel):
    with pytest.raises(ActionRefused) as caught:
        actions.schedule_post(
            team.workspace,
            by=team["content"],
            text="x",
            channels=[channel],
            uploads=[Upload("a.bmp", image_bytes("BMP"), mime_type="image/png")],
        )
    assert caught.value.code == "unsupported_image" and "BMP" in caught.value.message


def test_a_decompression_bomb_is_refused(team, client_for, channel):
    bomb = bomb_png()
    assert len(bomb) < 200_000
    with pytest.warns(Image.DecompressionBombWarning), Image.open(io.BytesIO(bomb)) as image:
        assert image.size[0] * image.size[1] == 60_000_000  # read from the header only
    speak(team["content"], "en")
    client = client_for(team["content"])
    response = upload(client, channel, bomb, "bomb.png", "image/png")
    assert response.status_code == 400
    assert "megapixels" in response.content.decode()
    assert not Post.objects.exists() and not PostMedia.objects.exists()
    # Pillow itself is held to the limit, for any later image work in the process.
    assert Image.MAX_IMAGE_PIXELS == media.MAX_IMAGE_PIXELS < 60_000_000


def test_an_image_just_under_the_limit_passes():
    assert media.sniff_image(image_bytes("PNG", (7_000, 7_000), mode="1")) == "image/png"


def test_a_file_over_the_upload_limit_is_refused_in_the_form(team, client_for, channel, settings):
    settings.PORTEVOIX_MAX_UPLOAD_BYTES = 1_000
    speak(team["content"], "en")
    client = client_for(team["content"])
    response = upload(client, channel, image_bytes("PNG") + b"\0" * 2_000, "big.png", "image/png")
    assert response.status_code == 400 and "the limit is" in response.content.decode()
    assert not Post.objects.exists()


class Unreadable(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise AssertionError("the body was read")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_body_over_the_limit_is_refused_before_it_is_read(
    team, client_for, channel, settings, language
):
    speak(team["content"], language)
    client = client_for(team["content"])
    too_big = settings.PORTEVOIX_MAX_REQUEST_BYTES + 1
    response = client.generic(
        "POST",
        post_url(channel),
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(too_big),
        **{"wsgi.input": Unreadable()},
    )
    assert response.status_code == 413
    html = response.content.decode()
    assert 'data-status="413"' in html and "nav-calendar" in html  # a page of the product
    assert ("at most 22 MB" if language == "en" else "22 Mo") in html
    assert not Post.objects.exists()


def test_the_body_limit_leaves_normal_requests_alone(team, client_for, channel):
    response = upload(
        client_for(team["content"]), channel, image_bytes("PNG"), "a.png", "image/png"
    )
    assert response.status_code == 302
