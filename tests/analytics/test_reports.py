"""Scheduled reports: periods in the workspace's zone, one run per period, the PDF and CSV
e-mailed in each recipient's language through the notification path, never twice, and only
to (and opened by) members allowed to read them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from portevoix.analytics import actions, reports, rollup
from portevoix.analytics.models import ReportFile, ReportRun, ScheduledReport
from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry
from portevoix.notifications.models import EmailDelivery, Notification
from portevoix.reports import pdf
from portevoix.worker import runner

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def _report(team, *, sections=("overview", "daily", "heatmap", "workload"), recipients=None):
    return actions.create_report(
        team.workspace,
        by=team["analyst"],
        name="Hebdo réseaux",
        frequency="weekly",
        sections=list(sections),
        channels=[],
        recipients=recipients or [team["manager"], team["analyst"]],
    )


def _work() -> None:
    runner.run_once([ReportRun])
    runner.run_once([EmailDelivery])


def test_weeks_end_on_monday_midnight_in_the_workspaces_zone_across_dst(team) -> None:
    report = _report(team)
    # Created in the week of the change to summer time (Sunday 29 March 2026 in Paris).
    ScheduledReport.objects.filter(pk=report.pk).update(
        created_at=dt.datetime(2026, 3, 24, 10, tzinfo=PARIS)
    )
    before_end = dt.datetime(2026, 3, 29, 23, 59, tzinfo=PARIS)  # 21:59 UTC, summer time
    assert reports.due_runs(before_end) == 0
    assert reports.due_runs(dt.datetime(2026, 3, 30, 0, 0, tzinfo=PARIS)) == 1
    run = ReportRun.objects.get()
    assert (run.period_start, run.period_end) == (dt.date(2026, 3, 23), dt.date(2026, 3, 29))
    period = reports.period_of("weekly", run.period_start, PARIS)
    utc = period.end_at.astimezone(dt.UTC) - period.start_at.astimezone(dt.UTC)
    assert utc == dt.timedelta(hours=167)  # one hour lost
    assert period.end_at == dt.datetime(2026, 3, 29, 22, 0, tzinfo=dt.UTC)
    # The job runs every quarter of an hour: the period is never made twice.
    assert reports.due_runs(dt.datetime(2026, 3, 30, 0, 15, tzinfo=PARIS)) == 0
    assert ReportRun.objects.count() == 1


def test_months_follow_the_calendar_in_the_workspaces_zone(team) -> None:
    report = _report(team)
    report.frequency = "monthly"
    report.created_at = dt.datetime(2026, 2, 10, tzinfo=PARIS)
    report.save()
    # 1 March 00:30 in Paris is still 28 February in UTC: February has ended there.
    assert reports.due_runs(dt.datetime(2026, 3, 1, 0, 30, tzinfo=PARIS)) == 1
    run = ReportRun.objects.get()
    assert (run.period_start, run.period_end) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))


def _make_run(team, report) -> ReportRun:
    report.created_at = timezone.now() - dt.timedelta(days=30)
    report.save()
    assert reports.due_runs() == 1
    return ReportRun.objects.get(report=report)


def test_french_and_english_recipients_get_their_language_with_the_files(team) -> None:
    english = team["analyst"].user
    english.language = "en"
    english.save()  # the manager has no language of their own: the workspace's French
    report = _report(team)
    run = _make_run(team, report)
    _work()
    run.refresh_from_db()
    assert run.state == "sent" and run.produced_at and run.recipients_told == 2
    files = {f.language: bytes(f.pdf) for f in ReportFile.objects.filter(run=run)}
    assert set(files) == {"fr", "en"} and all(c.startswith(b"%PDF") for c in files.values())
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {team["manager"].user.email, english.email}
    french, other = by_address[team["manager"].user.email], by_address[english.email]
    assert "Le rapport «\u00a0Hebdo réseaux\u00a0» est prêt" in french.subject
    assert "Report “Hebdo réseaux” is ready" in other.subject
    for message, language in ((french, "fr"), (other, "en")):
        (pdf_name, pdf_bytes, pdf_type), (csv_name, csv_bytes, csv_type) = message.attachments
        assert csv_name == pdf_name.replace(".pdf", ".csv")
        assert pdf_type == "application/pdf" and pdf_bytes == files[language]
        assert pdf_name.endswith(f"{run.period_start:%Y%m%d}-{run.period_end:%Y%m%d}.pdf")
        text = csv_bytes.decode() if isinstance(csv_bytes, bytes) else csv_bytes
        assert csv_type == "text/csv" and text == run.csv
    assert "overview,metric,value,previous,change" in run.csv
    # What each PDF says: the same template in the reader's language.
    period = reports.period_of("weekly", run.period_start, PARIS)
    context = {"report_title": report.name, "period": period, "channels": [],
               **reports.build(report, period)}  # fmt: skip
    assert "Chiffres clés" in pdf.render_html("analytics/report_pdf.html", context, language="fr")


def test_a_crash_between_rendering_and_sending_sends_nothing_then_once(team, monkeypatch) -> None:
    report = _report(team)
    run = _make_run(team, report)
    from portevoix.notifications import actions as notifications

    real = notifications.notify

    def crash(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("the worker died after telling")

    monkeypatch.setattr(notifications, "notify", crash)
    runner.run_once([ReportRun])
    run.refresh_from_db()
    assert run.state == "producing" and run.attempts == 1 and run.produced_at is None
    assert not Notification.objects.exists() and not ReportFile.objects.exists()
    monkeypatch.setattr(notifications, "notify", real)
    ReportRun.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())
    _work()
    assert len(mail.outbox) == 2
    # The result was committed but its state lost (a crash right after the commit): the row
    # runs again, finds the report made and closes without telling anyone again.
    ReportRun.objects.filter(pk=run.pk).update(state="producing", next_attempt_at=timezone.now())
    _work()
    run.refresh_from_db()
    assert run.state == "sent"
    assert Notification.objects.filter(kind="analytics.report").count() == 2
    assert len(mail.outbox) == 2


def test_send_now_makes_the_last_period_once(team, client_for) -> None:
    report = _report(team)
    client = client_for(team["analyst"])
    url = reverse("analytics_report_send", kwargs={"ws": "acme", "pk": report.pk})
    assert client.post(url).status_code == 302
    assert client.post(url).status_code == 302
    run = ReportRun.objects.get()
    assert run.trigger == "manual" and run.requested_by == team["analyst"]
    assert AuditEntry.objects.filter(action="report.send").count() == 1
    _work()
    assert len(mail.outbox) == 2
    page = client.get(reverse("analytics_reports", kwargs={"ws": "acme"}))
    assert page.status_code == 200 and f'id="run-{run.pk}"' in page.content.decode()


def test_roles_that_may_not_read_analytics_are_not_recipients(team, client_for) -> None:
    with pytest.raises(ActionRefused) as refused:
        _report(team, recipients=[team["agent"]])
    assert refused.value.field == "recipients"
    # Webcare in the report: a viewer (who does not see every conversation) is refused.
    with pytest.raises(ActionRefused):
        _report(team, sections=["webcare"], recipients=[team["viewer"]])
    client = client_for(team["manager"])
    response = client.post(
        reverse("analytics_report_create", kwargs={"ws": "acme"}),
        {"name": "Mensuel", "frequency": "monthly", "sections": ["overview"],
         "recipients": [team["agent"].pk]},
    )  # fmt: skip
    assert response.status_code == 400
    body = response.content.decode()
    assert "Mensuel" in body and "analytics" in body.lower()
    assert not ScheduledReport.objects.exists()
    # Only members who build reports make them.
    response = client_for(team["viewer"]).post(
        reverse("analytics_report_create", kwargs={"ws": "acme"}),
        {"name": "X", "frequency": "weekly", "sections": ["overview"],
         "recipients": [team["viewer"].pk]},
    )  # fmt: skip
    assert response.status_code == 403


def test_only_readers_open_the_files(team, client_for) -> None:
    open_report = _report(team, sections=["overview"])
    care_report = actions.create_report(
        team.workspace, by=team["manager"], name="Webcare", frequency="weekly",
        sections=["webcare"], channels=[], recipients=[team["manager"]],
    )  # fmt: skip
    for report in (open_report, care_report):
        actions.send_report_now(report, by=team["manager"])
    runner.run_once([ReportRun])
    runs = {r.report_id: r for r in ReportRun.objects.all()}
    open_pdf = reverse("analytics_report_pdf", kwargs={"ws": "acme", "pk": runs[open_report.pk].pk})
    care_pdf = reverse("analytics_report_pdf", kwargs={"ws": "acme", "pk": runs[care_report.pk].pk})
    care_csv = reverse("analytics_report_csv", kwargs={"ws": "acme", "pk": runs[care_report.pk].pk})
    viewer = client_for(team["viewer"])
    response = viewer.get(open_pdf + "?language=en")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert viewer.get(care_pdf).status_code == 404
    assert viewer.get(care_csv).status_code == 404
    agent = client_for(team["agent"])
    assert agent.get(open_pdf).status_code == 403
    assert agent.get(reverse("analytics_reports", kwargs={"ws": "acme"})).status_code == 403
    assert client_for(team.outsider).get(open_pdf).status_code in (403, 404)
    assert client_for(team["manager"]).get(care_pdf).status_code == 200


def test_preview_renders_without_storing_or_sending(team, client_for) -> None:
    report = _report(team)
    url = reverse("analytics_report_preview", kwargs={"ws": "acme", "pk": report.pk})
    response = client_for(team["analyst"]).get(url)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert not ReportRun.objects.exists() and not mail.outbox
    assert client_for(team["viewer"]).get(url).status_code == 403


def test_workspace_rollups_answer_like_the_channel_rollups(team, channel, published) -> None:
    from portevoix.analytics import dashboard, kpis
    from portevoix.analytics.models import WorkspaceDay, WorkspaceHour
    from portevoix.channels.models import Channel

    start = dt.datetime(2026, 3, 23, tzinfo=PARIS)
    for day in range(9):  # across the change to summer time
        for hour in (9, 13, 21):
            publication = published(start + dt.timedelta(days=day, hours=hour))
            rollup.record_post(
                publication,
                taken_at=start + dt.timedelta(days=day + 1),
                source="network",
                values={"impressions": 100 * hour, "engagements": hour + day, "reach": 80},
            )
    every = Channel.objects.filter(workspace=team.workspace)
    period = dashboard.Period(dt.date(2026, 3, 23), dt.date(2026, 3, 31), PARIS)
    ws = team.workspace
    assert dashboard.daily(every, period, workspace=ws) == dashboard.daily(every, period)
    fast = dashboard.heatmap(every, period, PARIS, workspace=ws)
    assert fast == dashboard.heatmap(every, period, PARIS) and fast["posts"] == 27
    assert dashboard.frequency(every, period, workspace=ws) == dashboard.frequency(every, period)
    figures = {r["metric"]: r["value"] for r in dashboard.key_figures(ws, None, period)}
    for metric in ("impressions", "engagements", "engagement_rate", "posts_published"):
        assert figures[metric] == kpis.measure(
            ws, metric, start=period.start_at, end=period.end_at
        ), metric
    # Rebuilding the channel or the workspace gives the same rows (idempotent).
    snapshot = sorted(WorkspaceDay.objects.values_list("day", "posts", "impressions"))
    heat = sorted(WorkspaceHour.objects.values_list("day", "hour", "posts", "engagements"))
    rollup.rebuild(channel)
    rollup.rebuild(channel)
    assert sorted(WorkspaceDay.objects.values_list("day", "posts", "impressions")) == snapshot
    rollup.rebuild_workspace(ws)
    assert sorted(WorkspaceDay.objects.values_list("day", "posts", "impressions")) == snapshot
    assert sorted(WorkspaceHour.objects.values_list("day", "hour", "posts", "engagements")) == heat


def test_workload_counts_each_members_work(team, client_for) -> None:
    from portevoix.analytics import dashboard
    from portevoix.publishing.models import Post

    Post.objects.create(workspace=team.workspace, text="Bonjour", author=team["content"].user)
    Post.objects.create(workspace=team.workspace, text="Salut", author=team["content"].user)
    today = timezone.now().astimezone(PARIS).date()
    rows = dashboard.workload(team.workspace, dashboard.last_days(7, PARIS, today))
    assert rows == [
        {"member": team["content"].user.display_name, "member_id": team["content"].pk,
         "conversations_assigned": 0, "conversations_answered": 0, "posts_authored": 2,
         "posts_approved": 0, "checklist_items": 0}
    ]  # fmt: skip
    csv = client_for(team["viewer"]).get(
        reverse("analytics_csv", kwargs={"ws": "acme", "chart": "workload"})
    )
    assert csv.status_code == 200
    assert csv.content.decode().splitlines()[0].startswith("member,conversations_assigned")


def test_the_demo_has_a_weekly_report_with_two_sends() -> None:
    from portevoix.core import demo

    workspace = demo.load().workspace
    report = ScheduledReport.objects.get(workspace=workspace)
    runs = list(report.runs.order_by("period_start"))
    assert [r.state for r in runs] == ["sent", "sent"]
    assert (runs[1].period_start - runs[0].period_start).days == 7
    assert all(r.produced_at and r.csv and r.files.count() == 2 for r in runs)
    assert (
        Notification.objects.filter(kind="analytics.report").count() == 2 * runs[0].recipients_told
    )
