"""The bell, the list and the preferences page: each member sees and changes only their own."""

from __future__ import annotations

from django.db import transaction
from django.test import Client

from portevoix.core.models import AuditEntry
from portevoix.notifications.actions import notify
from portevoix.notifications.kinds import all_kinds
from portevoix.notifications.models import Notification, NotificationPreference
from portevoix.publishing import notices
from portevoix.publishing.approvals import notices as editorial

PARAMS = {"state": "failed", "channel": "Insta", "excerpt": "Bonjour", "problem": "Down (503)."}
LIST = "/w/acme/notifications/"


def _tell(team, member, url="/w/acme/attention/#publication-7") -> Notification:
    with transaction.atomic():
        [made] = notify(team.workspace, notices.FAILED, [member], params=PARAMS, url=url)
    return made


def test_the_bell_counts_ones_own_unread_and_polls_outside_the_workspace_urls(
    team, client_for
) -> None:
    _tell(team, team["content"])
    _tell(team, team["content"])
    _tell(team, team["manager"])
    page = client_for(team["content"]).get("/w/acme/").content.decode()
    assert 'id="bell"' in page and 'data-unread="2"' in page
    assert 'hx-get="/notifications/bell/acme/"' in page and 'hx-trigger="every 30s"' in page
    poll = client_for(team["content"]).get("/notifications/bell/acme/")
    assert poll.status_code == 200 and 'data-unread="2"' in poll.content.decode()
    assert poll["Cache-Control"] == "no-store"
    # A session that ended, or someone else's workspace: polling stops (htmx's 286), no login
    # page pasted into the top bar, nothing told.
    for client in (Client(), client_for(team.outsider)):
        stopped = client.get("/notifications/bell/acme/")
        assert stopped.status_code == 286 and stopped.content == b""


def test_the_list_shows_only_ones_own_in_the_readers_language(team, client_for) -> None:
    _tell(team, team["content"])
    _tell(team, team["manager"])
    member = team["content"]
    client = client_for(member)
    member.user.language = "en"  # once logged in, the account decides the language
    member.user.save()
    html = client.get(LIST).content.decode()
    assert html.count('class="card notice-item') == 1
    assert "Your post could not be published on Insta" in html and "Down (503)." in html
    member.user.language = "fr"
    member.user.save()
    html = client.get(LIST).content.decode()
    assert "Votre publication n’a pas pu être publiée sur Insta" in html
    assert client_for(team.outsider).get(LIST).status_code == 404


def test_e_mail_only_notifications_stay_out_of_the_list(team, client_for) -> None:
    NotificationPreference.objects.create(
        member=team["content"], kind=notices.FAILED, delivery="email"
    )
    _tell(team, team["content"])
    html = client_for(team["content"]).get(LIST).content.decode()
    assert "notice-item" not in html and 'data-unread="0"' in html


def test_open_marks_read_and_goes_where_it_leads(team, client_for) -> None:
    made = _tell(team, team["content"])
    client = client_for(team["content"])
    response = client.post(f"{LIST}{made.pk}/open/")
    assert response.status_code == 302 and response["Location"].endswith("#publication-7")
    made.refresh_from_db()
    assert made.read_at is not None
    assert client.get(f"{LIST}{made.pk}/open/").status_code == 405


def test_a_link_elsewhere_is_not_followed(team, client_for) -> None:
    made = _tell(team, team["content"], url="https://evil.example/")
    response = client_for(team["content"]).post(f"{LIST}{made.pk}/open/")
    assert response["Location"] == LIST


def test_someone_elses_notification_is_not_found(team, client_for) -> None:
    theirs = _tell(team, team["manager"])
    client = client_for(team["content"])
    for action in ("open", "read"):
        assert client.post(f"{LIST}{theirs.pk}/{action}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_read_one_then_all(team, client_for) -> None:
    first = _tell(team, team["content"])
    _tell(team, team["content"])
    client = client_for(team["content"])
    response = client.post(f"{LIST}{first.pk}/read/", {"next": f"{LIST}?show=unread"})
    assert response["Location"] == f"{LIST}?show=unread"
    assert Notification.objects.filter(read_at__isnull=True).count() == 1
    client.post(f"{LIST}read-all/")
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_preferences_offer_what_concerns_the_role_and_keep_what_was_chosen(
    team, client_for
) -> None:
    url = "/w/acme/notifications/preferences/"
    content = client_for(team["content"]).get(url).content.decode()
    manager = client_for(team["manager"]).get(url).content.decode()
    assert f'name="{notices.FAILED}"' in content and f'name="{notices.FAILED}"' in manager
    assert f'name="{notices.CHANNEL_RECONNECT}"' not in content
    assert f'name="{notices.CHANNEL_RECONNECT}"' in manager
    choices = dict.fromkeys((notices.FAILED, notices.HELD), "both")
    bad = client_for(team["content"]).post(url, {**choices, notices.NEEDS_CHECK: "pigeon"})
    assert bad.status_code == 400 and not NotificationPreference.objects.exists()
    # The page sends every kind it shows: the other features' kinds keep their default.
    others = {
        kind.code: kind.default.value
        for kind in all_kinds()
        if kind.offered_to(team["content"]) and not kind.code.startswith("publication.")
    }
    done = client_for(team["content"]).post(
        url,
        {
            **others,
            notices.FAILED: "email",
            notices.HELD: "both",
            notices.WAITING_RECONNECT: "app",
            notices.NEEDS_CHECK: "none",
            notices.TEAM: "app",
            # Approvals and pauses (publishing.approvals.notices), at their defaults.
            **{kind.code: kind.default.value for kind in editorial.KINDS},
        },
    )
    assert done.status_code == 302
    chosen = dict(
        NotificationPreference.objects.filter(member=team["content"]).values_list(
            "kind", "delivery"
        )
    )
    assert chosen[notices.FAILED] == "email" and chosen[notices.NEEDS_CHECK] == "none"
    entry = AuditEntry.objects.get(action="notification.preferences")
    assert entry.after == {
        notices.FAILED: "email",
        notices.WAITING_RECONNECT: "app",
        notices.NEEDS_CHECK: "none",
    }
    page = client_for(team["content"]).get(url).content.decode()
    assert '<option value="email" selected>' in page
    assert client_for(team.outsider).get(url).status_code == 404


def test_the_profile_links_to_each_workspaces_preferences(team, client_for) -> None:
    html = client_for(team["content"]).get("/profile/").content.decode()
    assert 'href="/w/acme/notifications/preferences/"' in html
