"""The one notification path: notify() per member and preference, in the change's transaction,
once per key, written in the reader's language when read."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import translation

from portevoix.core.models import AuditEntry
from portevoix.notifications import actions, kinds
from portevoix.notifications.actions import NotInTransaction, notify
from portevoix.notifications.kinds import Delivery
from portevoix.notifications.models import EmailDelivery, Notification, NotificationPreference
from portevoix.publishing import notices

PARAMS = {
    "state": "rejected",
    "channel": "Insta",
    "network": "Sandbox",
    "excerpt": "Le sérum Velours arrive lundi",
    "problem": "Media type image/heic is not supported.",
    "scheduled_at": "2026-03-02T09:30:00+00:00",
}


def _notify(team, members, **kw):
    with transaction.atomic():
        return notify(team.workspace, notices.FAILED, members, params=PARAMS, url="/x/", **kw)


def test_by_default_a_failure_of_ones_own_post_goes_in_the_app_and_by_email(team) -> None:
    [made] = _notify(team, [team["content"]])
    assert made.in_app and made.recipient == team["content"]
    assert EmailDelivery.objects.filter(notification=made, state="queued").exists()
    assert actions.unread_count(team["content"]) == 1


@pytest.mark.parametrize(
    ("choice", "in_app", "email"),
    [
        (Delivery.APP, True, False),
        (Delivery.EMAIL, False, True),
        (Delivery.BOTH, True, True),
        (Delivery.NONE, None, False),
    ],
)
def test_each_member_is_told_as_they_prefer(team, choice, in_app, email) -> None:
    member = team["content"]
    NotificationPreference.objects.create(member=member, kind=notices.FAILED, delivery=choice)
    _notify(team, [member, team["manager"]])
    mine = Notification.objects.filter(recipient=member).first()
    assert (mine.in_app if mine else None) == in_app
    assert EmailDelivery.objects.filter(notification__recipient=member).exists() == email
    assert actions.unread_count(member) == (1 if in_app else 0)
    # Someone else's preference is not theirs: the manager gets the default (both).
    theirs = Notification.objects.get(recipient=team["manager"])
    assert theirs.in_app and EmailDelivery.objects.filter(notification=theirs).exists()


def test_a_key_tells_each_person_once(team) -> None:
    _notify(team, [team["content"]], key="publication:1:rejected:t")
    again = _notify(team, [team["content"], team["content"]], key="publication:1:rejected:t")
    assert again == []
    assert Notification.objects.count() == 1 and EmailDelivery.objects.count() == 1


def test_only_active_members_of_the_workspace_are_told(team) -> None:
    gone = team["creative"]
    gone.is_active = False
    gone.save()
    made = _notify(team, [gone, team.outsider, team["content"]])
    assert [n.recipient for n in made] == [team["content"]]


def test_notify_outside_a_transaction_is_a_programming_error(transactional_db) -> None:
    from tests.conftest import make_team

    team = make_team()
    with pytest.raises(NotInTransaction):
        notify(team.workspace, notices.FAILED, [team["content"]], params=PARAMS)
    assert not Notification.objects.exists()


def test_notify_belongs_to_the_changes_transaction(team) -> None:
    with pytest.raises(RuntimeError, match="rolled back"), transaction.atomic():
        notify(team.workspace, notices.FAILED, [team["content"]], params=PARAMS)
        raise RuntimeError("rolled back")
    assert not Notification.objects.exists() and not EmailDelivery.objects.exists()


def test_an_unknown_kind_is_a_programming_error(team) -> None:
    with pytest.raises(KeyError, match="register"), transaction.atomic():
        notify(team.workspace, "publication.teleported", [team["content"]])


def test_written_in_the_readers_language_when_read_nothing_translated_is_stored(team) -> None:
    [made] = _notify(team, [team["content"]])
    stored = str(made.params)
    with translation.override("en"):
        english = made.render()
    with translation.override("fr"):
        french = made.render()
    assert english.title == "Insta refused your post"
    assert french.title == "Insta a refusé votre publication"
    assert "Reason: Media type image/heic is not supported." in english.body
    assert "Raison\u00a0: Media type image/heic is not supported." in french.body
    assert "refused" not in stored and "refusé" not in stored


def test_a_kind_nobody_registers_any_more_still_shows(team) -> None:
    [made] = _notify(team, [team["content"]])
    Notification.objects.filter(pk=made.pk).update(kind="gone.kind")
    made.refresh_from_db()
    assert made.render().title == "gone.kind"


def test_mark_read_one_and_all_and_only_ones_own(team) -> None:
    member = team["content"]
    first, *_ = _notify(team, [member]) + _notify(team, [member]) + _notify(team, [member])
    actions.mark_read(first, by=member)
    assert actions.unread_count(member) == 2
    from django.http import Http404

    with pytest.raises(Http404):
        actions.mark_read(first, by=team["manager"])
    assert actions.mark_all_read(by=member) == 2
    assert actions.unread_count(member) == 0


def test_preferences_are_the_members_own_audited_and_checked(team) -> None:
    member = team["content"]
    actions.set_preferences(member, by=member, choices={notices.FAILED: "app"})
    assert NotificationPreference.objects.get(member=member).delivery == "app"
    entry = AuditEntry.objects.get(action="notification.preferences")
    assert entry.before == {notices.FAILED: "both"} and entry.after == {notices.FAILED: "app"}
    from django.http import Http404

    from portevoix.core.actions import ActionRefused

    with pytest.raises(Http404):
        actions.set_preferences(member, by=team["admin"], choices={notices.FAILED: "none"})
    with pytest.raises(ActionRefused):
        actions.set_preferences(member, by=member, choices={notices.FAILED: "carrier pigeon"})
    # A kind for channel managers is not offered to a content marketer.
    with pytest.raises(ActionRefused):
        actions.set_preferences(member, by=member, choices={notices.CHANNEL_RECONNECT: "app"})


def test_registering_a_different_kind_under_a_taken_code_is_refused() -> None:
    existing = kinds.get(notices.FAILED)
    with pytest.raises(ValueError, match="already registered"):
        kinds.register(
            kinds.Kind(
                code=existing.code,
                label=existing.label,
                help=existing.help,
                title=lambda params: "other",
                template=existing.template,
            )
        )
    assert kinds.register(existing) is existing  # the same one again is harmless


def test_a_stored_sentence_is_rendered_in_the_readers_language(team) -> None:
    """A row's problem is stored as a sentence (core.sentences): the notification keeps it as
    stored, and each reader reads it in their language."""
    from django.utils.translation import gettext_noop

    from portevoix.core.sentences import Sentence

    problem = Sentence(
        gettext_noop("The channel %(name)s is disconnected."), {"name": "Insta"}
    ).dumps()
    with transaction.atomic():
        [made] = notify(
            team.workspace, notices.FAILED, [team["content"]], params={**PARAMS, "problem": problem}
        )
    assert made.params["problem"] == problem
    with translation.override("en"):
        assert "Reason: The channel Insta is disconnected." in made.render().body
    with translation.override("fr"):
        assert "Raison\u00a0: Le canal Insta est déconnecté." in made.render().body


# -- batched: many notify() calls written together (the inbox's pages) -------------------------


def test_batched_writes_at_the_end_each_as_they_prefer_each_key_once(team) -> None:
    NotificationPreference.objects.create(
        member=team["manager"], kind=notices.FAILED, delivery=Delivery.NONE
    )
    NotificationPreference.objects.create(
        member=team["content"], kind=notices.FAILED, delivery=Delivery.APP
    )
    with transaction.atomic():
        notify(team.workspace, notices.FAILED, [team["admin"]], params=PARAMS, key="k:old")
        with actions.batched():
            for n in range(5):
                told = notify(
                    team.workspace,
                    notices.FAILED,
                    [team["admin"], team["manager"], team["content"], team.outsider],
                    params={**PARAMS, "channel": f"c{n}"},
                    key=f"k:{n % 3}",  # k:0, k:1, k:2, k:0, k:1: three distinct keys
                )
                assert told == []
            notify(team.workspace, notices.FAILED, [team["admin"]], params=PARAMS, key="k:old")
            assert Notification.objects.count() == 1  # nothing written before the end
    rows = Notification.objects.order_by("pk")
    # The admin and the content marketer, once per key; the manager chose none; the outsider
    # belongs elsewhere; "k:old" was told before the batch.
    assert sorted((n.recipient.role, n.key) for n in rows) == sorted(
        [("admin", "k:old")] + [(role, f"k:{k}") for role in ("admin", "content") for k in range(3)]
    )
    assert [n.params["channel"] for n in rows.filter(recipient=team["admin"], key="k:0")] == ["c0"]
    # E-mails as preferred: the admin by default (both), the content marketer not (app only).
    assert set(EmailDelivery.objects.values_list("notification__recipient__role", flat=True)) == {
        "admin"
    }
    assert EmailDelivery.objects.count() == 4


def test_batched_costs_a_few_statements_whatever_the_number(team, django_assert_max_num_queries):
    people = [team["admin"], team["manager"], team["content"], team["creative"]]
    with transaction.atomic(), django_assert_max_num_queries(6), actions.batched():
        for n in range(20):
            notify(team.workspace, notices.FAILED, people, params=PARAMS, key=f"p:{n}")
    assert Notification.objects.count() == 80
    assert EmailDelivery.objects.count() == 80


def test_a_batch_that_raises_writes_nothing(team) -> None:
    with pytest.raises(RuntimeError), transaction.atomic(), actions.batched():
        notify(team.workspace, notices.FAILED, [team["admin"]], params=PARAMS)
        raise RuntimeError("the change failed")
    assert Notification.objects.count() == 0


def test_a_nested_batch_is_written_by_the_outer_one(team) -> None:
    with transaction.atomic(), actions.batched():
        with actions.batched():
            notify(team.workspace, notices.FAILED, [team["admin"]], params=PARAMS)
        assert Notification.objects.count() == 0
    assert Notification.objects.count() == 1


def test_without_returning_inserts_each_row_is_written_alone(team, monkeypatch) -> None:
    from django.db import connection

    monkeypatch.setattr(connection.features, "can_return_rows_from_bulk_insert", False)
    made = _notify(team, [team["admin"], team["content"]], key="alone")
    assert {n.recipient for n in made} == {team["admin"], team["content"]}
    assert all(n.pk for n in made) and EmailDelivery.objects.count() == 2
