"""The journal network modules write their steps to, kept with the channel."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from portevoix.channels import actions
from portevoix.channels.models import ChannelJournal, PublishJournal, purge_publish_journal
from portevoix.sandbox import service


def make_channel(team):
    account = service.create_account("acme-journal", workspace=team.workspace)
    return actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name="Journal",
    )


def test_entries_are_per_channel_and_replaced(team) -> None:
    channel = make_channel(team)
    journal = ChannelJournal(channel.pk)
    assert journal.get("k") is None
    journal.put("k", {"container": "c1", "state": "container"})
    journal.put("k", {"container": "c1", "state": "publishing"})
    assert ChannelJournal(channel.pk).get("k") == {"container": "c1", "state": "publishing"}
    assert PublishJournal.objects.count() == 1
    assert ChannelJournal(channel.pk + 1000).get("k") is None


def test_facebook_and_instagram_clients_get_the_channel_journal(team) -> None:
    from portevoix.channels.models import Channel
    from portevoix.networks.types import Credentials

    for network in ("facebook", "instagram"):
        channel = Channel(
            workspace=team.workspace, network=network, name=network, account_id="1", handle="h"
        )
        channel.set_credentials(
            Credentials({"page_id": "1", "ig_user_id": "1", "page_access_token": "t"})
        )
        channel.save()
        client = channel.client(verify=False)  # binds without calling the network
        assert isinstance(client.journal, ChannelJournal)
        client.journal.put("x", {"a": "b"})
        assert PublishJournal.objects.get(channel=channel, key="x").values == {"a": "b"}
    # A network without a journal is built as before.
    sandbox = make_channel(team).client(verify=False)
    assert not isinstance(sandbox.journal, ChannelJournal)


def test_old_entries_are_purged(team) -> None:
    channel = make_channel(team)
    journal = ChannelJournal(channel.pk)
    journal.put("old", {"state": "done"})
    journal.put("new", {"state": "done"})
    PublishJournal.objects.filter(key="old").update(
        updated_at=timezone.now() - dt.timedelta(days=91)
    )
    assert purge_publish_journal(None) == "1 publish journal entry deleted"
    assert list(PublishJournal.objects.values_list("key", flat=True)) == ["new"]
