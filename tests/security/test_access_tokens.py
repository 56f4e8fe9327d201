"""Access tokens, the one mechanism behind every way in without a login: their limits."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from portevoix.core import access, actions
from portevoix.core.actions import ActionRefused
from portevoix.core.logs import mask
from portevoix.core.models import AccessToken, AuditEntry, Department, Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def purposes():
    """Two purposes for the tests: a department's read-only page, a one-shot acknowledgement."""
    feed = access.register(
        access.Purpose(
            code="test_feed",
            target="core.department",
            issue_action="department.manage",
            max_lifetime=dt.timedelta(days=365),
            default_lifetime=dt.timedelta(days=90),
            check=lambda department: None if department.is_active else "archived department",
        )
    )
    ack = access.register(
        access.Purpose(
            code="test_ack",
            target="core.department",
            issue_action="department.manage",
            max_lifetime=dt.timedelta(days=30),
            default_lifetime=dt.timedelta(days=7),
            max_uses=1,
        )
    )
    yield feed, ack
    access.unregister("test_feed")
    access.unregister("test_ack")


@pytest.fixture
def sales(team) -> Department:
    return team.department("sales")


def test_a_token_opens_its_object_and_every_use_is_audited(team, purposes, sales) -> None:
    row, token = actions.issue_access_token("test_feed", sales, by=team["manager"])
    assert token.startswith("pvt.") and row.token_hash not in token  # only a hash is kept
    assert AccessToken.objects.filter(token_hash=access.hash_secret(token.split(".")[1])).exists()
    issued = AuditEntry.objects.get(action="access.issue")
    assert token not in str(issued.after) and token not in issued.object_repr
    for n in (1, 2):
        used, target = actions.use_access_token(token, purpose="test_feed", obj=sales)
        assert target == sales and used.use_count == n
    uses = AuditEntry.objects.filter(action="access.use", workspace=team.workspace)
    assert uses.count() == 2
    entry = uses.first()
    assert entry.object_type == "core.department" and entry.object_id == str(sales.pk)
    assert entry.actor is None and entry.actor_label == f"link: test_feed #{row.pk}"


def test_an_expired_token_is_refused(team, purposes, sales) -> None:
    _row, token = actions.issue_access_token(
        "test_feed", sales, by=team["manager"], lifetime=dt.timedelta(days=1)
    )
    later = timezone.now() + dt.timedelta(days=1, seconds=1)
    with time_machine.travel(later), pytest.raises(ActionRefused) as refused:
        actions.use_access_token(token, purpose="test_feed", obj=sales)
    assert refused.value.code == "expired"
    assert AuditEntry.objects.get(action="access.refused").after == {"reason": "expired"}


def test_a_revoked_token_is_refused_at_once(team, purposes, sales) -> None:
    row, token = actions.issue_access_token("test_feed", sales, by=team["manager"])
    actions.use_access_token(token, purpose="test_feed")
    actions.revoke_access_token(row, by=team["admin"])
    with pytest.raises(ActionRefused) as refused:
        actions.use_access_token(token, purpose="test_feed")
    assert refused.value.code == "revoked"
    assert AuditEntry.objects.filter(action="access.revoke", actor=team["admin"].user).exists()


def test_a_token_for_another_purpose_is_refused(team, purposes, sales) -> None:
    _row, token = actions.issue_access_token("test_feed", sales, by=team["manager"])
    with pytest.raises(ActionRefused) as refused:
        actions.use_access_token(token, purpose="test_ack", obj=sales)
    assert refused.value.code == "invalid"
    # Even with its row relabelled in the database, the signature still says "feed".
    AccessToken.objects.update(purpose="test_ack")
    with pytest.raises(ActionRefused):
        actions.use_access_token(token, purpose="test_ack", obj=sales)


def test_a_token_for_another_object_is_refused(team, purposes, sales) -> None:
    _row, token = actions.issue_access_token("test_feed", sales, by=team["manager"])
    with pytest.raises(ActionRefused) as refused:
        actions.use_access_token(token, purpose="test_feed", obj=team.department("legal"))
    assert refused.value.code == "wrong_object"
    assert AuditEntry.objects.get(action="access.refused").after == {"reason": "wrong_object"}


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature
        lambda t: t.replace(".", ".x", 1),  # the secret
        lambda t: t.split(".", 1)[1],  # the prefix
        lambda t: "pvt..",
        lambda t: "",
        lambda t: t + ".extra",
    ],
)
def test_a_tampered_token_is_refused(team, purposes, sales, tamper) -> None:
    _row, token = actions.issue_access_token("test_feed", sales, by=team["manager"])
    with pytest.raises(ActionRefused) as refused:
        actions.use_access_token(tamper(token), purpose="test_feed", obj=sales)
    assert refused.value.code == "invalid"
    assert not AuditEntry.objects.filter(action="access.use").exists()


def test_a_one_shot_token_works_once(team, purposes, sales) -> None:
    _row, token = actions.issue_access_token("test_ack", sales, by=team["manager"])
    actions.use_access_token(token, purpose="test_ack", obj=sales)
    with pytest.raises(ActionRefused) as refused:
        actions.use_access_token(token, purpose="test_ack", obj=sales)
    assert refused.value.code == "used"


def test_what_the_token_opens_must_still_be_open(team, purposes, sales) -> None:
    _row, token = actions.issue_access_token("test_feed", sales, by=team["manager"])
    Department.objects.filter(pk=sales.pk).update(is_active=False)
    with pytest.raises(ActionRefused) as refused:
        actions.use_access_token(token, purpose="test_feed", obj=sales)
    assert refused.value.code == "closed"
    Department.objects.filter(pk=sales.pk).update(is_active=True)
    Workspace.objects.filter(pk=team.workspace.pk).update(archived_at=timezone.now())
    with pytest.raises(ActionRefused) as refused:
        actions.use_access_token(token, purpose="test_feed", obj=sales)
    assert refused.value.code == "closed"


@pytest.mark.parametrize("role", ["content", "creative", "analyst", "agent", "viewer"])
def test_only_the_purposes_permission_issues_and_revokes(team, purposes, sales, role) -> None:
    with pytest.raises(PermissionDenied):
        actions.issue_access_token("test_feed", sales, by=team[role])
    row, _token = actions.issue_access_token("test_feed", sales, by=team["manager"])
    with pytest.raises(PermissionDenied):
        actions.revoke_access_token(row, by=team[role])
    assert AccessToken.objects.get(pk=row.pk).revoked_at is None


def test_outsiders_can_neither_issue_nor_revoke(team, purposes, sales) -> None:
    with pytest.raises(Http404):
        actions.issue_access_token("test_feed", sales, by=team.outsider)
    row, _token = actions.issue_access_token("test_feed", sales, by=team["manager"])
    with pytest.raises(Http404):
        actions.revoke_access_token(row, by=team.outsider)


def test_lifetimes_are_bounded_and_targets_checked(team, purposes, sales) -> None:
    with pytest.raises(ActionRefused):
        actions.issue_access_token(
            "test_ack", sales, by=team["manager"], lifetime=dt.timedelta(days=31)
        )
    with pytest.raises(ValueError, match=r"opens a core\.department"):
        actions.issue_access_token("test_feed", team["viewer"], by=team["manager"])
    with pytest.raises(LookupError):
        actions.issue_access_token("no_such_purpose", sales, by=team["manager"])
    with pytest.raises(ActionRefused):  # the purpose's own rule
        Department.objects.filter(pk=sales.pk).update(is_active=False)
        actions.issue_access_token("test_feed", team.department("sales"), by=team["manager"])


def test_an_operator_withdraws_a_token_in_the_admin(team, purposes, sales) -> None:
    from django.urls import reverse

    from tests.conftest import signed_in

    row, token = actions.issue_access_token("test_feed", sales, by=team["manager"])
    operator = team.outsider.user  # staff of the installation, whatever their workspace
    type(operator).objects.filter(pk=operator.pk).update(is_staff=True, is_superuser=True)
    operator.refresh_from_db()
    client = signed_in(operator)
    listing = client.get(reverse("admin:core_accesstoken_changelist"))
    assert listing.status_code == 200 and row.token_hash not in listing.content.decode()
    page = client.get(reverse("admin:core_accesstoken_change", args=[row.pk])).content.decode()
    assert row.token_hash not in page and token not in page
    client.post(
        reverse("admin:core_accesstoken_changelist"),
        {"action": "revoke", "_selected_action": [row.pk]},
    )
    with pytest.raises(ActionRefused) as refused:
        actions.use_access_token(token, purpose="test_feed")
    assert refused.value.code == "revoked"
    assert AuditEntry.objects.get(action="access.revoke").actor == operator


def test_tokens_never_reach_a_log_line(team, purposes, sales) -> None:
    _row, token = actions.issue_access_token("test_feed", sales, by=team["manager"])
    assert token not in mask(f"GET /feeds/{token}.ics?key={token} HTTP/1.1")
