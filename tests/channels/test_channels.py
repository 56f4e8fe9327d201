"""Channels end to end on the sandbox network: connect, health, publish exactly once."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from portevoix.channels import actions, crypto
from portevoix.channels.models import Channel, ChannelStates
from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry
from portevoix.core.sentences import render
from portevoix.publishing import actions as publishing
from portevoix.publishing.models import Publication, PublicationStates
from portevoix.sandbox import service
from portevoix.sandbox.models import SandboxPost
from portevoix.worker import runner
from tests.conftest import ALL_ROLES

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(team):
    return service.create_account("acme-insta", display_name="Acme Insta", workspace=team.workspace)


@pytest.fixture
def channel(team, account):
    return actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        owner_department=team.department("marketing"),
    )


def run_publications() -> None:
    for _ in range(5):
        if not runner.run_once([Publication]):
            return


def received(account) -> int:
    return SandboxPost.objects.filter(account=account).count()


def test_connect_stores_encrypted_credentials_and_audits_without_secrets(team, account, channel):
    assert channel.state == ChannelStates.active.name and channel.health == "ok"
    assert account.token not in channel.credentials_encrypted
    assert channel.get_credentials().get("token") == account.token
    entry = AuditEntry.objects.get(action="channel.connect")
    assert account.token not in str(entry.after)
    assert entry.after["name"].startswith("Acme Insta")


def test_wrong_credentials_are_refused_and_nothing_is_saved(team, account):
    with pytest.raises(ActionRefused) as refused:
        actions.connect_channel(
            team.workspace,
            by=team["admin"],
            network="sandbox",
            credentials={"handle": account.handle, "token": "sbx_wrong"},
        )
    assert refused.value.code == "network" and "Sandbox" in refused.value.message
    with pytest.raises(ActionRefused) as missing:
        actions.connect_channel(team.workspace, by=team["admin"], network="sandbox", credentials={})
    assert missing.value.field == "handle"
    with pytest.raises(ActionRefused):
        actions.connect_channel(
            team.workspace, by=team["admin"], network="myspace", credentials={"a": "b"}
        )
    assert not Channel.objects.exists()


def test_the_same_account_twice_is_refused(team, account, channel):
    with pytest.raises(ActionRefused) as dup:
        actions.connect_channel(
            team.workspace,
            by=team["admin"],
            network="sandbox",
            credentials=service.credentials_for(account),
        )
    assert dup.value.code == "duplicate"


@pytest.mark.parametrize("role", ALL_ROLES)
def test_channel_pages_follow_the_matrix(team, client_for, channel, role):
    client = client_for(team[role])
    ws = team.workspace.slug
    listing = client.get(reverse("channel_list", kwargs={"ws": ws}))
    from portevoix.core.permissions import MATRIX

    assert listing.status_code == (200 if "channel.view" in MATRIX[role] else 403)
    connect = client.get(reverse("channel_connect", kwargs={"ws": ws, "network": "sandbox"}))
    assert connect.status_code == (200 if "channel.manage" in MATRIX[role] else 403)
    response = client.post(
        reverse("channel_detail", kwargs={"ws": ws, "pk": channel.pk}), {"disconnect": "1"}
    )
    channel.refresh_from_db()
    assert (channel.state == "disconnected") == ("channel.manage" in MATRIX[role]), response


def test_outsider_cannot_see_or_touch_a_channel(team, client_for, channel):
    client = client_for(team.outsider)
    other = team.outsider.workspace.slug
    assert (
        client.get(reverse("channel_detail", kwargs={"ws": other, "pk": channel.pk})).status_code
        == 404
    )
    assert (
        client.post(reverse("channel_check", kwargs={"ws": other, "pk": channel.pk})).status_code
        == 404
    )


def test_connect_a_sandbox_account_from_the_browser_form(team, client_for):
    client = client_for(team["manager"])
    url = reverse("channel_connect", kwargs={"ws": "acme", "network": "sandbox"})
    response = client.post(
        url,
        {
            "cred-handle": "acme-pro",
            "cred-flavour": "pro",
            "channel-name": "LinkedIn (sandbox)",
            "channel-strategy_level": "proactive",
            "channel-owner_department": team.department("communication").pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    channel = Channel.objects.get(name="LinkedIn (sandbox)")
    assert (
        channel.strategy_level == "proactive" and channel.owner_department.code == "communication"
    )
    page = client.get(response["Location"]).content.decode()
    assert channel.get_credentials().get("token") not in page
    assert "sandbox" in page.lower()


def test_bad_form_keeps_what_was_typed(team, client_for):
    client = client_for(team["admin"])
    url = reverse("channel_connect", kwargs={"ws": "acme", "network": "sandbox"})
    response = client.post(
        url,
        {
            "cred-handle": "not a slug!",
            "cred-flavour": "photo",
            "channel-name": "Mon canal",
            "channel-strategy_level": "active",
        },
    )
    assert response.status_code == 400
    assert 'value="Mon canal"' in response.content.decode()
    assert not Channel.objects.exists()


def test_publish_now_reaches_the_network_exactly_once(team, account, channel):
    post = publishing.schedule_post(
        team.workspace, by=team["content"], text="Bonjour 🌸", channels=[channel]
    )
    run_publications()
    publication = Publication.objects.get(post=post)
    assert publication.state == "published" and publication.network_post_id
    run_publications()
    assert received(account) == 1


def test_timeout_after_accept_is_reconciled_not_sent_again(team, account, channel):
    service.inject_faults(account, "timeout_after_accept")
    post = publishing.schedule_post(
        team.workspace, by=team["content"], text="Soldes !", channels=[channel]
    )
    runner.run_once([Publication])
    publication = Publication.objects.get(post=post)
    assert publication.state == PublicationStates.outcome_unknown.name
    assert received(account) == 1  # the network did get it
    # Reconcile waits until the lost call can no longer land (its timeout and a margin).
    assert publication.next_attempt_at >= publication.sending_at + dt.timedelta(seconds=10)
    Publication.objects.filter(pk=publication.pk).update(next_attempt_at=timezone.now())
    runner.run_once([Publication])
    publication.refresh_from_db()
    assert publication.state == "outcome_unknown"  # not yet settled: nothing asked, nothing sent
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=16)):
        runner.run_once([Publication])
    publication.refresh_from_db()
    assert publication.state == "published"
    assert publication.network_post_id == SandboxPost.objects.get(account=account).network_id
    assert received(account) == 1


def test_rate_limit_waits_for_the_reset(team, account, channel):
    service.inject_faults(account, "rate_limited")
    post = publishing.schedule_post(
        team.workspace, by=team["content"], text="Hello", channels=[channel]
    )
    runner.run_once([Publication])
    publication = Publication.objects.get(post=post)
    assert publication.state == "scheduled" and publication.next_attempt_at > timezone.now()
    assert received(account) == 0


def test_expired_token_waits_for_reconnection_then_goes_out(team, account, channel):
    service.expire_token(account)
    post = publishing.schedule_post(
        team.workspace, by=team["content"], text="Nouveau", channels=[channel]
    )
    runner.run_once([Publication])
    publication = Publication.objects.get(post=post)
    channel.refresh_from_db()
    assert publication.state == "waiting_reconnect"
    assert channel.state == "needs_reconnect" and channel.health == "expired"
    service.rotate_token(account)
    account.refresh_from_db()
    same = actions.reconnect_channel(
        channel, by=team["admin"], credentials=service.credentials_for(account)
    )
    assert same.pk == channel.pk and same.state == "active"
    run_publications()
    publication.refresh_from_db()
    assert publication.state == "published" and received(account) == 1


def test_reconnect_with_another_account_is_refused(team, channel):
    other = service.create_account("someone-else", workspace=team.workspace)
    with pytest.raises(ActionRefused) as refused:
        actions.reconnect_channel(
            channel, by=team["admin"], credentials=service.credentials_for(other)
        )
    assert refused.value.code == "wrong_account"


def test_compose_errors_save_nothing(team, channel):
    with pytest.raises(ActionRefused, match="3000"):
        publishing.schedule_post(
            team.workspace, by=team["content"], text="x" * 3001, channels=[channel]
        )
    with pytest.raises(ActionRefused):
        publishing.schedule_post(
            team.workspace,
            by=team["content"],
            text="x",
            channels=[channel],
            at=timezone.now() - dt.timedelta(hours=1),
        )
    with pytest.raises(PermissionDenied):
        publishing.schedule_post(team.workspace, by=team["viewer"], text="x", channels=[channel])
    from portevoix.publishing.models import Post

    assert not Post.objects.exists()


def test_a_post_later_than_the_workspace_allows_is_held(team, account, channel):
    post = publishing.schedule_post(
        team.workspace, by=team["content"], text="Flash sale", channels=[channel]
    )
    Publication.objects.filter(post=post).update(
        scheduled_at=timezone.now() - dt.timedelta(hours=7)
    )
    runner.run_once([Publication])
    publication = Publication.objects.get(post=post)
    assert publication.state == "held" and "7.0" in render(publication.problem)
    assert received(account) == 0


def test_worker_health_check_notices_an_expired_token(team, account, channel):
    service.expire_token(account)
    Channel.objects.filter(pk=channel.pk).update(next_attempt_at=timezone.now())
    runner.run_once([Channel])
    channel.refresh_from_db()
    assert channel.state == "needs_reconnect" and channel.problem


def test_disconnect_forgets_credentials_keeps_history(team, account, channel):
    post = publishing.schedule_post(
        team.workspace, by=team["content"], text="Avant", channels=[channel]
    )
    run_publications()
    actions.disconnect_channel(channel, by=team["admin"])
    channel.refresh_from_db()
    assert channel.get_credentials().as_dict() == {}
    assert channel.publications.get(post=post).state == "published"
    again = actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
    )
    assert again.pk == channel.pk and again.state == "active"


def test_rotate_keys(settings, team, account, channel):
    old = list(settings.PORTEVOIX_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.PORTEVOIX_ENCRYPTION_KEYS = (new_key, *old)
    assert actions.rotate_keys() == {"channels.Channel": 1}
    settings.PORTEVOIX_ENCRYPTION_KEYS = (new_key,)
    channel.refresh_from_db()
    assert channel.get_credentials().get("token") == account.token
    settings.PORTEVOIX_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)
    with pytest.raises(crypto.SecretUnreadable):
        channel.get_credentials()


def test_tokens_never_reach_the_logs(team, account, caplog):
    caplog.set_level(logging.DEBUG)
    channel = actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
    )
    service.inject_faults(account, "server_error", "timeout_after_accept")
    publishing.schedule_post(
        team.workspace, by=team["content"], text="log test", channels=[channel]
    )
    for _ in range(3):
        Publication.objects.update(next_attempt_at=timezone.now())
        run_publications()
    run_publications()
    service.configure_faults(account, writes_only=False)
    service.inject_faults(account, "unavailable")
    Channel.objects.filter(pk=channel.pk).update(next_attempt_at=timezone.now())
    runner.run_once([Channel])  # the health check fails, the worker logs and retries
    service.expire_token(account)
    actions.check_channel(channel)
    assert any("retry" in r.getMessage() for r in caplog.records)  # the worker did log
    assert account.token not in caplog.text


def test_publish_from_the_browser(team, client_for, account, channel):
    client = client_for(team["content"])
    url = reverse("channel_quick_post", kwargs={"ws": "acme", "pk": channel.pk})
    assert client.get(url).status_code == 200
    response = client.post(url, {"text": "x" * 3001})
    assert response.status_code == 400 and "3000" in response.content.decode()
    year = timezone.now().year + 1
    response = client.post(url, {"text": "Depuis le navigateur", "at": f"{year}-06-29T09:30"})
    assert response.status_code == 302
    publication = Publication.objects.get()
    # A wall-clock time in the workspace's zone (Paris, summer time on that date).
    assert publication.scheduled_at.isoformat() == f"{year}-06-29T07:30:00+00:00"
    assert publication.state == "scheduled"
    assert client_for(team["viewer"]).post(url, {"text": "non"}).status_code == 403
    assert client_for(team.outsider).get(url).status_code == 404
    # A creative content marketer submits for approval: nothing goes out (issue 9 §0).
    response = client_for(team["creative"]).post(url, {"text": "Maintenant"})
    run_publications()
    assert received(account) == 0
    assert Publication.objects.get(post__text="Maintenant").state == "pending_approval"
    # A content marketer publishes directly.
    client_for(team["content"]).post(url, {"text": "Tout de suite"})
    run_publications()
    assert received(account) == 1


def test_a_quick_post_by_someone_who_needs_approval_waits_for_it(
    team, client_for, account, channel
):
    """The quick post goes through submit_post like the composer: a creative's post waits."""
    url = reverse("channel_quick_post", kwargs={"ws": "acme", "pk": channel.pk})
    response = client_for(team["creative"]).post(url, {"text": "Par la créa"})
    assert response.status_code == 302
    run_publications()
    assert Publication.objects.get().state == "pending_approval"
    assert received(account) == 0


def test_reconnect_a_sandbox_channel_from_its_page(team, client_for, account, channel):
    service.expire_token(account)
    actions.check_channel(channel)
    channel.refresh_from_db()
    assert channel.health == "expired"
    url = reverse("channel_detail", kwargs={"ws": "acme", "pk": channel.pk})
    response = client_for(team["manager"]).post(url, {"reconnect": "1"})
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.health == "ok" and channel.state == "active"
    from portevoix.sandbox.models import SandboxAccount

    SandboxAccount.objects.filter(pk=account.pk).delete()
    response = client_for(team["manager"]).post(url, {"reconnect": "1"}, follow=True)
    assert (
        "no longer exists" in response.content.decode()
        or "n’existe plus" in response.content.decode()
    )


def test_the_connect_pages_never_build_a_network_to_show_it(team, client_for, monkeypatch):
    """Templates read a network class's attributes; calling the class would build a client
    (an SSL context each, about 50 ms), which made the list of networks take seconds."""
    from portevoix.networks import registry
    from portevoix.networks.base import Network

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"{type(self).__name__} built to render a page")

    monkeypatch.setattr(Network, "__init__", refuse)
    client = client_for(team["admin"])
    page = client.get(reverse("channel_connect_choose", kwargs={"ws": "acme"}))
    assert page.status_code == 200
    for cls in registry.all_networks():
        assert f'data-network="{cls.name}"' in page.content.decode()
        response = client.get(
            reverse("channel_connect", kwargs={"ws": "acme", "network": cls.name})
        )
        assert response.status_code == 200, cls.name
