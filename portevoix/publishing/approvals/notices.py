"""What approvals and pauses tell people, through the one notification path
(:func:`portevoix.notifications.actions.notify`), inside the transaction of the change.

Who hears what:

* a request for approval (``approval.requested``): everyone who may decide the step (the named
  approver, the members of the named role, or anyone with ``post.approve``; for a compliance
  step, the department's agents with ``post.approve_compliance``), never the author;
* a reminder (``approval.reminder``): the same people, when the step still waits after the
  workspace's interval (the ``approval-reminders`` housekeeping job);
* a decision (``approval.decided``): the post's author, unless they decided it themselves;
* a pause and its end (``publishing.paused``): every member who may write posts, but the
  one who paused or resumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portevoix.notifications.actions import notify
from portevoix.notifications.kinds import Delivery, Kind, register

if TYPE_CHECKING:
    from portevoix.core.models import Member
    from portevoix.publishing.approvals.models import ApprovalStep, Pause
    from portevoix.publishing.models import Post

REQUESTED = "approval.requested"
REMINDER = "approval.reminder"
DECIDED = "approval.decided"
PAUSED = "publishing.paused"

STEP_TEMPLATE = "publishing/notifications/approval.txt"
PAUSE_TEMPLATE = "publishing/notifications/pause.txt"


def _requested(params: Mapping[str, Any]) -> str:
    if params.get("department"):
        return gettext("A post waits for the compliance step of %(department)s") % {
            "department": params["department"]
        }
    return gettext("A post by %(author)s waits for your approval") % {
        "author": params.get("author") or gettext("someone")
    }


def _reminder(params: Mapping[str, Any]) -> str:
    return gettext("Reminder: a post by %(author)s still waits for approval") % {
        "author": params.get("author") or gettext("someone")
    }


def _decided(params: Mapping[str, Any]) -> str:
    values = {"who": params.get("by") or gettext("someone")}
    if params.get("state") == "approved":
        return gettext("%(who)s approved your post") % values
    if params.get("state") == "rejected":
        return gettext("%(who)s rejected your post") % values
    return gettext("%(who)s asks for changes to your post") % values


def _paused(params: Mapping[str, Any]) -> str:
    values = {"scope": _scope_words(params)}
    if params.get("state") == "resumed":
        return gettext("Publishing resumed on %(scope)s") % values
    return gettext("Publishing is paused on %(scope)s") % values


def _scope_words(params: Mapping[str, Any]) -> str:
    if params.get("channel"):
        return gettext("the channel %(name)s") % {"name": params["channel"]}
    if params.get("campaign"):
        return gettext("the campaign %(name)s") % {"name": params["campaign"]}
    return gettext("the whole workspace")


KINDS = (
    Kind(
        code=REQUESTED,
        label=_("A post waits for your approval"),
        help=_("Someone submitted a post that you may approve (or its compliance step)."),
        title=_requested,
        template=STEP_TEMPLATE,
        default=Delivery.BOTH,
    ),
    Kind(
        code=REMINDER,
        label=_("Reminder of a post still waiting for your approval"),
        help=_("Sent after the workspace's reminder interval, a few times at most."),
        title=_reminder,
        template=STEP_TEMPLATE,
        default=Delivery.APP,
    ),
    Kind(
        code=DECIDED,
        label=_("A decision on a post of yours"),
        help=_("Approved, changes requested or rejected, with the comment."),
        title=_decided,
        template=STEP_TEMPLATE,
        default=Delivery.BOTH,
        audience="post.create",
    ),
    Kind(
        code=PAUSED,
        label=_("Publishing paused or resumed"),
        help=_("For the whole workspace, a channel or a campaign."),
        title=_paused,
        template=PAUSE_TEMPLATE,
        default=Delivery.BOTH,
        audience="post.create",
    ),
)


def register_kinds() -> None:
    for kind in KINDS:
        register(kind)


def _review_url(post: Post) -> str:
    return reverse("approval_review", kwargs={"ws": post.workspace.slug, "pk": post.pk})


def _step_params(step: ApprovalStep) -> dict[str, Any]:
    post = step.post
    return {
        "excerpt": Truncator(post.title or post.text).chars(120),
        "author": post.author.display_name if post.author else "",
        "kind": step.kind,
        "department": step.department.name if step.department else "",
        "note": step.note,
        "requested_at": step.requested_at.isoformat(),
        "state": step.state,
        "by": "",
        "comment": step.comment,
    }


def step_requested(step: ApprovalStep, deciders: list[Member]) -> None:
    post = step.post
    notify(
        post.workspace,
        REQUESTED,
        deciders,
        obj=post,
        params=_step_params(step),
        url=_review_url(post),
        key=f"step:{step.pk}",
    )


def step_reminder(step: ApprovalStep, deciders: list[Member]) -> None:
    post = step.post
    notify(
        post.workspace,
        REMINDER,
        deciders,
        obj=post,
        params={**_step_params(step), "reminder": step.reminders_sent},
        url=_review_url(post),
        key=f"step:{step.pk}:reminder:{step.reminders_sent}",
    )


def step_decided(step: ApprovalStep) -> None:
    from portevoix.core.models import Member

    post = step.post
    if post.author_id is None or post.author_id == step.decided_by_id:
        return
    author = Member.objects.filter(
        workspace_id=post.workspace_id, user_id=post.author_id, is_active=True
    ).first()
    if author is None:
        return
    params = _step_params(step)
    params["by"] = step.decided_by.display_name if step.decided_by else ""
    notify(
        post.workspace,
        DECIDED,
        [author],
        obj=post,
        params=params,
        url=_review_url(post),
        key=f"step:{step.pk}:{step.state}",
    )


def pause_changed(row: Pause, kind: str, by: Member | None) -> None:
    """``kind`` is ``publishing.paused`` or ``publishing.resumed``."""
    from portevoix.core.models import Member
    from portevoix.core.permissions import members_with

    workspace = row.workspace
    people = Member.objects.filter(
        members_with("post.create"), workspace=workspace, is_active=True
    ).select_related("user")
    if by is not None:
        people = people.exclude(pk=by.pk)
    resumed = kind.endswith("resumed")
    notify(
        workspace,
        PAUSED,
        list(people),
        obj=row,
        params={
            "state": "resumed" if resumed else "paused",
            "channel": row.channel.name if row.channel else "",
            "campaign": row.campaign.name if row.campaign else "",
            "reason": row.reason,
            "by": by.user.display_name if by else "",
            "paused": row.paused_count,
            "resumed": row.resumed_count,
            "held": row.held_count,
        },
        url=reverse("pause", kwargs={"ws": workspace.slug}),
        key=f"pause:{row.pk}:{'resumed' if resumed else 'paused'}",
    )
