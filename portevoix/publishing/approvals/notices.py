"""What approvals and pauses tell people. Wired to the one notification path when it lands
on main (``portevoix.notifications``); until then these only log."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portevoix.core.models import Member
    from portevoix.publishing.approvals.models import ApprovalStep, Pause

log = logging.getLogger(__name__)


def step_requested(step: ApprovalStep, deciders: list[Member]) -> None:
    log.info("approval step %s asked of %s", step.pk, [m.pk for m in deciders])


def step_reminder(step: ApprovalStep, deciders: list[Member]) -> None:
    log.info("approval step %s recalled to %s", step.pk, [m.pk for m in deciders])


def step_decided(step: ApprovalStep) -> None:
    log.info("approval step %s decided: %s", step.pk, step.state)


def pause_changed(row: Pause, kind: str, by: Member | None) -> None:
    log.info("%s: %s", kind, row.scope_key)
