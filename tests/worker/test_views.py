"""The ops page /ops/work/: staff only; shows due, running, late and failed work."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portevoix.core.permissions import Role
from portevoix.worker.models import Housekeeping


def test_ops_page_is_for_staff_only(team, client_for) -> None:
    url = reverse("ops_work")
    assert url == "/ops/work/"
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    for role in (Role.ADMIN.value, Role.VIEWER.value):
        assert client_for(team[role]).get(url).status_code == 403
    admin = team[Role.ADMIN.value]
    admin.user.is_staff = True
    admin.user.save()
    assert client_for(admin).get(url).status_code == 200


def test_ops_page_counts_due_running_late_and_failed(team, client_for) -> None:
    now = timezone.now()
    Housekeeping.objects.create(name="due-now", next_attempt_at=now)
    Housekeeping.objects.create(name="late", next_attempt_at=now - dt.timedelta(hours=1))
    Housekeeping.objects.create(
        name="running", locked_by="w1", locked_until=now + dt.timedelta(minutes=5)
    )
    Housekeeping.objects.create(
        name="broken",
        state="failed",
        next_attempt_at=None,
        attempts=5,
        problem="scheduled, attempt 5: ConnectionError: network unreachable",
    )
    Housekeeping.objects.create(name="later", next_attempt_at=now + dt.timedelta(hours=1))
    admin = team[Role.ADMIN.value]
    admin.user.is_staff = True
    admin.user.save()

    response = client_for(admin).get("/ops/work/")
    assert response.status_code == 200
    [summary] = [s for s in response.context["summaries"] if s.label == "worker.Housekeeping"]
    assert (summary.due, summary.running, summary.late, summary.failed) == (2, 1, 1, 1)
    body = response.content.decode()
    assert "ConnectionError: network unreachable" in body
    assert dict(summary.by_state) == {"scheduled": 4, "failed": 1}


def test_admin_retry_now_sends_failed_rows_back(team, client_for) -> None:
    row = Housekeeping.objects.create(
        name="broken", state="failed", next_attempt_at=None, problem="boom"
    )
    admin = team[Role.ADMIN.value]
    admin.user.is_staff = True
    admin.user.is_superuser = True
    admin.user.save()
    response = client_for(admin).post(
        "/admin/worker/housekeeping/",
        {"action": "retry_now", "_selected_action": [row.pk]},
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.state == "scheduled" and row.problem == "" and row.next_attempt_at


def _admin_links(html: str) -> list[str]:
    import re

    return sorted(set(re.findall(r'href="(/admin/[^"]*)"', html)))


def test_every_admin_link_of_the_ops_page_opens_for_the_demo_admin(db) -> None:
    """The demo's admin operates the installation: what the ops page links to opens, and
    the admin is not empty ("no permission to view or edit anything")."""
    from portevoix.core import demo
    from portevoix.core.models import User
    from tests.conftest import signed_in

    demo.load()
    # With the two-factor authentication staff need for /ops/ and /admin/.
    client = signed_in(User.objects.get(email="admin@lumiere.demo"))
    html = client.get(reverse("ops_work")).content.decode()
    links = _admin_links(html)
    assert "/admin/" in links
    assert reverse("admin:worker_housekeeping_changelist") in links
    for link in links:
        assert client.get(link).status_code == 200, link
    index = client.get("/admin/").content.decode()
    assert reverse("admin:worker_housekeeping_changelist") in index
    assert reverse("admin:sandbox_sandboxaccount_changelist") in index
    assert client.get("/admin/worker/").status_code == 200


def test_the_ops_page_links_only_to_admin_pages_a_staff_account_may_open(team, client_for) -> None:
    """A staff account with no admin permission: no link to a page that would answer 404."""
    admin = team[Role.ADMIN.value]
    admin.user.is_staff = True
    admin.user.save()
    client = client_for(admin)
    links = _admin_links(client.get(reverse("ops_work")).content.decode())
    assert links == ["/admin/"]
    assert client.get("/admin/").status_code == 200


def test_ops_page_shows_stuck_rows_of_every_kind(team, client_for) -> None:
    from portevoix.channels.models import Channel

    now = timezone.now()
    Housekeeping.objects.create(
        name="dead-worker",
        next_attempt_at=now - dt.timedelta(minutes=30),
        locked_by="host:1:0:ab#3",
        locked_until=now - dt.timedelta(minutes=20),
        problem="",
        last_error="KeyboardInterrupt",
    )
    Housekeeping.objects.create(name="late", next_attempt_at=now - dt.timedelta(hours=2))
    stale = Channel.objects.create(
        workspace=team.workspace,
        network="sandbox",
        name="Old",
        handle="old",
        account_id="old",
        credentials_encrypted="x",
        state="needs_reconnect",
        next_attempt_at=None,
        problem="The access token has expired.",
    )
    Channel.objects.filter(pk=stale.pk).update(state_changed_at=now - dt.timedelta(days=3))
    Channel.objects.create(
        workspace=team.workspace,
        network="sandbox",
        name="Gone",
        handle="gone",
        account_id="gone",
        credentials_encrypted="x",
        state="disconnected",
        next_attempt_at=None,
        state_changed_at=now - dt.timedelta(days=30),
    )
    admin = team[Role.ADMIN.value]
    admin.user.is_staff = True
    admin.user.save()
    response = client_for(admin).get("/ops/work/")
    summaries = {s.label: s for s in response.context["summaries"]}
    work = summaries["worker.Housekeeping"]
    assert (work.lease_expired, work.late) == (1, 2)
    assert [(e.row.name, e.reason) for e in work.stuck] == [
        ("dead-worker", "lease_expired"),
        ("late", "late"),
    ]
    channels = summaries["channels.Channel"]
    # A disconnected channel is a choice, not work waiting for someone.
    assert channels.waiting == 1 and [e.row.name for e in channels.stuck] == ["Old"]
    body = response.content.decode()
    assert "The access token has expired." in body and 'data-stuck="waiting"' in body
    assert 'data-stuck="lease_expired"' in body and "KeyboardInterrupt" in body


def test_waiting_for_a_person_is_what_each_model_says() -> None:
    from portevoix.channels.models import Channel
    from portevoix.publishing.models import Publication
    from portevoix.worker.views import waiting_states

    # Drafts, approvals and pauses go at the team's pace; a disconnected channel is a choice.
    assert set(waiting_states(Publication)) == {
        "waiting_reconnect",
        "needs_check",
        "held",
        "rejected",
    }
    assert waiting_states(Channel) == ["needs_reconnect"]
    assert waiting_states(Housekeeping) == []
