"""Once logged in, the account decides the language (and time zone), not the browser; the
main navigation has the channels."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portevoix.core.permissions import can
from tests.conftest import ALL_ROLES


def _lang(html: str) -> str:
    import re

    found = re.search(r'<html lang="([a-z-]+)">', html)
    assert found is not None
    return found.group(1)


def test_an_english_browser_gets_the_workspaces_language_once_logged_in(team, client_for):
    member = team["content"]
    assert member.user.language == "" and team.workspace.language == "fr"
    client = client_for(None)
    login_page = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert _lang(login_page.content.decode()) == "en"  # before login: the browser decides
    client = client_for(member)
    for url in (
        reverse("workspace_home", kwargs={"ws": "acme"}),
        reverse("profile"),  # outside a workspace: the last (here the only) workspace's
        reverse("mfa_index"),
    ):
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
        assert _lang(html) == "fr", url


def test_a_language_cookie_does_not_override_the_account(team, client_for):
    member = team["content"]
    client = client_for(member)
    client.cookies["django_language"] = "en"
    html = client.get(reverse("team", kwargs={"ws": "acme"})).content.decode()
    assert _lang(html) == "fr"
    member.user.language = "en"
    member.user.save(update_fields=["language"])
    client.cookies["django_language"] = "fr"
    html = client.get(reverse("team", kwargs={"ws": "acme"}), HTTP_ACCEPT_LANGUAGE="fr").content
    assert _lang(html.decode()) == "en"


def test_the_page_follows_the_language_of_its_workspace(team, client_for):
    """Someone in two workspaces, with "workspace default": each page in its workspace's."""
    from portevoix.core import actions
    from portevoix.core.models import Member

    english = actions.create_workspace(
        name="Harbour", slug="harbour", creator=team["content"].user, language="en"
    )
    assert Member.objects.filter(workspace=english, user=team["content"].user).exists()
    client = client_for(team["content"])
    fr_page = client.get(reverse("team", kwargs={"ws": "acme"}), HTTP_ACCEPT_LANGUAGE="en")
    en_page = client.get(reverse("workspace_home", kwargs={"ws": "harbour"}))
    assert _lang(fr_page.content.decode()) == "fr"
    assert _lang(en_page.content.decode()) == "en"
    # A page outside any workspace follows the last workspace worked in.
    assert _lang(client.get(reverse("profile")).content.decode()) == "en"


def test_the_time_zone_follows_the_workspace_when_the_profile_leaves_it(team, rf):
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpResponse
    from django.utils import timezone, translation

    from portevoix.core.middleware import ActiveMemberMiddleware

    team.workspace.time_zone = "America/Montreal"
    team.workspace.save(update_fields=["time_zone"])
    seen = {}

    def view(request):
        seen["zone"] = timezone.get_current_timezone_name()
        seen["language"] = translation.get_language()
        return HttpResponse()

    user = team["content"].user
    request = rf.get("/profile/", HTTP_ACCEPT_LANGUAGE="en")
    request.user = user
    request.session = SessionStore()
    try:
        ActiveMemberMiddleware(view)(request)
        assert seen == {"zone": "America/Montreal", "language": "fr"}
        user.time_zone, user.language = "Asia/Tokyo", "en"
        ActiveMemberMiddleware(view)(request)
        assert seen == {"zone": "Asia/Tokyo", "language": "en"}
    finally:
        timezone.deactivate()
        translation.deactivate()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_channels_are_in_the_main_navigation_for_who_may_see_them(team, client_for, role):
    member = team[role]
    html = client_for(member).get(reverse("team", kwargs={"ws": "acme"})).content.decode()
    href = reverse("channel_list", kwargs={"ws": "acme"})
    shown = f'href="{href}" class="nav-channels"' in html
    assert shown == can(member, "channel.view"), role


def test_the_channels_entry_is_current_on_channel_pages(team, client_for):
    client = client_for(team["admin"])
    html = client.get(reverse("channel_list", kwargs={"ws": "acme"})).content.decode()
    assert 'class="nav-channels" aria-current="page"' in html
    assert 'class="nav-settings" aria-current="page"' not in html
