"""Publishing on the sandbox network, counted at the network: every publish call that reached
the sandbox's store is in its receipts (``SandboxCall``), including the ones it de-duplicated
("duplicate"), so a blind resend is visible even though the sandbox keeps one post."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from portevoix.channels import actions, clients
from portevoix.core.permissions import can
from portevoix.publishing.models import Publication
from portevoix.sandbox import service
from portevoix.sandbox.models import SandboxCall
from portevoix.worker import runner

#: Receipts of publish calls that reached the store (the post existed after them).
STORED = ("ok", "duplicate", "timeout_after_accept")


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    clients.clear()
    yield
    clients.clear()


@pytest.fixture
def account(team):
    return service.create_account("acme-shop", display_name="Acme Shop", workspace=team.workspace)


@pytest.fixture
def channel(team, account):
    return actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        owner_department=team.department("marketing"),
    )


def publish_calls(account=None) -> Counter[str]:
    """Publish calls that reached the store, per idempotency key."""
    calls = SandboxCall.objects.filter(operation="publish", outcome__in=STORED)
    if account is not None:
        calls = calls.filter(account=account)
    return Counter(calls.values_list("idempotency_key", flat=True))


def run_publications(times: int = 5) -> None:
    for _ in range(times):
        if not runner.run_once([Publication]):
            return


# --- publications put in any state, as the worker would leave them ------------------------

PROBLEM = "Media type image/heic is not supported (400 unsupported_media)."


@pytest.fixture
def make_publication(team, channel):
    """``make_publication("failed", author=team["content"], problem=..., **fields)``."""
    import datetime as dt

    from django.utils import timezone

    from portevoix.publishing import actions as publishing
    from portevoix.publishing.models import PublicationStates

    def make(
        state=PublicationStates.rejected.name,
        *,
        author=None,
        text="Le sérum Velours arrive lundi 🌸",
        problem=PROBLEM,
        on=None,
        **fields,
    ):
        who = author if author is not None else team["content"]
        if not can(who, "post.publish_now"):
            # These tests are about what the worker leaves, not approvals (see
            # test_approvals*.py): the author publishes directly.
            from portevoix.publishing.approvals import actions as approvals

            approvals.set_trust(who, by=team["admin"], publishes_directly=True)
        post = publishing.schedule_post(
            team.workspace,
            by=who,
            text=text,
            channels=[on or channel],
            at=timezone.now() + dt.timedelta(hours=1),
        )
        publication = post.publications.get()
        if state == PublicationStates.needs_check.name:
            publication.transition(PublicationStates.outcome_unknown)
        if state != PublicationStates.scheduled.name:
            publication.transition(state, problem=problem, fields=fields or None)
        elif fields:
            Publication.objects.filter(pk=publication.pk).update(**fields)
            publication.refresh_from_db()
        return publication

    return make
