"""Roles, actions and the one mechanism that enforces them.

Two halves, both on the server:

* :func:`can` / :func:`require` answer "may this member do this action?" from the
  :data:`MATRIX` (every role against every action). Actions call :func:`require` before they
  change anything.
* :class:`RestrictedQuerySet` restricts every user-facing query to the rows the member may
  see: ``Model.objects.visible_to(member)``. A member of another workspace, an inactive
  member or a role without the model's view action gets an empty queryset, so a view that
  forgets a check shows nothing rather than too much.

``docs/permissions.md`` is generated from the matrix (``portevoix manage permissions_doc``)
and a test fails when the two disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Self

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Social Media Manager")
    CONTENT = "content", _("Content Marketer")
    CREATIVE = "creative", _("Creative Content Marketer")
    ANALYST = "analyst", _("Social Media Analyst")
    AGENT = "agent", _("Department agent")
    VIEWER = "viewer", _("Viewer / Executive")
    AMBASSADOR = "ambassador", _("Ambassador")


ROLE_DESCRIPTIONS: dict[str, _StrPromise] = {
    Role.ADMIN: _("Runs the workspace: settings, security, every permission."),
    Role.MANAGER: _(
        "Leads the team and owns the strategy; approves what goes out; manages people."
    ),
    Role.CONTENT: _("Writes and schedules posts, answers the inbox, hands off to departments."),
    Role.CREATIVE: _("Makes the visuals and drafts posts for approval."),
    Role.ANALYST: _("Builds dashboards and reports; reads everything, publishes nothing."),
    Role.AGENT: _("Belongs to a department (sales, legal...); sees only what is handed to it."),
    Role.VIEWER: _("Executives and observers: reads plans and results, changes nothing."),
    Role.AMBASSADOR: _(
        "An employee of another department (seed 001): proposes ideas and shares approved "
        "posts from their own accounts."
    ),
}


@dataclass(frozen=True)
class Action:
    code: str
    label: _StrPromise


ACTIONS: tuple[Action, ...] = (
    Action("workspace.settings", _("Change workspace settings and security")),
    Action("member.view", _("See the team")),
    Action("member.invite", _("Invite people")),
    Action("member.change_role", _("Change roles and departments")),
    Action("member.deactivate", _("Deactivate and reactivate members")),
    Action("department.manage", _("Create and edit departments")),
    Action("audit.view", _("Read and export the audit log")),
    Action("channel.view", _("See connected channels")),
    Action("channel.manage", _("Connect, reconnect and disconnect channels")),
    Action("post.view", _("See the calendar and posts")),
    Action("post.create", _("Draft and schedule posts")),
    Action("post.approve", _("Approve posts")),
    Action("post.publish_now", _("Publish without approval")),
    Action("plan.manage", _("Manage campaigns, posting slots and recurring dates")),
    Action("idea.propose", _("Propose ideas for the content plan")),
    Action("idea.decide", _("Accept or decline ideas")),
    Action("creative.deliver", _("Deliver visuals asked for in creative requests")),
    Action(
        "post.resolve",
        _("Retry, send late, cancel or mark as published the posts that need attention"),
    ),
    Action(
        "post.publish_by_hand",
        _(
            "Mark posts of manual channels as published by hand (or not) and enter their "
            "results; a manual channel's owner may too"
        ),
    ),
    Action(
        "post.approve_compliance",
        _("Approve the compliance step of posts routed to one's department"),
    ),
    Action("post.pause", _("Pause and resume publishing, cancel a campaign")),
    Action(
        "approval.manage",
        _("Set who publishes directly, what needs approval, compliance rules, the brand guide"),
    ),
    Action("inbox.view_all", _("See every conversation")),
    Action("inbox.view_assigned", _("See conversations handed to one's department")),
    Action("inbox.reply", _("Reply to conversations")),
    Action("inbox.route", _("Assign and hand off conversations")),
    Action("inbox.configure", _("Set routing rules, business hours, SLA policies and the rota")),
    Action("inbox.manage", _("Set up the inbox: canned replies, offers, reply approval")),
    Action("listening.view", _("See listening results")),
    Action("listening.manage", _("Edit listening queries, sources and followed accounts")),
    Action("crisis.view", _("Follow a crisis")),
    Action("crisis.declare", _("Declare and close a crisis")),
    Action("analytics.view", _("See analytics")),
    Action("analytics.report", _("Build and export reports")),
    Action("strategy.view", _("See strategy and goals")),
    Action("strategy.manage", _("Edit strategy, goals and targets")),
    Action("integration.manage", _("Manage outgoing webhooks and integrations")),
    Action(
        "ambassador.share",
        _("Share the approved posts suggested to ambassadors from one's own accounts"),
    ),
    Action("ambassador.manage", _("Name ambassadors and suggest posts for them to share")),
    Action("money.view", _("See spend, budgets, leads, deal values and return on investment")),
    Action("money.spend", _("Record boosts and paid spend on posts")),
    Action("lead.record", _("Record and import leads and deals")),
    Action("budget.manage", _("Plan budgets per channel and campaign")),
    Action(
        "privacy.manage",
        _(
            "Answer data-protection requests: export or erase what is held about a person; "
            "set how long messages are kept"
        ),
    ),
)
ACTION_CODES = frozenset(a.code for a in ACTIONS)

_ALL = set(ACTION_CODES)
_READ = {
    "member.view",
    "channel.view",
    "post.view",
    "listening.view",
    "crisis.view",
    "analytics.view",
    "strategy.view",
    "idea.propose",
}

MATRIX: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset(_ALL),
    Role.MANAGER: frozenset(_ALL - {"workspace.settings"}),
    Role.CONTENT: frozenset(
        _READ
        | {
            "post.create",
            # Seed 002: the content marketer is responsible for publishing; asking
            # permission for every message "cannot work". A manager may withdraw it per member.
            "post.publish_now",
            "post.pause",
            "plan.manage",
            "post.resolve",
            "inbox.view_all",
            "inbox.view_assigned",
            "inbox.reply",
            "inbox.route",
            # Seed 002: the content marketer boosts posts, so enters their spend and sees it.
            "money.view",
            "money.spend",
        }
    ),
    Role.CREATIVE: frozenset(_READ | {"post.create", "creative.deliver"}),
    Role.ANALYST: frozenset(
        _READ
        | {
            "inbox.view_all",
            "listening.manage",
            "analytics.report",
            # The analyst reads the return on investment and imports the CRM's leads.
            "money.view",
            "lead.record",
        }
    ),
    Role.AGENT: frozenset(
        {
            "inbox.view_assigned",
            "inbox.reply",
            "crisis.view",
            "post.approve_compliance",
            "idea.propose",
        }
    ),
    # Executives read what the money bought; they change nothing.
    Role.VIEWER: frozenset(_READ | {"money.view"}),
    # Seed 001: people of other departments who are already active on a network; they read
    # nothing of the team's work beyond what is suggested to them.
    Role.AMBASSADOR: frozenset({"idea.propose", "ambassador.share", "crisis.view"}),
}


class MemberLike(Protocol):
    role: str
    is_active: bool
    workspace_id: int


#: Extra roles are stored in one column, each code between commas (",content,ambassador,"),
#: so that "who holds this role" is one portable query (``holding``) and ``can()`` needs none.
def split_roles(stored: str) -> list[str]:
    return [code for code in (stored or "").split(",") if code]


def join_roles(codes: Iterable[str]) -> str:
    ordered = [r.value for r in Role if r.value in set(codes)]
    return f",{','.join(ordered)}," if ordered else ""


def member_roles(member: MemberLike) -> frozenset[str]:
    """The member's main role and extra roles (a small team's manager is often also its
    content marketer, seed 002)."""
    return frozenset({member.role, *split_roles(getattr(member, "extra_roles", ""))})


def has_role(member: MemberLike, role: str) -> bool:
    return role in member_roles(member)


def holding(roles: Iterable[str], prefix: str = "") -> Q:
    """Members holding one of ``roles``, as their main role or an extra one. ``prefix``: the
    lookup from the queried model to the member (``"memberships__"``)."""
    roles = list(roles)
    query = Q(**{f"{prefix}role__in": roles})
    for role in roles:
        query |= Q(**{f"{prefix}extra_roles__contains": f",{role},"})
    return query


def members_with(action: str, prefix: str = "") -> Q:
    """Members whose roles (any of them) allow ``action``: who to tell about something."""
    return holding(roles_with(action), prefix)


def _assert_known(action: str) -> None:
    if action not in ACTION_CODES:
        raise ValueError(f"unknown action {action!r}")


def can(member: MemberLike | None, action: str) -> bool:
    """May ``member`` perform ``action``? Unknown actions are a programming error."""
    _assert_known(action)
    if member is None or not member.is_active:
        return False
    return any(action in MATRIX.get(role, frozenset()) for role in member_roles(member))


def require(member: MemberLike | None, action: str) -> None:
    """Raise :class:`PermissionDenied` with a readable message unless :func:`can`."""
    if not can(member, action):
        label = next(a.label for a in ACTIONS if a.code == action)
        raise PermissionDenied(_("Your role does not allow this: %(action)s.") % {"action": label})


def require_any(member: MemberLike | None, *actions: str) -> None:
    """Pass if the member :func:`can` do one of ``actions``; else refuse with the reason of
    the last one (list the broadest first: the refusal names the least that would do)."""
    if not any(can(member, action) for action in actions):
        require(member, actions[-1])


def roles_with(action: str) -> list[str]:
    """The roles that may perform ``action``. To find members, use :func:`members_with`, which
    also reads their extra roles."""
    _assert_known(action)
    return [role for role, allowed in MATRIX.items() if action in allowed]


class RestrictedQuerySet(models.QuerySet[Any]):
    """A queryset that knows how to narrow itself to what a member may see.

    A model opts in with ``objects = RestrictedQuerySet.as_manager()`` and may declare:

    * ``WORKSPACE_PATH`` (default ``"workspace"``): the lookup from the model to its workspace;
    * ``VIEW_ACTION``: the action a member needs to see any row at all;
    * ``restrict_rows(queryset, member)``: a classmethod narrowing further (per department...).
    """

    def visible_to(self, member: MemberLike | None, action: str | None = None) -> Self:
        if member is None or not member.is_active:
            return self.none()
        needed = action or getattr(self.model, "VIEW_ACTION", None)
        if needed is not None and not can(member, needed):
            return self.none()
        path = getattr(self.model, "WORKSPACE_PATH", "workspace")
        queryset = self.filter(**{f"{path}_id" if "__" not in path else path: member.workspace_id})
        restrict: Callable[[Self, MemberLike], Self] | None = getattr(
            self.model, "restrict_rows", None
        )
        if restrict is not None:
            queryset = restrict(queryset, member)
        return queryset

    def get_for(self, member: MemberLike | None, action: str | None = None, **lookup: Any) -> Any:
        """The one row the member may see, or :class:`django.http.Http404`.

        A row of another workspace answers exactly like a row that does not exist, so an
        outsider learns nothing by guessing ids.
        """
        from django.http import Http404

        try:
            return self.visible_to(member, action).get(**lookup)
        except (self.model.DoesNotExist, ValueError, TypeError) as exc:
            raise Http404("not found") from exc


def matrix_markdown() -> str:
    """The permission matrix as the Markdown table kept in ``docs/permissions.md``."""
    from django.utils import translation

    with translation.override("en"):
        roles = list(Role)
        lines = [
            "# Permission matrix",
            "",
            "Generated from `portevoix/core/permissions.py` by "
            "`portevoix manage permissions_doc`; a test fails when this file and the code "
            "disagree. Every cell is enforced on the server: actions call `require()`, and "
            "every query goes through `visible_to(member)`. A member of another workspace, "
            "or a deactivated member, can do nothing and sees nothing.",
            "",
            "## Roles",
            "",
        ]
        for role in roles:
            lines.append(f"- **{role.label}** (`{role.value}`): {ROLE_DESCRIPTIONS[role]}")
        lines += ["", "## Actions", ""]
        header = "| action | " + " | ".join(str(r.label) for r in roles) + " |"
        lines.append(header)
        lines.append("| --- " * (len(roles) + 1) + "|")
        for action in ACTIONS:
            cells = ["yes" if action.code in MATRIX[r] else "—" for r in roles]
            lines.append(f"| {action.label} (`{action.code}`) | " + " | ".join(cells) + " |")
        lines += [
            "",
            "## Rules beyond the matrix",
            "",
            "- A member has one main role and may hold extra roles (a small team's manager is "
            "often its content marketer too): they may do what any of their roles allows, "
            "and every list of people by role (who to tell, who approves, who answers) "
            "includes them through each role. Only an admin changes extra roles; admin is "
            "never an extra role.",
            "- Only an admin may make someone an admin or change an admin's role.",
            "- The last active admin of a workspace can be neither demoted nor deactivated.",
            "- A department agent must belong to a department.",
            "- Deactivating a member ends all of that person's open sessions at once.",
            "- A workspace can require two-factor authentication; members without an "
            "authenticator are sent to set one up before they see anything.",
            "",
            "## Approvals (see approvals.md)",
            "",
            "- Publishing without approval (`post.publish_now`) is the role's default; a "
            "manager grants it to or withdraws it from one member, requires approval on a "
            "channel, or from everyone for a while (a launch). Whatever these settings say "
            "is enforced for every way in (the pages, the CLI, the API) and checked again "
            "when the post is sent.",
            "- Nobody approves their own post. A post needs at most one approval: from the "
            "approver the workspace names (one person, whatever their role, or one role), "
            "else from anyone with `post.approve`; plus one compliance step per department a "
            "compliance route sends it to.",
            "- A compliance step is approved only by members of its department with "
            "`post.approve_compliance`, and they may approve that step and nothing else; "
            "they see the posts routed to their department and no other part of the plan.",
            "- A channel at the passive listener level takes no new post or campaign; "
            "replies and private messages to customers still go out there.",
            "- Replies to customers need `inbox.reply`; a public reply waits for approval "
            "unless its author publishes directly; private replies need none.",
            "",
        ]
        return "\n".join(lines)
