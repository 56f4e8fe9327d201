"""The media library: files read from their bytes, a rendition per network (resized,
converted, metadata removed, GIFs kept animated), videos checked, pages per role."""

from __future__ import annotations

import io
import struct

import pytest
from django.urls import reverse
from PIL import Image

from portevoix.channels import actions as channel_actions
from portevoix.core.actions import ActionRefused
from portevoix.core.permissions import MATRIX
from portevoix.media import actions, processing
from portevoix.media.probe import probe
from portevoix.media.specs import spec_for
from portevoix.networks import registry
from portevoix.sandbox import service
from tests.conftest import ALL_ROLES

pytestmark = pytest.mark.django_db


def image(fmt="PNG", size=(3000, 2000), mode="RGB", **save) -> bytes:
    buffer = io.BytesIO()
    colour = {"RGB": (10, 120, 200), "RGBA": (10, 120, 200, 128)}.get(mode, 0)
    Image.new(mode, size, colour).save(buffer, fmt, **save)
    return buffer.getvalue()


def animated_gif(frames=3, size=(2400, 1200)) -> bytes:
    buffer = io.BytesIO()
    images = [Image.new("RGB", size, (i * 80, 0, 0)) for i in range(frames)]
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=120, loop=0)
    return buffer.getvalue()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mp4(seconds=12.5, width=1280, height=720, brand=b"isom") -> bytes:
    mvhd = bytes(12) + struct.pack(">II", 1000, int(seconds * 1000)) + bytes(80)
    tkhd = bytes(76) + struct.pack(">II", width << 16, height << 16)
    moov = box(b"moov", box(b"mvhd", mvhd) + box(b"trak", box(b"tkhd", tkhd)))
    return box(b"ftyp", brand + bytes(4)) + moov + box(b"mdat", b"\0" * 64)


def webm(seconds=4.0) -> bytes:
    def el(ident: bytes, payload: bytes) -> bytes:
        return ident + bytes([0x80 | len(payload)]) + payload

    header = el(b"\x1a\x45\xdf\xa3", el(b"\x42\x82", b"webm"))
    info = el(
        b"\x15\x49\xa9\x66",
        el(b"\x2a\xd7\xb1", (1_000_000).to_bytes(3, "big"))
        + el(b"\x44\x89", struct.pack(">f", seconds * 1000)),
    )
    return header + el(b"\x18\x53\x80\x67", info)


@pytest.fixture
def channels(team):
    account = service.create_account("acme-lib", workspace=team.workspace)
    return [
        channel_actions.connect_channel(
            team.workspace,
            by=team["admin"],
            network="sandbox",
            credentials=service.credentials_for(account),
            name="Insta",
        )
    ]


def test_probe_reads_mp4_mov_and_webm_headers():
    info = probe(mp4(12.5))
    assert info.mime_type == "video/mp4" and info.duration == 12.5
    assert (info.width, info.height) == (1280, 720)
    assert probe(mp4(brand=b"qt  ")).mime_type == "video/quicktime"
    assert probe(webm(4.0)).mime_type == "video/webm"
    assert abs(probe(webm(4.0)).duration - 4.0) < 0.01


def test_an_image_gets_a_rendition_per_network_and_keeps_its_original(team, channels):
    data = image()
    asset = actions.upload(team.workspace, by=team["creative"], filename="grand.png", data=data)
    assert asset.kind == "image" and (asset.width, asset.height) == (3000, 2000)
    with asset.file.open("rb") as handle:
        assert handle.read() == data  # the original, unchanged
    rendition = asset.renditions.get(network="sandbox")
    assert rendition.mime_type == "image/jpeg" and max(rendition.width, rendition.height) == 2048
    assert asset.checks == {"sandbox": []}


def test_bluesky_sizes_and_its_one_megabyte(team):
    limits = registry.get("bluesky").limits
    noisy = Image.effect_noise((4000, 3000), 120).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    result = processing.render_image(buffer.getvalue(), spec_for("bluesky"), limits)
    assert isinstance(result, processing.Rendered)
    assert max(result.width, result.height) <= 2000 and len(result.data) <= 1_000_000


def test_transparency_stays_png_and_exif_is_removed(team):
    limits = registry.get("sandbox").limits
    result = processing.render_image(
        image(mode="RGBA", size=(500, 500)), spec_for("sandbox"), limits
    )
    assert result.mime_type == "image/png"
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300)).save(buffer, "JPEG", exif=exif)
    result = processing.render_image(buffer.getvalue(), spec_for("sandbox"), limits)
    with Image.open(io.BytesIO(result.data)) as out:
        assert not out.getexif()


def test_an_animated_gif_stays_animated(team, channels):
    asset = actions.upload(
        team.workspace, by=team["creative"], filename="anim.gif", data=animated_gif()
    )
    assert asset.animated and asset.frames == 3
    rendition = asset.renditions.get(network="sandbox")
    assert rendition.mime_type == "image/gif"
    with rendition.file.open("rb") as handle, Image.open(io.BytesIO(handle.read())) as out:
        assert out.n_frames == 3 and max(out.size) == 2048


def test_a_video_is_checked_against_each_network(team, channels):
    asset = actions.upload(
        team.workspace, by=team["creative"], filename="clip.mp4", data=mp4(20 * 60)
    )
    assert asset.kind == "video" and asset.duration == 1200
    problems = asset.checks["sandbox"]
    assert [p["code"] for p in problems] == ["too_long"]
    assert "15:00" in processing.describe(problems[0], "Sandbox")
    short = actions.upload(team.workspace, by=team["creative"], filename="ok.mp4", data=mp4(30))
    assert short.checks == {"sandbox": []}
    bluesky = processing.check_video(
        processing.read(mp4(30)),
        100,
        capabilities=registry.get("bluesky").capabilities,
        limits=registry.get("bluesky").limits,
        spec=spec_for("bluesky"),
    )
    assert [p["code"] for p in bluesky] == ["no_video"]


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"not an image at all", "unknown"), (image("BMP", (10, 10)), "image_type")],
)
def test_files_it_cannot_read_are_refused_with_a_reason(team, data, code):
    with pytest.raises(ActionRefused) as refused:
        actions.upload(team.workspace, by=team["creative"], filename="x.bin", data=data)
    assert refused.value.code == code and "x.bin" in refused.value.message


def test_a_decompression_bomb_is_refused_unread(team):
    bomb = image("PNG", (10_000, 6_000), mode="L")
    with pytest.raises(ActionRefused) as refused:
        actions.upload(team.workspace, by=team["creative"], filename="bomb.png", data=bomb)
    assert refused.value.code == "too_many_pixels"


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_upload(team, client_for, role):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("a.png", image(size=(50, 50)), content_type="image/png")
    response = client_for(team[role]).post(
        reverse("media_upload", kwargs={"ws": "acme"}), {"file": upload}
    )
    assert response.status_code == (302 if "post.create" in MATRIX[role] else 403)


def test_library_pages_and_files_are_for_members_only(team, client_for, channels):
    asset = actions.upload(
        team.workspace, by=team["creative"], filename="a.png", data=image(size=(60, 40))
    )
    viewer = client_for(team["viewer"])
    assert viewer.get(reverse("media_library", kwargs={"ws": "acme"})).status_code == 200
    page = viewer.get(reverse("media_item", kwargs={"ws": "acme", "pk": asset.pk}))
    assert page.status_code == 200 and "a.png" in page.content.decode()
    file = viewer.get(
        reverse("media_file", kwargs={"ws": "acme", "pk": asset.pk}), {"network": "sandbox"}
    )
    assert file.status_code == 200 and file["Content-Type"] == "image/jpeg"
    assert (
        viewer.post(
            reverse("media_item", kwargs={"ws": "acme", "pk": asset.pk}), {"name": "x"}
        ).status_code
        == 403
    )
    other = team.outsider.workspace.slug
    assert (
        client_for(team.outsider)
        .get(reverse("media_file", kwargs={"ws": other, "pk": asset.pk}))
        .status_code
        == 404
    )
    editor = client_for(team["creative"])
    response = editor.post(
        reverse("media_item", kwargs={"ws": "acme", "pk": asset.pk}),
        {"name": "Flacon", "alt_text": "Un flacon vert", "tags": "été, sérum"},
    )
    assert response.status_code == 302
    asset.refresh_from_db()
    assert asset.alt_text == "Un flacon vert" and sorted(t.name for t in asset.tags.all()) == [
        "sérum",
        "été",
    ]
