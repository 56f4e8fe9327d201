"""``portevoix demo --reset`` starts the demo again, whatever the demo's rows protect.

Every app adds demo rows; some protect others (media used by posts, SLA policies used by
clocks, compliance routes used by approval steps). The reset must remove them all: it once
failed with ``ProtectedError`` after three apps had added theirs.
"""

from __future__ import annotations

import pytest

from portevoix.core import demo
from portevoix.core.models import Member, User, Workspace

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_loads_again_after_a_reset() -> None:
    first = demo.load().workspace
    users = set(User.objects.values_list("email", flat=True))
    again = demo.load(reset=True).workspace
    assert again.pk != first.pk and again.slug == first.slug
    assert not Workspace.objects.filter(pk=first.pk).exists()
    assert Workspace.objects.filter(slug__in=[demo.SLUG, demo.SECOND_SLUG]).count() == 2
    # The same people, once each, with their memberships made again.
    assert set(User.objects.values_list("email", flat=True)) == users
    assert Member.objects.filter(workspace=again).count() >= 9
