"""``portevoix post`` to a TikTok channel carries TikTok's required choices (``--tiktok-*``);
without them, or with a choice the creator's account refuses (its options as last read, the
documentation's example of https://developers.tiktok.com/doc/content-posting-api-reference-
query-creator-info), the post is refused at once with TikTok's reasons, and nothing is saved."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from portevoix.publishing.models import Post, Publication
from tests.channels.test_cli import run
from tests.images import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "coulisses.jpg"
    path.write_bytes(image_bytes("JPEG", size=(1080, 1350)))
    return str(path)


def post_argv(photo: str, *extra: str) -> list[str]:
    at = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0).isoformat()
    return [
        "post",
        "Les coulisses du défilé",
        "--channel",
        "TikTok Lumière",
        "--image",
        photo,
        "--at",
        at,
        "--as",
        "manager@acme.test",
        *extra,
    ]


def test_a_tiktok_post_with_its_choices_is_scheduled(team, tiktok_channel, photo) -> None:
    code, out, err = run(
        *post_argv(
            photo,
            "--tiktok-privacy-level",
            "MUTUAL_FOLLOW_FRIENDS",
            "--tiktok-allow",
            "comment",
            "--tiktok-disclose",
            "your_brand",
            "--tiktok-consent",
        )
    )
    assert code == 0, err
    assert "TikTok Lumière: scheduled for" in out
    publication = Publication.objects.get(channel=tiktok_channel)
    assert publication.network_options == {
        "tiktok_privacy": "MUTUAL_FOLLOW_FRIENDS",
        "tiktok_comment": "on",
        "tiktok_disclose": "on",
        "tiktok_your_brand": "on",
        "tiktok_consent": "on",
    }
    from portevoix.publishing.actions import publication_problems

    assert not publication_problems(publication)  # the worker will find nothing to refuse


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ((), "TikTok: choose who can see the post (there is no default)."),
        (("--tiktok-privacy-level", "PUBLIC_TO_EVERYONE"), "Music Usage Confirmation"),
        (
            ("--tiktok-privacy-level", "FOLLOWER_OF_CREATOR", "--tiktok-consent"),
            "TikTok: this account cannot post to followers.",
        ),
        (
            (
                "--tiktok-privacy-level",
                "SELF_ONLY",
                "--tiktok-disclose",
                "branded_content",
                "--tiktok-consent",
            ),
            "branded content cannot be private",
        ),
    ],
)
def test_a_tiktok_post_without_or_with_wrong_choices_is_refused_at_once(
    team, tiktok_channel, photo, extra, expected
) -> None:
    with translation.override("en"):
        code, _out, err = run(*post_argv(photo, *extra))
    assert code == 1
    assert err.startswith("portevoix post: TikTok Lumière: ")
    assert expected in err
    assert not Post.objects.exists()


def test_an_unknown_choice_is_a_usage_error(team, tiktok_channel, photo, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        run(*post_argv(photo, "--tiktok-privacy-level", "EVERYONE"))
    assert stop.value.code == 2
    assert "--tiktok-privacy-level" in capsys.readouterr().err


def test_tiktok_choices_without_a_tiktok_channel_are_a_usage_error(team, photo) -> None:
    from tests.channels.test_cli import _connect

    _connect(team, "acme", "Insta", "acme-insta")
    argv = post_argv(photo, "--tiktok-consent")
    argv[argv.index("TikTok Lumière")] = "Insta"
    code, _out, err = run(*argv)
    assert code == 2
    assert "need a TikTok channel" in err
