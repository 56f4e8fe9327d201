"""Incidents: who opens and closes them, the department checklists, pause, scan, timeline,
the playbook, and the pages for every role."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from portevoix.core.actions import ActionRefused
from portevoix.core.audit import AuditEntry
from portevoix.core.permissions import MATRIX
from portevoix.crisis import actions
from portevoix.crisis.models import Alert, Incident, IncidentTask, PlaybookItem, TimelineEntry
from portevoix.publishing.approvals.models import Pause
from portevoix.publishing.models import Publication
from tests.conftest import ALL_ROLES
from tests.publishing.approvals_helpers import schedule, second_channel

DECLARERS = [r for r in ALL_ROLES if "crisis.declare" in MATRIX[r]]
OTHERS = [r for r in ALL_ROLES if r not in DECLARERS]


@pytest.fixture(autouse=True)
def _english():
    from django.utils import translation

    with translation.override("en"):
        yield


def open_one(team, **kwargs) -> Incident:
    return actions.open_incident(
        team.workspace, by=team["manager"], title="Retards de livraison", **kwargs
    )


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_those_who_declare_open_an_incident(team, role) -> None:
    if role in DECLARERS:
        incident = actions.open_incident(
            team.workspace, by=team[role], title="Crise", severity="high"
        )
        assert incident.owner == team[role] and incident.severity == "high"
        assert AuditEntry.objects.filter(action="crisis.open", object_id=str(incident.pk)).exists()
    else:
        with pytest.raises(PermissionDenied):
            actions.open_incident(team.workspace, by=team[role], title="Crise")
        assert not Incident.objects.exists()


def test_an_outsider_learns_nothing_and_bad_input_is_refused(team) -> None:
    with pytest.raises(Http404):
        actions.open_incident(team.workspace, by=team.outsider, title="Crise")
    with pytest.raises(ActionRefused) as empty:
        actions.open_incident(team.workspace, by=team["manager"], title="  ")
    assert empty.value.field == "title"
    with pytest.raises(ActionRefused) as severity:
        actions.open_incident(
            team.workspace, by=team["manager"], title="Crise", severity="apocalypse"
        )
    assert severity.value.field == "severity"
    with pytest.raises(ActionRefused) as owner:
        actions.open_incident(
            team.workspace, by=team["manager"], title="Crise", owner=team.outsider
        )
    assert owner.value.field == "owner"
    open_one(team)
    with pytest.raises(ActionRefused) as twice:
        open_one(team)
    assert twice.value.code == "already_open"


def test_the_incident_copies_the_playbook_and_each_department_ticks_its_list(team) -> None:
    from django.utils import translation

    with translation.override("en"):  # opened from an English screen...
        incident = open_one(team)
    with translation.override(team.workspace.language or "fr"):
        expected = {t for tasks in actions.playbook(team.workspace).values() for t in tasks}
    assert set(incident.tasks.values_list("text", flat=True)) == expected  # the team's language
    assert (team.workspace.language or "fr").startswith("fr")
    assert not incident.tasks.filter(text__startswith="Review the holding statement").exists()
    codes = set(incident.tasks.values_list("department__code", flat=True))
    assert {
        "communication",
        "legal",
        "finance",
        "hr",
        "sales",
        "marketing",
        "customer_service",
    } <= codes
    sales = incident.tasks.filter(department__code="sales").first()
    legal = incident.tasks.filter(department__code="legal").first()
    agent = team["agent"]  # of Sales
    actions.set_task_done(sales, by=agent, done=True)
    sales.refresh_from_db()
    assert sales.done_by == agent and sales.done_at is not None
    with pytest.raises(ActionRefused) as other:
        actions.set_task_done(legal, by=agent, done=True)
    assert other.value.code == "forbidden"
    with pytest.raises(ActionRefused):
        actions.set_task_done(legal, by=team["viewer"], done=True)  # no department
    actions.set_task_done(legal, by=team["manager"], done=True)  # the manager ticks any
    actions.set_task_done(sales, by=agent, done=False)
    kinds = list(TimelineEntry.objects.filter(incident=incident).values_list("kind", flat=True))
    assert kinds == ["opened", "ticked", "ticked", "unticked"]
    with pytest.raises(Http404):
        actions.set_task_done(sales, by=team.outsider, done=True)


def test_pausing_holds_every_scheduled_post_and_the_scan_finds_the_crisis_terms(team) -> None:
    channel = second_channel(team)
    tone_deaf = schedule(
        team, team["manager"], [channel], text="Livraison express offerte ce week-end !"
    )
    fine = schedule(team, team["manager"], [channel], text="Nos nouveaux horaires d’hiver")
    incident = open_one(team, terms=["livraison"])
    found = actions.scan_scheduled(incident, team["content"])
    assert [p.post_id for p in found] == [tone_deaf.pk]
    with pytest.raises(PermissionDenied):
        actions.pause_publishing(incident, by=team["creative"])
    row = actions.pause_publishing(incident, by=team["content"])
    assert row.paused_count == 2
    assert set(
        Publication.objects.filter(post__in=[tone_deaf, fine]).values_list("state", flat=True)
    ) == {"paused"}
    assert Pause.objects.filter(workspace=team.workspace, ended_at__isnull=True).count() == 1
    assert incident.timeline.filter(kind="paused").exists()
    # Paused posts are still scanned (they may go out once publishing resumes).
    assert [p.post_id for p in actions.scan_scheduled(incident, team["content"])] == [tone_deaf.pk]
    with pytest.raises(ActionRefused):
        actions.pause_publishing(incident, by=team["content"])  # already paused


def test_the_crisis_pause_is_read_in_each_readers_language(team, client_for) -> None:
    """The pause's reason (publishing's pages) and the timeline's "held" entry are stored as
    sentences: a French reader reads French, an English reader English."""
    from django.utils import translation

    from portevoix.core.sentences import render

    schedule(team, team["manager"], [second_channel(team)], text="Nos horaires d’hiver")
    incident = open_one(team)
    row = actions.pause_publishing(incident, by=team["content"])
    held = incident.timeline.get(kind="paused").detail
    with translation.override("fr"):
        assert render(row.reason) == "Crise\u00a0: Retards de livraison"
        assert render(held).startswith("tout l’espace")
    with translation.override("en"):
        assert render(row.reason) == "Crisis: Retards de livraison"
        assert render(held).startswith("the whole workspace")
    url = reverse("pause", kwargs={"ws": team.workspace.slug})
    for language, said in (("fr", "Crise\u00a0: Retards"), ("en", "Crisis: Retards")):
        user = team["manager"].user
        user.language = language
        user.save(update_fields=["language"])
        page = client_for(team["manager"]).get(url).content.decode()
        assert said in page and '{"sentence"' not in page


@pytest.mark.parametrize("role", ALL_ROLES)
def test_closing(team, role) -> None:
    incident = open_one(team)
    if role in DECLARERS:
        with pytest.raises(ActionRefused) as bare:  # the report opens with the summary
            actions.close_incident(incident, by=team[role], summary="  ")
        assert bare.value.field == "summary"
        actions.close_incident(incident, by=team[role], summary="Statement out, calm back.")
        incident.refresh_from_db()
        assert incident.closed_at is not None and incident.summary
        with pytest.raises(ActionRefused):
            actions.close_incident(incident, by=team[role])
        assert open_one(team).pk != incident.pk  # a new one may open
    else:
        with pytest.raises(PermissionDenied):
            actions.close_incident(incident, by=team[role])


def test_managers_edit_the_playbook_and_others_may_not(team) -> None:
    legal = team.department("legal")
    actions.save_playbook(
        team.workspace, by=team["manager"], department=legal, tasks="Appeler l’avocat\n\n- Relire"
    )
    book = {d.code: tasks for d, tasks in actions.playbook(team.workspace).items()}
    assert book["legal"] == ["Appeler l’avocat", "Relire"]
    assert len(book["hr"]) == 3  # the others kept their lists
    assert AuditEntry.objects.filter(action="crisis.playbook").exists()
    with pytest.raises(PermissionDenied):
        actions.save_playbook(team.workspace, by=team["content"], department=legal, tasks="x")
    with pytest.raises(ActionRefused):
        actions.save_playbook(team.workspace, by=team["manager"], department=legal, tasks="x" * 301)
    incident = open_one(team)
    assert list(incident.tasks.filter(department=legal).values_list("text", flat=True)) == [
        "Appeler l’avocat",
        "Relire",
    ]
    assert PlaybookItem.objects.filter(workspace=team.workspace).count() == sum(
        len(t) for t in book.values()
    )


def _alert(team) -> Alert:
    import datetime as dt

    from django.utils import timezone

    now = timezone.now()
    return Alert.objects.create(
        workspace=team.workspace,
        window_start=now - dt.timedelta(hours=1),
        window_end=now,
        observed=9,
        expected=0.8,
        p_value=1e-7,
        network="sandbox",
        terms=["retard", "livraison"],
        weekday=1,
        hour=14,
        messages=[
            {
                "at": now.isoformat(),
                "network": "sandbox",
                "text": "Le retard de livraison, encore",
                "ref": "inbox:1",
            }
        ],
    )


def test_an_alert_is_explained_in_each_readers_language(team, client_for) -> None:
    """The timeline's "alert" entry, the alert list of the API: written from the alert's
    numbers when read, in the reader's language (not frozen in the workspace's French)."""
    from django.test import Client
    from django.utils import translation

    from portevoix.crisis import notices
    from portevoix.notifications import kinds
    from tests.api.conftest import token_for

    team.workspace.language = "fr"
    team.workspace.save(update_fields=["language"])
    alert = _alert(team)
    incident = open_one(team, alert=alert)
    entry = incident.timeline.get(kind="alert")
    with translation.override("en"):
        assert entry.text().startswith("9 negative messages in the last hour")
    with translation.override("fr"):
        assert entry.text().startswith("9 messages négatifs dans la dernière heure")
    said = {"fr": "messages négatifs dans la dernière heure", "en": "negative messages in the"}
    url = reverse("crisis_incident", kwargs={"ws": team.workspace.slug, "pk": incident.pk})
    api = token_for(team["manager"])
    for language, other in (("fr", "en"), ("en", "fr")):
        user = team["manager"].user
        user.language = language
        user.save(update_fields=["language"])
        page = client_for(team["manager"]).get(url).content.decode()
        assert said[language] in page and said[other] not in page
        api.client = Client(HTTP_ACCEPT_LANGUAGE=language)
        body = api.get(f"/incidents/{incident.pk}").json()
        alert_entry = next(e for e in body["timeline"] if e["kind"] == "alert")
        assert said[language] in alert_entry["detail"]
        [listed] = api.get("/alerts").json()["items"]
        assert said[language] in listed["explanation"]
        # The e-mail is written from the same numbers in its recipient's language.
        with translation.override(language):
            mail = kinds.get(notices.ALERT).render(notices.alert_params(alert))
        assert said[language] in mail.title and said[language] in mail.body


@pytest.mark.parametrize("role", ALL_ROLES)
def test_pages_for_every_role(team, client_for, role) -> None:
    alert = _alert(team)
    incident = open_one(team, alert=alert)
    client = client_for(team[role])
    ws = team.workspace.slug
    for url in (
        reverse("crisis_home", kwargs={"ws": ws}),
        reverse("crisis_alert", kwargs={"ws": ws, "pk": alert.pk}),
        reverse("crisis_incident", kwargs={"ws": ws, "pk": incident.pk}),
        reverse("crisis_playbook", kwargs={"ws": ws}),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Retards de livraison" in response.content.decode() or url.endswith("playbook/")
    # The banner shows on the workspace's other pages.
    page = client.get(reverse("notifications", kwargs={"ws": ws})).content.decode()
    assert 'class="crisis-banner"' in page
    close = client.post(
        reverse("crisis_incident_close", kwargs={"ws": ws, "pk": incident.pk}), {"summary": "fin"}
    )
    if role in DECLARERS:
        assert close.status_code == 302
        assert (
            'class="crisis-banner"'
            not in client.get(reverse("crisis_home", kwargs={"ws": ws})).content.decode()
        )
    else:
        assert close.status_code == 403
        assert Incident.objects.get(pk=incident.pk).closed_at is None


def test_an_outsider_sees_none_of_it(team, client_for) -> None:
    incident = open_one(team)
    client = client_for(team.outsider)
    ws = team.workspace.slug
    assert client.get(
        reverse("crisis_incident", kwargs={"ws": ws, "pk": incident.pk})
    ).status_code in (403, 404)
    other = team.outsider.workspace.slug
    assert (
        client.get(reverse("crisis_incident", kwargs={"ws": other, "pk": incident.pk})).status_code
        == 404
    )
    task = IncidentTask.objects.filter(incident=incident).first()
    assert (
        client.post(
            reverse("crisis_task", kwargs={"ws": other, "pk": task.pk}), {"done": "1"}
        ).status_code
        == 404
    )


def test_opening_from_an_alert_through_the_page_keeps_what_was_typed_on_error(
    team, client_for
) -> None:
    alert = _alert(team)
    client = client_for(team["manager"])
    url = reverse("crisis_alert", kwargs={"ws": team.workspace.slug, "pk": alert.pk})
    bad = client.post(url, {"title": "", "severity": "high", "terms": "retard, livraison"})
    assert bad.status_code == 400
    assert 'value="retard, livraison"' in bad.content.decode()
    good = client.post(url, {"title": "Retards", "severity": "high", "terms": "retard, livraison"})
    assert good.status_code == 302
    incident = Incident.objects.get()
    assert incident.alert == alert and incident.terms == ["retard", "livraison"]
    alert.refresh_from_db()
    assert alert.state == "incident"
    assert list(incident.timeline.values_list("kind", flat=True)) == ["alert", "opened"]
    # The agent ticks through the page; a task of another department is refused in words.
    agent = client_for(team["agent"])
    sales = incident.tasks.filter(department__code="sales").first()
    legal = incident.tasks.filter(department__code="legal").first()
    ws = team.workspace.slug
    assert (
        agent.post(
            reverse("crisis_task", kwargs={"ws": ws, "pk": sales.pk}), {"done": "1"}
        ).status_code
        == 302
    )
    refused = agent.post(
        reverse("crisis_task", kwargs={"ws": ws, "pk": legal.pk}), {"done": "1"}, follow=True
    )
    assert "Seuls les membres de" in refused.content.decode()  # the workspace speaks French
    legal.refresh_from_db()
    assert legal.done_at is None


@pytest.mark.parametrize("role", ALL_ROLES)
def test_staging_the_sandbox_storm(team, client_for, role) -> None:
    from portevoix.sandbox import service
    from portevoix.sandbox.models import SandboxAccount

    account = service.create_account("acme-live", workspace=team.workspace)
    url = reverse("crisis_stage", kwargs={"ws": team.workspace.slug})
    response = client_for(team[role]).post(url, {"intensity": "10.0"})
    account.refresh_from_db()
    if role in DECLARERS:
        assert response.status_code == 302
        assert account.crisis_intensity == 10.0 and account.crisis_started_at is not None
        assert AuditEntry.objects.filter(action="crisis.stage").exists()
        with pytest.raises(ActionRefused):
            actions.stage_sandbox_crisis(team.workspace, by=team[role], intensity=7.0)
        # Staged again while it rages, it would start over from a calm first minute.
        started = account.crisis_started_at
        with pytest.raises(ActionRefused, match="déjà en cours"):
            actions.stage_sandbox_crisis(team.workspace, by=team[role], intensity=3.0)
        account.refresh_from_db()
        assert account.crisis_started_at == started and account.crisis_intensity == 10.0
    else:
        assert response.status_code == 403
        assert SandboxAccount.objects.get(pk=account.pk).crisis_intensity == 0


def test_the_post_incident_report_is_a_pdf_once_closed(team, client_for) -> None:
    import datetime as dt

    from portevoix.crisis import report
    from portevoix.crisis.models import HourlyVolume

    incident = open_one(team)
    hour = incident.opened_at.replace(minute=0, second=0, microsecond=0)
    HourlyVolume.objects.create(workspace=team.workspace, hour=hour, total=14, negative=11)
    HourlyVolume.objects.create(
        workspace=team.workspace, hour=hour - dt.timedelta(hours=1), total=2, negative=0
    )
    client = client_for(team["viewer"])
    url = reverse("crisis_incident_report", kwargs={"ws": team.workspace.slug, "pk": incident.pk})
    assert client.get(url).status_code == 302  # not before it closes
    actions.set_task_done(
        incident.tasks.filter(department__code="legal").first(), by=team["manager"], done=True
    )
    actions.close_incident(incident, by=team["manager"], summary="Fin")
    figure = report.volume(incident, ZoneInfo("Europe/Paris"))
    every, negative = (s.values for s in figure["series"])  # labels follow the language
    assert 11.0 in negative and 14.0 in every
    lists = {row["department"]: row for row in report.checklists(incident)}
    assert lists[team.department("legal").name]["done"] == 1
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_the_reports_volume_chart_keeps_its_titles_and_labels_inside_and_apart(team) -> None:
    """The PDF's curve: the y axis's title is drawn whole inside the chart (it ran off its
    left edge: "…par heure"), the last hour's label ends where the plot ends (it ran into the
    lines' end labels) and the end labels fit in the chart (they were cut at its edge)."""
    import datetime as dt
    import itertools
    import xml.etree.ElementTree as ET

    from django.utils import translation

    from portevoix.crisis import report
    from portevoix.crisis.models import HourlyVolume

    def text_width(text: str) -> float:  # DejaVu Sans at 11 px: about 0.62 em a character
        return len(text) * 11 * 0.62

    incident = open_one(team)
    hour = incident.opened_at.replace(minute=0, second=0, microsecond=0)
    for h in range(-24, 1):
        HourlyVolume.objects.create(
            workspace=team.workspace, hour=hour + dt.timedelta(hours=h), total=40, negative=h + 30
        )
    actions.close_incident(incident, by=team["manager"], summary="Fin")
    with translation.override("fr"):
        svg = str(report.volume(incident, ZoneInfo("Europe/Paris"))["svg"])
    root = ET.fromstring(svg)
    width = float(root.get("width") or 0)
    ns = "{http://www.w3.org/2000/svg}"

    def extent(node: ET.Element) -> tuple[float, float]:
        x, w = float(node.get("x") or 0), text_width(node.text or "")
        anchor = node.get("text-anchor", "start")
        return {"start": (x, x + w), "middle": (x - w / 2, x + w / 2), "end": (x - w, x)}[anchor]

    texts = list(root.iter(f"{ns}text"))
    [unit] = [t for t in texts if t.text == "messages par heure"]
    assert extent(unit)[0] >= 0
    ends = [t for t in texts if (t.text or "").startswith(("Tous les", "Messages négatifs"))]
    assert len(ends) == 2 and all(extent(t)[1] <= width for t in ends)
    axis_labels = [t for t in texts if "h" in (t.text or "") and "/" in (t.text or "")]
    assert len(axis_labels) >= 3
    legend_from = min(extent(t)[0] for t in ends)
    assert extent(axis_labels[-1])[1] < legend_from  # the last hour, apart from the legend
    spans = [extent(t) for t in axis_labels]
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))  # none touch
    assert all(re.fullmatch(r"\d\d/\d\d \d\dh", t.text or "") for t in axis_labels)
    # English writes the hour on a 24-hour clock with its minutes, not "14h".
    with translation.override("en"):
        english = ET.fromstring(str(report.volume(incident, ZoneInfo("Europe/Paris"))["svg"]))
    hours = [t.text or "" for t in english.iter(f"{ns}text") if "/" in (t.text or "")]
    assert len(hours) >= 3 and all(re.fullmatch(r"\d\d/\d\d \d\d:00", h) for h in hours)
    spans = [extent(t) for t in english.iter(f"{ns}text") if "/" in (t.text or "")]
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))  # wider, still apart


def test_closing_offers_to_resume_publishing_and_says_when_it_stays_paused(
    team, client_for
) -> None:
    """Closing left publishing paused without a word: the pause card vanished with the open
    incident and the banner kept naming a closed crisis. The close form now offers to resume
    what the crisis paused; left unticked, the closed incident says the pause is still on."""
    channel = second_channel(team)
    post = schedule(team, team["manager"], [channel], text="Nos nouveaux horaires d’hiver")
    first = open_one(team)
    actions.pause_publishing(first, by=team["manager"])
    assert actions.pauses_of(first)
    client = client_for(team["manager"])
    url = reverse("crisis_incident", kwargs={"ws": team.workspace.slug, "pk": first.pk})
    assert 'name="resume"' in client.get(url).content.decode()
    close = reverse("crisis_incident_close", kwargs={"ws": team.workspace.slug, "pk": first.pk})
    client.post(close, {"summary": "Fin"})
    first.refresh_from_db()
    assert first.closed_at is not None and actions.pauses_of(first)
    page = client.get(url).content.decode()
    assert reverse("pause", kwargs={"ws": team.workspace.slug}) in page
    assert Publication.objects.get(post=post).state == "paused"
    # A second crisis, closed with "resume": its pause ends and the post is scheduled again.
    Pause.objects.filter(workspace=team.workspace).update(ended_at=first.closed_at)
    Publication.objects.filter(post=post).update(state="scheduled")
    second = actions.open_incident(team.workspace, by=team["manager"], title="Autre")
    actions.pause_publishing(second, by=team["manager"])
    close = reverse("crisis_incident_close", kwargs={"ws": team.workspace.slug, "pk": second.pk})
    client.post(close, {"summary": "Fin", "resume": "on"})
    second.refresh_from_db()
    assert second.closed_at is not None and actions.pauses_of(second) == []
    assert Publication.objects.get(post=post).state == "scheduled"
    assert second.timeline.filter(kind="paused").count() == 2  # paused, then resumed
    # Whoever may not pause is not offered it (a viewer closes nothing anyway).
    assert 'name="resume"' not in client_for(team["viewer"]).get(url).content.decode()


def test_the_storm_is_staged_from_the_french_page_as_it_is_written(team, client_for) -> None:
    """The intensities were written "10,0" on a French page (the number localized in the
    option's value), and the view read "10,0" as no number: in French the storm could not be
    staged at all ("Choisissez l'une des intensités proposées")."""
    import re

    from portevoix.sandbox import service
    from portevoix.sandbox.models import SandboxAccount

    account = service.create_account("acme-fr", workspace=team.workspace)
    client = client_for(team["manager"])
    client.cookies["django_language"] = "fr"
    page = client.get(reverse("crisis_home", kwargs={"ws": team.workspace.slug}))
    chosen = re.search(
        r'id="stage-intensity">.*?<option value="([^"]+)" selected>', page.content.decode()
    )
    assert chosen is not None, "no intensity offered"
    response = client.post(
        reverse("crisis_stage", kwargs={"ws": team.workspace.slug}),
        {"intensity": chosen.group(1)},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert SandboxAccount.objects.get(pk=account.pk).crisis_intensity == 10.0, (chosen, shown)
    assert any("a commencé sur 1 compte" in m for m in shown), shown


def test_the_report_says_times_as_people_do(team) -> None:
    """The report wrote "(0.1 hours)" for a six-minute incident and "3.6" in a column of
    minutes: times are now said in minutes and hours, to the minute."""
    import datetime as dt

    from django.utils import translation

    from portevoix.crisis import report
    from portevoix.crisis.models import IncidentTask

    incident = open_one(team)
    task = incident.tasks.filter(department__code="legal").first()
    actions.set_task_done(task, by=team["manager"], done=True)
    IncidentTask.objects.filter(pk=task.pk).update(
        done_at=incident.opened_at + dt.timedelta(seconds=216)
    )
    actions.close_incident(incident, by=team["manager"], summary="Fin")
    type(incident).objects.filter(pk=incident.pk).update(
        closed_at=incident.opened_at + dt.timedelta(hours=2, minutes=10)
    )
    incident.refresh_from_db()
    with translation.override("en"):
        lists = {row["department"]: row for row in report.checklists(incident)}
        afters = [t["after"] for t in lists[team.department("legal").name]["tasks"]]
        lasted = report._for_people(report._minutes(incident.closed_at - incident.opened_at))
    assert "4 min" in afters
    assert lasted == "2 h 10 min"


def test_the_playbook_box_shows_the_whole_list(team, client_for) -> None:
    """The text box was five lines high: a department's list of twelve tasks was cut."""
    from portevoix.crisis.forms import PlaybookForm

    tasks = "\n".join(f"Tâche {n}" for n in range(12))
    assert PlaybookForm(initial={"tasks": tasks}).fields["tasks"].widget.attrs["rows"] == 13
    assert PlaybookForm(initial={"tasks": "Une"}).fields["tasks"].widget.attrs["rows"] == 5
    assert PlaybookForm({"tasks": "x" * 100}).fields["tasks"].widget.attrs["rows"] == 5
    assert PlaybookForm({"tasks": "x" * 200}).fields["tasks"].widget.attrs["rows"] == 9  # wraps
    assert PlaybookForm({"tasks": "\n".join(["x"] * 80)}).fields["tasks"].widget.attrs["rows"] == 40
    page = client_for(team["manager"]).get(
        reverse("crisis_playbook", kwargs={"ws": team.workspace.slug})
    )
    rows = [int(r) for r in re.findall(r'<textarea[^>]*rows="(\d+)"', page.content.decode())]
    assert rows and max(rows) > 5  # seed 001's lists are longer than five lines
