"""Drills: a staged crisis or a busy evening on the sandbox, marked as a drill everywhere, kept
out of the real baseline and webcare figures, and scored per drill and per member."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import translation

from portevoix.channels import actions as channel_actions
from portevoix.core.actions import ActionRefused
from portevoix.core.audit import AuditEntry
from portevoix.core.permissions import MATRIX
from portevoix.crisis import actions, drills
from portevoix.crisis.models import Drill, DrillResult, HourlyVolume
from portevoix.crisis.replay import Replay
from portevoix.notifications.models import Notification
from portevoix.sandbox import service
from portevoix.sandbox.models import SandboxAccount
from tests.conftest import ALL_ROLES

from .sim import DEMO_LIKE, MONDAY

EVERY = dt.timedelta(minutes=15)
TUESDAY_2PM = MONDAY + dt.timedelta(days=1, hours=13)  # 14:00 in Paris
DECLARERS = [r for r in ALL_ROLES if "crisis.declare" in MATRIX[r]]
OTHERS = [r for r in ALL_ROLES if r not in DECLARERS]


def sandbox(team, handle: str = "lumiere", *, seed: int = 5) -> Replay:
    """A sandbox channel whose world moves (a drill runs only on those), replayed by hand."""
    account = service.create_account(
        handle,
        workspace=team.workspace,
        seed=seed,
        simulate=True,
        token_lifetime=None,
        now=MONDAY,
        **DEMO_LIKE,
    )
    channel = channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name=handle,
    )
    return Replay(channel=channel, account=account)


def test_a_crisis_drill_is_marked_scored_and_kept_out_of_the_real_figures(team) -> None:
    from portevoix.care import metrics
    from portevoix.care.models import WebcareStat
    from portevoix.inbox import actions as inbox_actions

    replay = sandbox(team)
    assert replay.run(MONDAY, TUESDAY_2PM, EVERY) == []
    drill = drills.start_drill(
        team.workspace, by=team["manager"], kind="crisis", intensity=10.0, hours=3, now=TUESDAY_2PM
    )
    assert AuditEntry.objects.filter(action="crisis.drill_start").exists()
    replay.account.refresh_from_db()
    assert replay.account.crisis_started_at == TUESDAY_2PM
    with pytest.raises(ActionRefused):  # one at a time
        drills.start_drill(team.workspace, by=team["manager"], kind="evening", intensity=3.0)

    alerts = replay.run(TUESDAY_2PM, TUESDAY_2PM + dt.timedelta(hours=2), EVERY)
    assert len(alerts) == 1
    drill.refresh_from_db()
    assert drill.alert == alerts[0]
    # The alert's notification says it is a drill.
    sent = Notification.objects.filter(kind="crisis.alert").first()
    assert sent is not None and sent.params["drill"] is True
    from portevoix.notifications import kinds

    with translation.override("en"):
        assert kinds.get("crisis.alert").render(sent.params).title.startswith("Drill")

    # The incident opened meanwhile is the drill's; the banner says so.
    incident = actions.open_incident(
        team.workspace, by=team["manager"], title="Retards", alert=alerts[0]
    )
    drill.refresh_from_db()
    assert drill.incident == incident
    legal = incident.tasks.filter(department__code="legal")
    for task in legal:
        actions.set_task_done(task, by=team["manager"], done=True)

    # Drill conversations carry the label, and a reply counts for its author.
    talks = drills.conversations(drill)
    assert talks.exists()
    assert all(c.labels.filter(name__in=drills.LABEL).exists() for c in talks)
    first = talks.order_by("created_at").first()
    inbox_actions.reply(first, by=team["content"], text="Nous regardons cela tout de suite.")

    drills.end_drill(drill, by=team["manager"], now=TUESDAY_2PM + dt.timedelta(hours=2))
    drill.refresh_from_db()
    assert drill.state == "ended" and drill.score is not None
    assert 0 < drill.scores["alert_seconds"] <= 2 * 3600
    assert drill.scores["incident_seconds"] is not None
    legal_row = next(c for c in drill.scores["checklists"] if c["done"] == c["total"])
    # Shown as scored: from the incident (ticked at once), not from the drill's start.
    assert legal_row["seconds"] is not None and legal_row["seconds"] < 60
    assert drill.scores["conversations"] == talks.count()
    incident.refresh_from_db()
    assert incident.closed_at is not None  # ending the drill closes its incident
    replay.account.refresh_from_db()
    assert replay.account.crisis_ends_at == TUESDAY_2PM + dt.timedelta(hours=2)
    manager = DrillResult.objects.get(drill=drill, member=team["manager"])
    assert manager.opened_incident and manager.tasks_done == legal.count()
    content = DrillResult.objects.get(drill=drill, member=team["content"])
    assert content.replies == 1 and content.first_replies == 1

    # The drill's hours are not in the baseline; its alert no longer holds real ones back.
    after = TUESDAY_2PM + dt.timedelta(hours=6)
    actions.count_hours(team.workspace, after)
    drill_hours = HourlyVolume.objects.filter(
        workspace=team.workspace, hour__gte=TUESDAY_2PM, hour__lt=drill.ended_at
    )
    assert drill_hours.filter(negative__gt=3).exists()  # the storm was counted...
    with_drill = actions.detect.build_baseline(
        list(
            HourlyVolume.objects.filter(workspace=team.workspace, hour__lt=after)
            .order_by("hour")
            .values_list("hour", "negative")
        ),
        actions.ZoneInfo(team.workspace.time_zone),
    )
    baseline = actions.baseline_for(team.workspace, after)  # ...but not into the baseline
    assert max(baseline.rates) < max(with_drill.rates)
    assert not actions.in_cooldown(team.workspace, TUESDAY_2PM + dt.timedelta(hours=3))

    # Webcare's figures leave the drill conversations out.
    metrics.refresh(team.workspace, MONDAY, after)
    counted = sum(
        WebcareStat.objects.filter(workspace=team.workspace).values_list("conversations", flat=True)
    )
    from portevoix.inbox.models import Conversation

    every = Conversation.objects.filter(workspace=team.workspace).exclude(state="spam").count()
    assert counted == every - talks.count()


#: Hours of the week a drill is started at (hours after Monday midnight UTC, the second week so
#: that a week of calm comes before): a night, mornings, a lunch, an evening, a Sunday.
DRILL_HOURS = [7 * 24 + 3, 8 * 24 + 9, 9 * 24 + 12, 10 * 24 + 17, 11 * 24 + 21, 13 * 24 + 10]


@pytest.mark.parametrize("hour", DRILL_HOURS)
def test_a_staged_storm_at_its_strongest_is_caught_within_the_hour_whenever_it_starts(
    team, hour: int
) -> None:
    """The browser test starts a drill at intensity 10 at whatever time it runs and expects
    the alert within the hour. It comes only if triage reads the storm's messages as angry:
    boycotts, calls to share, a class action, most of them opening with the brand's handle
    (a model that read "@brand" as calm missed this at some hours)."""
    replay = sandbox(team)
    start = MONDAY + dt.timedelta(hours=hour)
    assert replay.run(start - dt.timedelta(days=2), start, dt.timedelta(hours=1)) == []
    drills.start_drill(
        team.workspace, by=team["manager"], kind="crisis", intensity=10.0, hours=2, now=start
    )
    replay.account.refresh_from_db()
    alerts = replay.run(start, start + dt.timedelta(hours=1), EVERY)
    assert len(alerts) == 1, f"no alert within the hour of a storm started at {start}"


def test_a_drills_storm_does_not_make_its_words_usual(team) -> None:
    """The word test compares a word with the four weeks before; the hours a drill touched
    are left out of them, as they are of the baselines, so a real storm about the same thing
    after a drill still rises."""
    from portevoix.crisis import detect, signals

    replay = sandbox(team)
    replay.run(MONDAY, TUESDAY_2PM, dt.timedelta(hours=1), check=False)
    drill = drills.start_drill(
        team.workspace, by=team["manager"], kind="crisis", intensity=10.0, hours=1, now=TUESDAY_2PM
    )
    replay.account.refresh_from_db()
    later = TUESDAY_2PM + dt.timedelta(hours=3)
    replay.run(TUESDAY_2PM, later, dt.timedelta(hours=1), check=False)
    drills.end_drill(drill, by=team["manager"], now=TUESDAY_2PM + dt.timedelta(hours=1))
    drill.refresh_from_db()
    assert drill.ended_at is not None

    said = signals.gather(team.workspace.pk, later - detect.TERM_HISTORY, later)
    during = [s for s in said if TUESDAY_2PM <= s.at < drill.ended_at]
    assert len(during) >= 10
    vocabulary = actions.vocabulary_for(team.workspace, later)
    assert vocabulary.messages == len(said) - len(during)
    # The storm's most shared word: common with the drill counted, not without it.
    storm = detect.Vocabulary.of_signals(during).counts
    word = max(storm, key=storm.__getitem__)
    assert storm[word] >= 5
    with_drill = detect.Vocabulary.of_signals(said).counts[word]
    assert vocabulary.counts.get(word, 0) == with_drill - storm[word]


def test_a_busy_evening_multiplies_the_customers_and_puts_them_back(team) -> None:
    replay = sandbox(team)
    usual = replay.account.inbound_per_day
    drill = drills.start_drill(
        team.workspace, by=team["manager"], kind="evening", intensity=3.0, hours=1
    )
    replay.account.refresh_from_db()
    assert replay.account.inbound_per_day == usual * 3
    assert replay.account.crisis_started_at is None
    # It ends by itself after its duration (the worker's job), and is scored.
    assert drills.end_due(drill.ends_at + dt.timedelta(minutes=1)) == 1
    drill.refresh_from_db()
    replay.account.refresh_from_db()
    assert drill.state == "ended" and drill.score is not None
    assert replay.account.inbound_per_day == usual
    assert "alert_seconds" not in drill.scores


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_those_who_declare_start_and_end_a_drill(team, client_for, role) -> None:
    sandbox(team)
    url = reverse("crisis_drills", kwargs={"ws": team.workspace.slug})
    client = client_for(team[role])
    response = client.post(url, {"scenario": "crisis:1", "hours": "2"})
    if role in DECLARERS:
        assert response.status_code == 302
        drill = Drill.objects.get()
        assert drill.kind == "crisis" and drill.intensity == 1.0
        page = client.get(
            reverse("crisis_drill", kwargs={"ws": team.workspace.slug, "pk": drill.pk})
        )
        assert page.status_code == 200
        ended = client.post(
            reverse("crisis_drill_end", kwargs={"ws": team.workspace.slug, "pk": drill.pk})
        )
        assert ended.status_code == 302
        assert Drill.objects.get().state == "ended"
    else:
        assert response.status_code == 403
        assert not Drill.objects.exists()
        with pytest.raises(PermissionDenied):
            drills.start_drill(team.workspace, by=team[role], kind="crisis", intensity=1.0)


def test_past_drills_say_when_each_was_launched_in_french(team, client_for) -> None:
    """A drill (un exercice) was « Lancé le », not « Ouverte le » like a session."""
    sandbox(team)
    user = team["manager"].user
    user.language = "fr"
    user.save(update_fields=["language"])
    client = client_for(team["manager"])
    url = reverse("crisis_drills", kwargs={"ws": team.workspace.slug})
    assert client.post(url, {"scenario": "crisis:1", "hours": "2"}).status_code == 302
    drill = Drill.objects.get()
    client.post(reverse("crisis_drill_end", kwargs={"ws": team.workspace.slug, "pk": drill.pk}))
    page = client.get(url).content.decode()
    assert '<th scope="col">Lancé le</th>' in page and "Ouverte le" not in page


def test_bad_input_is_refused_in_place(team, client_for) -> None:
    client = client_for(team["manager"])
    url = reverse("crisis_drills", kwargs={"ws": team.workspace.slug})
    # No sandbox channel whose world moves: said on the form.
    response = client.post(url, {"scenario": "crisis:1", "hours": "2"})
    assert response.status_code == 400
    sandbox(team)
    response = client.post(url, {"scenario": "crisis:7", "hours": "2"})
    assert response.status_code == 400 and not Drill.objects.exists()
    with pytest.raises(ActionRefused) as wrong:
        drills.start_drill(team.workspace, by=team["manager"], kind="crisis", intensity=7.0)
    assert wrong.value.field == "intensity"
    with pytest.raises(ActionRefused) as long:
        drills.start_drill(
            team.workspace, by=team["manager"], kind="crisis", intensity=1.0, hours=9
        )
    assert long.value.field == "hours"
    actions.open_incident(team.workspace, by=team["manager"], title="Une vraie crise")
    with pytest.raises(ActionRefused):  # a real incident comes first
        drills.start_drill(team.workspace, by=team["manager"], kind="crisis", intensity=1.0)
    assert SandboxAccount.objects.get().crisis_started_at is None


def test_scoring_points() -> None:
    target = dt.timedelta(minutes=30)
    assert drills.points(dt.timedelta(minutes=10), target) == 100
    assert drills.points(dt.timedelta(minutes=60), target) == 50
    assert drills.points(dt.timedelta(minutes=90), target) == 0
    assert drills.points(None, target) == 0


def test_a_drill_stays_in_the_sandbox_and_ends_with_all_it_started(team) -> None:
    """What a drill's incident does never reaches the real world: its statement is offered to
    the sandbox channels only, its crisis conversations are the drill's, its pause holds the
    sandbox's posts and is lifted at the end; an incident opened later from its alert is the
    drill's too and closes with it; its times are shown as they are scored."""
    from portevoix.channels.models import Channel
    from portevoix.crisis import statements
    from portevoix.crisis.models import CrisisConversation
    from portevoix.inbox.models import Conversation
    from portevoix.publishing import actions as publishing
    from portevoix.publishing.models import Pause, Publication

    replay = sandbox(team)
    replay.run(MONDAY, TUESDAY_2PM, EVERY)
    real = Channel.objects.create(
        workspace=team.workspace, network="mastodon", name="Réel", account_id="42"
    )
    from django.utils import timezone

    later = timezone.now() + dt.timedelta(days=3)  # real posts, due in the real future
    real_post = publishing.schedule_post(
        team.workspace, by=team["admin"], text="Nouvelle collection", channels=[real], at=later
    )
    sandbox_post = publishing.schedule_post(
        team.workspace, by=team["admin"], text="Promo", channels=[replay.channel], at=later
    )
    before = Conversation.objects.filter(workspace=team.workspace).order_by("created_at").first()
    assert before is not None and before.created_at < TUESDAY_2PM  # a customer's, before it

    drill = drills.start_drill(
        team.workspace, by=team["manager"], kind="crisis", intensity=10.0, hours=3, now=TUESDAY_2PM
    )
    # Opened by hand at once, closed; then the drill's alert comes and an incident is opened
    # from it: both are the drill's (the first is the one it is scored on).
    first = actions.open_incident(team.workspace, by=team["manager"], title="Exercice")
    actions.close_incident(first, by=team["manager"], summary="Fausse piste.")
    alerts = replay.run(TUESDAY_2PM, TUESDAY_2PM + dt.timedelta(hours=1), EVERY)
    assert len(alerts) == 1
    incident = actions.open_incident(
        team.workspace, by=team["manager"], title="Retards", alert=alerts[0]
    )
    assert first.drill == drill and incident.drill == drill
    drill.refresh_from_db()
    assert drill.incident == first
    # Terms every conversation has (so that the real one would match them): only drill
    # conversations are labelled.
    said = before.messages.order_by("created_at").values_list("text", flat=True).first() or ""
    word = max(said.replace(",", " ").split(), key=len)
    actions.set_terms(incident, by=team["manager"], terms=f"{word}, livraison")
    labelled = set(
        CrisisConversation.objects.filter(incident=incident).values_list(
            "conversation_id", flat=True
        )
    )
    assert labelled and before.pk not in labelled
    assert labelled <= set(drills.conversations(drill).values_list("pk", flat=True))
    # The statement is offered to the sandbox only, and refused elsewhere.
    assert [c.pk for c in statements.statement_channels(team.workspace, incident)] == [
        replay.channel.pk
    ]
    with pytest.raises(ActionRefused):
        statements.save_statement(
            incident, by=team["manager"], text="Nous enquêtons.", channel_ids=[real.pk]
        )
    # The pause holds the sandbox's post, not the real one.
    held = actions.pause_publishing(incident, by=team["manager"])
    assert held.paused_count == 1
    assert Publication.objects.get(post=real_post).state == "scheduled"
    assert Publication.objects.get(post=sandbox_post).state == "paused"
    drills.end_drill(drill, by=team["manager"], now=TUESDAY_2PM + dt.timedelta(hours=2))
    incident.refresh_from_db()
    assert incident.closed_at is not None  # ended with the drill
    assert not Pause.objects.filter(ended_at__isnull=True).exists()  # the drill's pause lifted
    assert Publication.objects.get(post=sandbox_post).state == "scheduled"


def as_html(monkeypatch) -> None:
    """The report's HTML instead of its PDF (to read what it says)."""
    from portevoix.crisis import report
    from portevoix.reports import pdf

    monkeypatch.setattr(
        report.pdf,
        "render_pdf",
        lambda template, context, *, language: pdf.render_html(
            template, context, language=language
        ).encode(),
    )


def test_a_drills_report_says_it_is_a_drill(team, client_for, monkeypatch) -> None:
    """The post-incident report of a drill's incident is titled and marked as a drill (PDF
    header and top of the first page; its link and file name too); a real one is not."""
    from portevoix.crisis import report

    sandbox(team)
    drills.start_drill(team.workspace, by=team["manager"], kind="crisis", intensity=1.0)
    incident = actions.open_incident(team.workspace, by=team["manager"], title="Retards")
    assert incident.drill_id is not None
    actions.close_incident(incident, by=team["manager"], summary="Exercice terminé.")
    as_html(monkeypatch)
    with translation.override("en"):  # the view renders in the reader's language
        english = report.render(incident, language="en").decode()
    with translation.override("fr"):
        french = report.render(incident, language="fr").decode()
    assert "<title>Drill — post-incident report</title>" in english
    assert "data-drill" in english and "not of a real incident" in english
    assert "<h1>Exercice — rapport post-incident</h1>" in french
    assert "pas d’un vrai incident" in french
    # The incident's page links to the drill's report, which downloads as such.
    page_url = reverse("crisis_incident", kwargs={"ws": team.workspace.slug, "pk": incident.pk})
    page = client_for(team["manager"]).get(page_url).content.decode()
    assert "Rapport de l’exercice (PDF)" in page
    monkeypatch.undo()
    url = reverse("crisis_incident_report", kwargs={"ws": team.workspace.slug, "pk": incident.pk})
    response = client_for(team["manager"]).get(url)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert 'filename="drill-incident-' in response["Content-Disposition"]

    # A real incident's report has none of it.
    drills.end_drill(incident.drill, by=team["manager"])
    real = actions.open_incident(team.workspace, by=team["manager"], title="Vrai")
    actions.close_incident(real, by=team["manager"], summary="Fini.")
    assert real.drill_id is None
    as_html(monkeypatch)
    with translation.override("en"):
        plain = report.render(real, language="en").decode()
    assert "<h1>Post-incident report</h1>" in plain and "data-drill" not in plain


def test_each_members_drill_results_count_their_approvals(team, client_for) -> None:
    """Legal approving the holding statement is its part in the drill: counted for legal
    (and as its first action), and shown on the drill's page."""
    from portevoix.core.models import Member
    from portevoix.core.permissions import Role
    from portevoix.crisis import statements
    from portevoix.publishing.approvals import actions as approvals
    from portevoix.publishing.approvals.models import ApprovalStep, StepState
    from tests.conftest import make_user

    replay = sandbox(team)
    legal = Member.objects.create(
        workspace=team.workspace,
        user=make_user("lawyer@acme.test", "Laure Legal"),
        role=Role.AGENT,
        department=team.department("legal"),
    )
    drill = drills.start_drill(team.workspace, by=team["manager"], kind="crisis", intensity=1.0)
    incident = actions.open_incident(team.workspace, by=team["manager"], title="Retards")
    statement = statements.save_statement(
        incident, by=team["manager"], text="Nous regardons.", channel_ids=[replay.channel.pk]
    )
    statements.send_to_legal(statement, by=team["manager"])
    step = ApprovalStep.objects.get(post__holding_statement=statement, state=StepState.WAITING)
    approvals.approve(step, by=legal)
    drills.end_drill(drill, by=team["manager"])
    result = DrillResult.objects.get(drill=drill, member=legal)
    assert result.approvals == 1 and result.first_action_seconds is not None
    assert DrillResult.objects.get(drill=drill, member=team["manager"]).approvals == 0
    url = reverse("crisis_drill", kwargs={"ws": team.workspace.slug, "pk": drill.pk})
    with translation.override("en"):
        page = client_for(team["manager"]).get(url).content.decode()
    assert "Approbations données" in page or "Approvals given" in page
    assert "<td>Laure Legal</td>" in page and "<td data-approvals>1</td>" in page


@pytest.mark.parametrize("role", ALL_ROLES)
def test_a_staged_storm_can_be_calmed_and_a_drill_never_takes_it_over(
    team, client_for, role
) -> None:
    """A staged storm raged for two days with no way to stop it (staging again is refused
    while it rages), and a crisis drill started meanwhile restarted it and, at its end,
    calmed a storm it had not started."""
    replay = sandbox(team)
    account = replay.account
    ws = team.workspace.slug
    manager = team["manager"]
    actions.stage_sandbox_crisis(team.workspace, by=manager, intensity=3.0)
    account.refresh_from_db()
    started = account.crisis_started_at
    with translation.override("en"), pytest.raises(ActionRefused, match="calm it there"):
        drills.start_drill(team.workspace, by=manager, kind="crisis", intensity=10.0, hours=3)
    account.refresh_from_db()
    assert account.crisis_started_at == started and account.crisis_intensity == 3.0
    client = client_for(team[role])
    home = client.get(reverse("crisis_home", kwargs={"ws": ws})).content.decode()
    response = client.post(reverse("crisis_calm", kwargs={"ws": ws}))
    account.refresh_from_db()
    if role not in DECLARERS:
        assert response.status_code == 403
        assert account.crisis_active(dt.datetime.now(dt.UTC))
        return
    assert 'id="storm-under-way"' in home
    assert reverse("crisis_calm", kwargs={"ws": ws}) in home
    assert 'id="stage-intensity"' not in home  # nothing to stage while it rages
    assert response.status_code == 302
    assert not account.crisis_active(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    assert AuditEntry.objects.filter(action="crisis.calm").exists()
    home = client.get(reverse("crisis_home", kwargs={"ws": ws})).content.decode()
    assert 'id="storm-under-way"' not in home and 'id="stage-intensity"' in home
    with pytest.raises(ActionRefused):  # nothing left to calm
        actions.calm_sandbox_crisis(team.workspace, by=manager)
    # A drill may start now; its storm is not calmed from the crisis page, only by its end.
    drill = drills.start_drill(team.workspace, by=manager, kind="crisis", intensity=10.0, hours=3)
    home = client.get(reverse("crisis_home", kwargs={"ws": ws})).content.decode()
    assert 'id="storm-under-way"' in home
    assert reverse("crisis_calm", kwargs={"ws": ws}) not in home
    with translation.override("en"), pytest.raises(ActionRefused, match="end the drill"):
        actions.calm_sandbox_crisis(team.workspace, by=manager)
    drills.end_drill(drill, by=manager)
    account.refresh_from_db()
    assert not account.crisis_active(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
