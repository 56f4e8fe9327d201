"""A data-protection request answered: export and erasure of one person's data, by whom, and
the retention periods applied every day (docs/privacy.md)."""

from __future__ import annotations

import datetime as dt
import io
import json
import sys

import pytest
from django.urls import reverse
from django.utils import timezone

from portevoix import cli
from portevoix.care import actions as care_actions
from portevoix.care.models import VipAuthor
from portevoix.core.models import AuditEntry
from portevoix.core.permissions import can
from portevoix.inbox import actions as inbox_actions
from portevoix.inbox.ingest import ingest
from portevoix.inbox.models import Conversation, ConversationState, Customer, InboundMessage
from portevoix.listening import actions as listening_actions
from portevoix.listening import pipeline, sources
from portevoix.listening.models import Mention
from portevoix.networks.types import InboundKind
from portevoix.notifications.models import Notification
from portevoix.privacy import actions
from portevoix.privacy.models import RetentionPolicy
from portevoix.publishing.models import Post
from portevoix.triage import actions as triage_actions
from portevoix.triage.models import TriageCorrection
from portevoix.worker.models import Housekeeping
from tests.conftest import ALL_ROLES, signed_in
from tests.inbox.conftest import ORDER_FR, make_item

pytestmark = pytest.mark.django_db


def _hear(team, handle: str, key: str, text: str, days_ago: float = 0) -> Mention | None:
    """Listening hears a public post of ``handle``; the mention stored, if it was."""
    if not team.workspace.listening_queries.exists():
        listening_actions.create_query(
            team.workspace, by=team["admin"], name="Marque", kind="brand", text="acme"
        )
    pipeline.ingest(
        sources.sandbox_source(),
        [
            pipeline.PublicPost(
                external_id=key,
                network="sandbox",
                text=text,
                posted_at=timezone.now() - dt.timedelta(days=days_ago, hours=1),
                author_handle=handle,
                author_reach=300,
                language="fr",
            )
        ],
    )
    return Mention.objects.filter(workspace=team.workspace, external_id=key).first()


@pytest.fixture
def marc(team, channel, conversations):
    """Marc: a private order complaint (answered in private, with a note and a hand-off
    notification), a reply under Léa's public question, a public post heard by listening, a
    place on the VIP list and a triage correction on his words."""
    order = conversations["order"]
    ingest(
        channel,
        [
            make_item(
                "o2",
                "Toujours rien pour la 4521.",
                author="marc",
                minutes=5,
                kind=InboundKind.DM,
                thread="dm-marc",
            ),
            make_item(
                "p2", "Pareil pour moi, c'est trop cher", author="marc", reply_to="p1", minutes=6
            ),
        ],
    )
    inbox_actions.add_note(order, by=team["content"], text="Marc habite 12 rue des Lilas.")
    inbox_actions.reply(order, by=team["content"], text="Marc, votre colis part demain.")
    inbox_actions.hand_off(order, by=team["content"], department=team.department("sales"))
    from portevoix.api import actions as api_actions
    from portevoix.api.models import CrmInboundEvent

    crm, _secret = api_actions.create_integration(
        team.workspace, by=team["admin"], name="Notre CRM", kind="email", email="crm@acme.test"
    )
    record = api_actions.hand_to_crm(order, by=team["content"], integration=crm)
    CrmInboundEvent.objects.create(
        integration=crm, message_id="evt-1", record=record, payload={"name": "Marc Martin"}
    )
    _hear(team, "marc", "m-marc", "Acme a encore oublié ma commande")
    _hear(team, "clara", "m-clara", "Acme, super service")
    care_actions.add_vip(team.workspace, by=team["admin"], handle="@Marc", network="sandbox")
    message = InboundMessage.objects.get(message_id="o1")
    triage_actions.record_correction(
        team.workspace,
        text=message.text,
        field="sentiment",
        predicted="neutral",
        corrected="negative",
        by=team["content"],
        source_ref=message.message_id,
    )
    return order


def test_what_is_held_about_a_person_is_counted_without_touching_anyone_else(team, marc):
    counts = actions.holdings(team.workspace, "sandbox", "@MARC").counts()
    assert counts == {
        "customers": 1,
        "conversations": 1,
        "messages": 3,  # two in his own conversation, one under Léa's question
        "others_messages": 0,
        "mentions": 1,
        "vip": 1,
        "corrections": 1,
        "crm_records": 1,
    }
    lea = actions.holdings(team.workspace, "sandbox", "lea").counts()
    assert lea["messages"] == 1 and lea["others_messages"] == 1  # Marc's reply in her thread
    assert actions.holdings(team.workspace, "bluesky", "marc").counts()["messages"] == 0


def test_the_export_holds_everything_about_them_and_the_audit_log_not_their_name(team, marc):
    document = actions.export_person(
        team.workspace, "sandbox", "marc", by=team["manager"], reference="DPO-7"
    )
    assert document["handle"] == "marc" and document["network"] == "sandbox"
    [conversation] = document["conversations"]
    texts = [m["text"] for m in conversation["their_messages"]]
    assert texts == [
        InboundMessage.objects.get(message_id="o1").text,
        "Toujours rien pour la 4521.",
    ]
    assert [r["text"] for r in conversation["our_replies"]] == ["Marc, votre colis part demain."]
    assert [n["text"] for n in conversation["team_notes"]] == ["Marc habite 12 rue des Lilas."]
    assert conversation["handed_to"][0]["department"] == team.department("sales").name
    assert [m["text"] for m in document["messages_elsewhere"]] == [
        "Pareil pour moi, c'est trop cher"
    ]
    assert [m["text"] for m in document["public_posts_heard_by_listening"]] == [
        "Acme a encore oublié ma commande"
    ]
    assert [r["integration"] for r in document["handed_to_crm"]] == ["Notre CRM"]
    flat = json.dumps(document)
    assert "super service" not in flat and "prix du coffret" not in flat  # not theirs
    entry = AuditEntry.objects.get(action="privacy.export")
    assert entry.after["reference"] == "DPO-7"
    assert entry.after["person"] == actions.fingerprint("sandbox", "Marc")
    assert "marc" not in json.dumps(entry.after).lower().replace(entry.after["person"], "")
    # The log reads in the reader's language: « customers 1 · others_messages 2 » was not.
    from django.utils import translation

    from portevoix.core import audit

    with translation.override("fr"):
        rows = {label: after for label, _before, after in audit.changes(entry)}
    assert rows["Réseau"] == "Sandbox" and rows["Référence de la demande"] == "DPO-7"
    assert rows["Messages qu’elle a écrits"] == entry.after["messages"]
    assert not any(label.isidentifier() and label.islower() for label in rows), rows


def test_erasure_deletes_everything_about_them_and_nothing_else(team, marc):
    lea_before = InboundMessage.objects.filter(author_handle="lea").count()
    order_id = marc.pk
    reply_post = marc.replies.get().post
    assert Notification.objects.filter(object_id=str(order_id)).exists()
    assert AuditEntry.objects.filter(object_repr__icontains="marc").exists()

    from portevoix.crisis.models import Alert

    now = timezone.now()
    his = InboundMessage.objects.get(message_id="o2")
    clara = Mention.objects.get(author_handle="clara")
    alert = Alert.objects.create(
        workspace=team.workspace,
        window_start=now,
        window_end=now,
        observed=2,
        expected=0.2,
        p_value=0.01,
        messages=[
            {
                "at": now.isoformat(),
                "network": "sandbox",
                "text": his.text,
                "ref": f"inbox:{his.pk}",
            },
            {
                "at": now.isoformat(),
                "network": "sandbox",
                "text": clara.text,
                "ref": f"mention:{clara.pk}",
            },
        ],
    )

    counts = actions.erase_person(team.workspace, "sandbox", "marc", by=team["admin"])
    # The crisis alert that quoted him keeps the moment, not his words.
    alert.refresh_from_db()
    assert [m["text"] for m in alert.messages] == [actions.ERASED, clara.text]

    assert counts["messages"] == 3 and counts["conversations"] == 1
    assert not Customer.objects.filter(handle="marc").exists()
    assert not Conversation.objects.filter(pk=order_id).exists()
    assert not InboundMessage.objects.filter(author_handle="marc").exists()
    assert not Mention.objects.filter(author_handle="marc").exists()
    assert not VipAuthor.objects.filter(handle__iexact="marc").exists()
    assert not TriageCorrection.objects.exists()
    assert not Notification.objects.filter(object_id=str(order_id)).exists()
    from portevoix.api.models import CrmInboundEvent, CrmRecord

    assert not CrmRecord.objects.exists() and not CrmInboundEvent.objects.exists()
    # The private answer we sent keeps its delivery record, not its words.
    reply_post.refresh_from_db()
    assert reply_post.text == actions.ERASED
    assert Post.objects.filter(pk=reply_post.pk).exists()
    # Nobody else lost anything.
    assert InboundMessage.objects.filter(author_handle="lea").count() == lea_before
    assert Mention.objects.filter(author_handle="clara").exists()
    assert Customer.objects.filter(handle="journalist").exists()
    # The audit log keeps what happened, not who it was about.
    assert not AuditEntry.objects.filter(object_repr__icontains="marc").exists()
    for entry in AuditEntry.objects.all():
        assert "Lilas" not in json.dumps([entry.before, entry.after])
    erased = AuditEntry.objects.get(action="privacy.erase")
    assert erased.after["person"] == actions.fingerprint("sandbox", "MARC")
    assert erased.after["messages"] == 3
    assert [e.pk for e in actions.past_erasures(team.workspace, "sandbox", "@marc")] == [erased.pk]
    # Nothing is left to find.
    assert not any(actions.holdings(team.workspace, "sandbox", "marc").counts().values())


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_who_may_answer_requests_sees_exports_or_erases(team, marc, role):
    client = signed_in(team[role].user)
    page = reverse("privacy", kwargs={"ws": team.workspace.slug})
    query = {"network": "sandbox", "handle": "marc"}
    allowed = can(team[role], "privacy.manage")
    assert client.get(page, query).status_code == (200 if allowed else 403)
    export = client.get(reverse("privacy_export", kwargs={"ws": team.workspace.slug}), query)
    assert export.status_code == (200 if allowed else 403)
    erase = client.post(
        reverse("privacy_erase", kwargs={"ws": team.workspace.slug}), {**query, "confirm": "marc"}
    )
    assert erase.status_code == (302 if allowed else 403)
    assert Customer.objects.filter(handle="marc").exists() is (not allowed)
    if not allowed:
        assert "Répondre aux demandes sur les données personnelles" in erase.content.decode()
        assert not AuditEntry.objects.filter(action__startswith="privacy.").exists()


def test_the_page_shows_what_is_held_and_the_erasure_asks_for_the_handle_again(team, marc):
    client = signed_in(team["admin"].user)
    page = reverse("privacy", kwargs={"ws": team.workspace.slug})
    shown = client.get(page, {"network": "sandbox", "handle": "@marc"}).content.decode()
    assert "Messages qu’elle a écrits" in shown and "Effacer définitivement" in shown
    wrong = client.post(
        reverse("privacy_erase", kwargs={"ws": team.workspace.slug}),
        {"network": "sandbox", "handle": "marc", "confirm": "lea"},
    )
    assert wrong.status_code == 400
    assert "Ce n’est pas le même identifiant\u00a0: rien n’a été effacé." in wrong.content.decode()
    assert Customer.objects.filter(handle="marc").exists()
    done = client.post(
        reverse("privacy_erase", kwargs={"ws": team.workspace.slug}),
        {"network": "sandbox", "handle": "marc", "confirm": "@Marc", "reference": "T-1"},
        follow=True,
    )
    assert done.status_code == 200
    text = done.content.decode()
    assert "Effacé définitivement. Conversations\u00a0: 1\u00a0;" in text
    assert "Les données de cette personne ont été effacées le" in text and "(T-1)" in text
    assert not Customer.objects.filter(handle="marc").exists()
    blank = client.get(page, {"network": "sandbox", "handle": " @ "})
    assert (
        blank.status_code == 400
        and "Indiquez l’identifiant de la personne." in blank.content.decode()
    )


def test_the_customer_page_leads_to_their_data_for_who_may_answer(team, marc):
    url = reverse("inbox_customer", kwargs={"ws": team.workspace.slug, "pk": marc.customer_id})
    client = signed_in(team["admin"].user)
    assert "?network=sandbox&amp;handle=marc" in client.get(url).content.decode()
    client = signed_in(team["content"].user)
    assert "personal-data" not in client.get(url).content.decode()


# --- retention ---------------------------------------------------------------------------


def _age(conversation: Conversation, days: float, state: str) -> None:
    at = timezone.now() - dt.timedelta(days=days)
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=at, state=state)
    Customer.objects.filter(pk=conversation.customer_id).update(last_seen_at=at)


def test_retention_deletes_old_closed_conversations_and_mentions_only(team, conversations):
    _age(conversations["order"], 40, ConversationState.RESOLVED)  # old and closed: goes
    _age(conversations["press"], 40, ConversationState.OPEN)  # old but open: stays
    _age(conversations["price"], 10, ConversationState.RESOLVED)  # closed but recent: stays
    _hear(team, "clara", "old", "Acme, il y a longtemps", days_ago=50)
    _hear(team, "clara", "new", "Acme, hier", days_ago=1)
    policy = actions.set_retention(
        team.workspace, by=team["manager"], conversations_days=30, mentions_days=45
    )
    done = actions.apply_retention(policy)
    assert done == {"conversations": 1, "messages": 1, "customers": 1, "mentions": 1}
    assert set(Conversation.objects.values_list("pk", flat=True)) == {
        conversations["press"].pk,
        conversations["price"].pk,
    }
    assert not Customer.objects.filter(handle="marc").exists()
    assert list(Mention.objects.values_list("external_id", flat=True)) == ["new"]
    assert AuditEntry.objects.get(action="privacy.purge").after == done
    assert actions.apply_retention(policy) == dict.fromkeys(done, 0)  # nothing more


def test_retention_runs_as_a_daily_housekeeping_job(team, conversations):
    from portevoix.worker import housekeeping

    _age(conversations["order"], 400, ConversationState.SPAM)
    actions.set_retention(team.workspace, by=None, conversations_days=365, mentions_days=None)
    assert "privacy-retention" in housekeeping.JOBS
    assert housekeeping.JOBS["privacy-retention"].interval == 24 * 3600
    housekeeping.ensure_housekeeping()
    summary = housekeeping.JOBS["privacy-retention"].func(
        Housekeeping.objects.get(name="privacy-retention")
    )
    assert summary.startswith("1 conversations, 1 messages")
    assert RetentionPolicy.objects.get().last_result["conversations"] == 1


def test_retention_periods_are_checked_in_the_form_and_in_the_action(team):
    client = signed_in(team["manager"].user)
    url = reverse("privacy_retention", kwargs={"ws": team.workspace.slug})
    refused = client.post(url, {"conversations_days": "10", "mentions_days": "abc"})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "supérieure ou égale à 30" in body and "Saisissez un nombre entier" in body
    assert not RetentionPolicy.objects.exists()
    with pytest.raises(ValueError):
        actions.set_retention(team.workspace, by=None, conversations_days=5, mentions_days=None)
    assert client.post(url, {"conversations_days": "90", "mentions_days": ""}).status_code == 302
    policy = RetentionPolicy.objects.get()
    assert (policy.conversations_days, policy.mentions_days) == (90, None)
    assert AuditEntry.objects.get(action="privacy.retention").after["conversations_days"] == 90
    client = signed_in(team["content"].user)
    assert client.post(url, {"conversations_days": "30"}).status_code == 403
    assert RetentionPolicy.objects.get().conversations_days == 90


# --- command line ------------------------------------------------------------------------


def _cli(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr, sys.stdin = out, err, io.StringIO(stdin)
    try:
        code = cli.main(list(argv))
    finally:
        sys.stdout, sys.stderr, sys.stdin = old
    return code, out.getvalue(), err.getvalue()


def test_the_command_line_shows_exports_and_erases(team, marc):
    code, out, _err = _cli("privacy", "show", "sandbox", "@marc", "--workspace", "acme")
    assert code == 0 and json.loads(out)["counts"]["messages"] == 3
    code, out, _err = _cli("privacy", "export", "sandbox", "marc", "--workspace", "acme")
    assert code == 0 and json.loads(out)["conversations"][0]["state"]
    code, _out, err = _cli(
        "privacy",
        "erase",
        "sandbox",
        "marc",
        "--workspace",
        "acme",
        "--as",
        "content@acme.test",
        "--yes",
    )
    assert code == 1 and Customer.objects.filter(handle="marc").exists()
    code, _out, err = _cli(
        "privacy", "erase", "sandbox", "marc", "--workspace", "acme", stdin="lea\n"
    )
    assert code == 1 and "nothing was erased" in err
    assert Customer.objects.filter(handle="marc").exists()
    code, out, _err = _cli(
        "privacy",
        "erase",
        "sandbox",
        "marc",
        "--workspace",
        "acme",
        "--reference",
        "DPO-9",
        stdin="marc\n",
    )
    assert code == 0 and json.loads(out)["erased"]["conversations"] == 1
    assert AuditEntry.objects.get(action="privacy.erase").actor_label == "cli"
    code, _out, err = _cli("privacy", "show", "myspace", "marc", "--workspace", "acme")
    assert code == 2 and "unknown network" in err
    code, out, _err = _cli("privacy", "retention", "--workspace", "acme", "--conversations", "60")
    assert code == 0 and json.loads(out) == {"conversations_days": 60, "mentions_days": None}
    code, _out, err = _cli("privacy", "retention", "--workspace", "acme", "--mentions", "7")
    assert code == 2 and "between 30 and 3650" in err


# --- API ---------------------------------------------------------------------------------


def test_the_api_counts_exports_erases_and_sets_the_periods(team, marc):
    from tests.api.conftest import token_for

    api = token_for(team["manager"], scopes=["privacy:manage"])
    held = api.get("/privacy/people", network="sandbox", handle="@Marc")
    assert held.status_code == 200, held.content
    assert held.json()["counts"]["messages"] == 3 and held.json()["erased_before"] == []
    exported = api.get("/privacy/people/export", network="sandbox", handle="marc", reference="X")
    assert exported.status_code == 200
    assert exported.json()["conversations"][0]["our_replies"][0]["text"].startswith("Marc,")
    assert (
        api.get("/privacy/people", network="myspace", handle="marc").json()["error"]["code"]
        == "unknown_network"
    )
    assert api.get("/privacy/people", network="sandbox", handle=" @ ").status_code == 422
    erased = api.post("/privacy/people/erase", {"network": "sandbox", "handle": "marc"})
    assert erased.status_code == 200 and erased.json()["erased"]["conversations"] == 1
    assert not Customer.objects.filter(handle="marc").exists()
    assert (
        len(api.get("/privacy/people", network="sandbox", handle="marc").json()["erased_before"])
        == 1
    )
    assert api.put("/privacy/retention", {"conversations_days": 5}).status_code == 422
    periods = api.put("/privacy/retention", {"conversations_days": 400, "mentions_days": None})
    assert periods.status_code == 200 and periods.json()["conversations_days"] == 400
    assert api.get("/privacy/retention").json()["conversations_days"] == 400


@pytest.mark.parametrize("role", ALL_ROLES)
def test_the_api_refuses_a_role_without_the_permission_and_a_token_without_the_scope(
    team, marc, role
):
    from tests.api.conftest import token_for

    api = token_for(team[role])
    erased = api.post("/privacy/people/erase", {"network": "sandbox", "handle": "marc"})
    allowed = can(team[role], "privacy.manage")
    assert erased.status_code == (200 if allowed else 403)
    assert Customer.objects.filter(handle="marc").exists() is (not allowed)
    if allowed:
        narrow = token_for(team[role], scopes=["inbox:read"])
        refused = narrow.get("/privacy/people", network="sandbox", handle="marc")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "insufficient_scope"


def test_what_was_erased_does_not_come_back_when_the_network_sends_it_again(team, channel, marc):
    again = [
        make_item(
            "o2",
            "Toujours rien pour la 4521.",
            author="marc",
            kind=InboundKind.DM,
            thread="dm-marc",
        ),
        make_item("p2", "Pareil pour moi, c'est trop cher", author="marc", reply_to="p1"),
    ]
    actions.erase_person(team.workspace, "sandbox", "marc", by=None)
    assert ingest(channel, again) == 0
    assert not InboundMessage.objects.filter(author_handle="marc").exists()
    assert _hear(team, "marc", "m-marc", "Acme a encore oublié ma commande") is None
    assert not Mention.objects.filter(author_handle="marc").exists()
    # A new message of theirs is a new message: it comes in.
    assert ingest(channel, [make_item("o3", "Bonjour, c'est encore moi", author="marc")]) == 1
    # Only digests are kept, nothing of the words or the handle.
    from portevoix.privacy.models import Tombstone

    kept = json.dumps(list(Tombstone.objects.values("scope", "digest")))
    assert "marc" not in kept and "o2" not in kept


def test_retention_buries_what_it_deletes(team, channel, conversations):
    _age(conversations["order"], 40, ConversationState.RESOLVED)
    _hear(team, "clara", "old", "Acme, il y a longtemps", days_ago=50)
    policy = actions.set_retention(team.workspace, by=None, conversations_days=30, mentions_days=45)
    actions.apply_retention(policy)
    assert (
        ingest(
            channel,
            [make_item("o1", ORDER_FR, author="marc", kind=InboundKind.DM, thread="dm-marc")],
        )
        == 0
    )
    assert _hear(team, "clara", "old", "Acme, il y a longtemps", days_ago=50) is None
    assert not Mention.objects.filter(external_id="old").exists()


@pytest.mark.django_db(transaction=True)
def test_a_message_arriving_during_the_erasure_is_erased_too_not_an_error(team):
    """The erasure takes the network's channel locks, which the inbox stores under: a message
    of theirs being stored is committed first, then erased with the rest (without the locks,
    deleting the customer would fail on the conversation the message was starting)."""
    import threading

    from django.db import connection

    from portevoix.inbox import ingest as inbox_ingest
    from tests.inbox.conftest import connect

    if connection.vendor == "sqlite":
        pytest.skip("SQLite runs one worker; its in-memory test database does not wait on locks")
    channel = connect(team)
    ingest(channel, [make_item("a1", "Ma commande 4521 n'est pas arrivée", author="marc")])
    inside, release, erased = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold(result: inbox_ingest.Ingested) -> None:
        inside.set()
        release.wait(30)

    inbox_ingest._handlers.insert(0, hold)

    def store() -> None:
        try:
            ingest(
                channel,
                [make_item("a2", "Toujours rien", author="marc", kind=InboundKind.DM, thread="dm")],
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    def erase() -> None:
        try:
            actions.erase_person(team.workspace, "sandbox", "marc", by=None)
            erased.set()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    storing = threading.Thread(target=store)
    erasing = threading.Thread(target=erase)
    try:
        storing.start()
        assert inside.wait(30)
        erasing.start()
        assert not erased.wait(1), "the erasure ran beside a transaction storing their message"
    finally:
        release.set()
        storing.join(30)
        erasing.join(30)
        inbox_ingest.remove_handler(hold)
    assert not errors, errors
    assert erased.is_set()
    assert not InboundMessage.objects.filter(author_handle="marc").exists()
    assert not Customer.objects.filter(handle="marc").exists()


def test_a_handle_that_holds_nothing_suggests_close_ones(team, marc):
    client = signed_in(team["admin"].user)
    page = reverse("privacy", kwargs={"ws": team.workspace.slug})
    shown = client.get(page, {"network": "sandbox", "handle": "mar"}).content.decode()
    assert "Rien" in shown and "handle=marc" in shown  # a customer, by handle
    shown = client.get(page, {"network": "sandbox", "handle": "clar"}).content.decode()
    assert "handle=clara" in shown  # a listening author
    shown = client.get(page, {"network": "sandbox", "handle": "zz"}).content.decode()
    assert "handle=marc" not in shown  # too short to suggest anything
