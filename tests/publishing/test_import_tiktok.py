"""The CSV import of the plan with TikTok lines: TikTok's required choices in the
``tiktok_*`` columns and the video from the library (``media``); a line without them, or with
a choice TikTok refuses (the creator's options as last read: the documentation's example of
https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info), is
reported with its number and TikTok's reason, and nothing is saved."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from portevoix.publishing import actions, exchange
from portevoix.publishing.models import Post, Publication

pytestmark = pytest.mark.django_db

HEADER = (
    "when;channels;title;text;media;tiktok_privacy_level;tiktok_allow;tiktok_disclose;"
    "tiktok_consent\n"
)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def day() -> str:
    return (timezone.now() + dt.timedelta(days=3)).date().isoformat()


def test_a_tiktok_line_with_its_choices_is_imported(team, tiktok_channel, film) -> None:
    data = (
        HEADER
        + f"{day()} 09:30;TikTok Lumière;Coulisses;Les coulisses;coulisses.mp4;"
        + "MUTUAL_FOLLOW_FRIENDS;comment|duet;your_brand;oui\n"
    ).encode()
    report = exchange.import_plan(
        team.workspace, by=team["manager"], data=data, dry_run=False, submit=True
    )
    assert report.ok, report.errors
    publication = Publication.objects.get(channel=tiktok_channel)
    assert publication.state == "scheduled"
    assert publication.network_options == {
        "tiktok_privacy": "MUTUAL_FOLLOW_FRIENDS",
        "tiktok_comment": "on",
        "tiktok_duet": "on",
        "tiktok_disclose": "on",
        "tiktok_your_brand": "on",
        "tiktok_consent": "on",
    }
    assert not actions.publication_problems(publication)  # nothing for the worker to refuse


def test_each_wrong_tiktok_line_is_reported_with_its_number(team, tiktok_channel, film) -> None:
    good = f"{day()} 09:30;TikTok Lumière;A;Texte;coulisses.mp4;PUBLIC_TO_EVERYONE;;;yes\n"
    data = (
        HEADER
        + good
        + f"{day()} 10:00;TikTok Lumière;B;Texte;coulisses.mp4;;;;\n"  # 3: no choices
        + f"{day()} 11:00;TikTok Lumière;C;Texte;coulisses.mp4;FOLLOWER_OF_CREATOR;;;yes\n"
        + f"{day()} 12:00;TikTok Lumière;D;Texte;coulisses.mp4;PUBLIC_TO_EVERYONE;stitch;;yes\n"
        + f"{day()} 13:00;TikTok Lumière;E;Texte;coulisses.mp4;SELF_ONLY;;branded_content;yes\n"
        + f"{day()} 14:00;TikTok Lumière;F;Texte;coulisses.mp4;PUBLIC_TO_EVERYONE;;;\n"
        + f"{day()} 15:00;TikTok Lumière;G;Texte;coulisses.mp4;EVERYONE;;;yes\n"
        + f"{day()} 16:00;TikTok Lumière;H;Texte;coulisses.mp4;PUBLIC_TO_EVERYONE;likes;;yes\n"
        + f"{day()} 17:00;TikTok Lumière;I;Texte;absent.mp4;PUBLIC_TO_EVERYONE;;;yes\n"
        + f"{day()} 18:00;TikTok Lumière;J;Texte;coulisses.mp4;PUBLIC_TO_EVERYONE;;;peut-être\n"
    ).encode()
    report = exchange.import_plan(team.workspace, by=team["manager"], data=data, dry_run=False)
    errors = dict(report.errors)
    assert sorted(errors) == list(range(3, 12)), report.errors
    assert "TikTok Lumière is a TikTok channel" in errors[3]
    assert "tiktok_privacy_level" in errors[3]
    assert "choose who can see the post" in errors[3]
    assert "this account cannot post to followers" in errors[4]
    assert "turned off stitches" in errors[5]
    assert "branded content cannot be private" in errors[6]
    assert "Music Usage Confirmation" in errors[7]
    assert "is not a privacy level" in errors[8]
    assert "is not an interaction" in errors[9]
    assert "absent.mp4" in errors[10]
    assert "yes or no" in errors[11]
    assert not Post.objects.exists()  # a wrong line: nothing saved


def test_tiktok_columns_on_a_line_without_tiktok_are_refused(team, channel, film) -> None:
    line = f"{day()} 09:30;{channel.name};A;Texte;;PUBLIC_TO_EVERYONE;;;yes\n"
    data = (HEADER + line).encode()
    report = exchange.import_plan(team.workspace, by=team["content"], data=data, dry_run=True)
    assert report.errors and report.errors[0][0] == 2
    assert "no TikTok channel" in report.errors[0][1]


def test_the_import_page_reports_the_tiktok_line(team, client_for, tiktok_channel, film) -> None:
    data = (HEADER + f"{day()} 10:00;TikTok Lumière;B;Texte;coulisses.mp4;;;;\n").encode()
    upload = SimpleUploadedFile("plan.csv", data, content_type="text/csv")
    type(team["content"].user).objects.filter(pk=team["content"].user.pk).update(language="en")
    response = client_for(team["content"]).post(
        reverse("plan_import", kwargs={"ws": "acme"}), {"file": upload, "dry_run": "1"}
    )
    html = response.content.decode().replace("&#x27;", "'")
    assert "TikTok Lumière is a TikTok channel" in html
    assert 'data-testid="import-tiktok-help"' in html
