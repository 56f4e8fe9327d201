"""Every change to workspaces, members, invitations and departments.

Views, the API, the CLI and the worker call these functions; nothing else writes. Each one
checks permission, validates, changes state, writes the audit entry in the same transaction
and schedules side effects (e-mails, ending sessions) after the transaction commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from portevoix.core import access, audit
from portevoix.core.models import (
    INVITATION_LIFETIME,
    LATENESS_LIMIT_MAX,
    LATENESS_LIMIT_MIN,
    AccessToken,
    Department,
    Invitation,
    LatePolicy,
    Member,
    User,
    Workspace,
)
from portevoix.core.permissions import Role, join_roles, require, split_roles


class ActionRefused(Exception):
    """A request that breaks a rule. The message is meant for the person who asked."""

    def __init__(self, message: str, *, code: str = "refused", field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


DEFAULT_DEPARTMENTS: tuple[tuple[str, Any], ...] = (
    ("marketing", gettext_lazy("Marketing")),
    ("communication", gettext_lazy("Communication / PR")),
    ("customer_service", gettext_lazy("Customer service")),
    ("sales", gettext_lazy("Sales")),
    ("hr", gettext_lazy("HR")),
    ("legal", gettext_lazy("Legal")),
    ("it", gettext_lazy("IT")),
    ("finance", gettext_lazy("Finance")),
    ("direction", gettext_lazy("Management")),
)

MEMBER_FIELDS = ["role", "department", "is_active"]
WORKSPACE_FIELDS = [
    "name",
    "time_zone",
    "language",
    "require_two_factor",
    "lateness_limit_minutes",
    "when_late",
]
DEPARTMENT_FIELDS = ["name", "description", "contact_email", "is_active"]


# --- workspaces -------------------------------------------------------------------------


@transaction.atomic
def create_workspace(
    *,
    name: str,
    creator: User,
    slug: str = "",
    time_zone: str = "Europe/Paris",
    language: str = "fr",
) -> Workspace:
    """A new workspace with its default departments; its creator is its first admin."""
    name = name.strip()
    if not name:
        raise ActionRefused(_("A workspace needs a name."), field="name")
    slug = slugify(slug or name)[:60]
    if not slug:
        raise ActionRefused(_("Choose a short name made of letters or digits."), field="slug")
    if Workspace.objects.filter(slug=slug).exists():
        raise ActionRefused(
            _("The short name “%(slug)s” is already taken.") % {"slug": slug}, field="slug"
        )
    workspace = Workspace.objects.create(
        name=name, slug=slug, time_zone=time_zone, language=language
    )
    with translation.override(language):
        for code, label in DEFAULT_DEPARTMENTS:
            Department.objects.create(workspace=workspace, code=code, name=str(label))
    member = Member.objects.create(workspace=workspace, user=creator, role=Role.ADMIN)
    audit.record(
        "workspace.create",
        workspace=workspace,
        actor=creator,
        obj=workspace,
        after=audit.snapshot(workspace, ["name", "slug", *WORKSPACE_FIELDS]),
    )
    audit.record(
        "member.add",
        workspace=workspace,
        actor=creator,
        obj=member,
        after=audit.snapshot(member, MEMBER_FIELDS),
    )
    return workspace


@transaction.atomic
def update_workspace(workspace: Workspace, *, by: Member, **changes: Any) -> Workspace:
    require(by, "workspace.settings")
    _same_workspace(by, workspace)
    unknown = set(changes) - set(WORKSPACE_FIELDS)
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)}")
    if "name" in changes and not str(changes["name"]).strip():
        raise ActionRefused(_("A workspace needs a name."), field="name")
    if "lateness_limit_minutes" in changes:
        limit = changes["lateness_limit_minutes"]
        if (
            not isinstance(limit, int)
            or isinstance(limit, bool)
            or not LATENESS_LIMIT_MIN <= limit <= LATENESS_LIMIT_MAX
        ):
            raise ActionRefused(
                _("The lateness limit is between 5 minutes and 7 days (10,080 minutes)."),
                field="lateness_limit_minutes",
            )
    if "when_late" in changes and changes["when_late"] not in LatePolicy.values:
        raise ActionRefused(_("Choose what happens to a late post."), field="when_late")
    before = audit.snapshot(workspace, WORKSPACE_FIELDS)
    for key, value in changes.items():
        setattr(workspace, key, value)
    workspace.save()
    audit.record(
        "workspace.update",
        workspace=workspace,
        actor=by.user,
        obj=workspace,
        before=before,
        after=audit.snapshot(workspace, WORKSPACE_FIELDS),
    )
    return workspace


# --- the installation's operators (staff, in /admin/) ------------------------------------


def require_operator(user: User | None, permission: str) -> None:
    """Staff act on the whole installation; each operator action needs a model permission
    too (a superuser has them all)."""
    if user is None or not user.is_active or not user.is_staff or not user.has_perm(permission):
        raise PermissionDenied(_("This needs an operator of the installation."))


#: Things that must be settled before a workspace is archived, registered by the apps that
#: know them (channels: "disconnect its channels first"). Each returns a refusal or None.
ARCHIVE_CHECKS: list[Callable[[Workspace], str | None]] = []


def register_archive_check(check: Callable[[Workspace], str | None]) -> None:
    if check not in ARCHIVE_CHECKS:
        ARCHIVE_CHECKS.append(check)


@transaction.atomic
def archive_workspace(workspace: Workspace, *, by: User) -> Workspace:
    """Close a workspace and keep its history: it leaves everyone's workspace switcher, its
    pages answer "archived", its invitations stop working. Nothing is deleted; an operator
    can restore it."""
    require_operator(by, "core.change_workspace")
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    if workspace.archived_at is not None:
        return workspace
    for check in ARCHIVE_CHECKS:
        refusal = check(workspace)
        if refusal:
            raise ActionRefused(refusal, code="archive_blocked")
    workspace.archived_at = timezone.now()
    workspace.save(update_fields=["archived_at"])
    audit.record(
        "workspace.archive",
        workspace=workspace,
        actor=by,
        obj=workspace,
        before={"archived_at": None},
        after=audit.snapshot(workspace, ["archived_at"]),
    )
    return workspace


@transaction.atomic
def restore_workspace(workspace: Workspace, *, by: User) -> Workspace:
    require_operator(by, "core.change_workspace")
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    if workspace.archived_at is None:
        return workspace
    before = audit.snapshot(workspace, ["archived_at"])
    workspace.archived_at = None
    workspace.save(update_fields=["archived_at"])
    audit.record(
        "workspace.restore",
        workspace=workspace,
        actor=by,
        obj=workspace,
        before=before,
        after={"archived_at": None},
    )
    return workspace


@transaction.atomic
def reset_two_factor(user: User, *, by: User) -> int:
    """For a person who lost their authenticator: remove it (and its recovery codes) and end
    their sessions; they set a new one up at their next login where it is required."""
    from allauth.mfa.models import Authenticator

    require_operator(by, "core.change_user")
    removed, _detail = Authenticator.objects.filter(user=user).delete()
    audit.record(
        "user.reset_two_factor", workspace=None, actor=by, obj=user, after={"removed": removed}
    )
    transaction.on_commit(lambda: end_sessions(user))
    return int(removed)


@transaction.atomic
def end_user_sessions(user: User, *, by: User) -> None:
    """Log a person out everywhere (a stolen laptop)."""
    require_operator(by, "core.change_user")
    audit.record("user.end_sessions", workspace=None, actor=by, obj=user)
    transaction.on_commit(lambda: end_sessions(user))


# --- invitations ------------------------------------------------------------------------


def _same_workspace(by: Member, workspace: Workspace) -> None:
    """The member acts in this workspace, and it is open: an archived workspace changes no
    more, whatever the way in (pages, the command line, the worker on a member's behalf)."""
    if by.workspace_id != workspace.pk:
        # Answer like a missing object: an outsider learns nothing.
        raise Http404("not found")
    if workspace.archived_at is not None:
        raise ActionRefused(_("This workspace is archived."), code="archived")


def _check_department(workspace: Workspace, role: str, department: Department | None) -> None:
    if department is not None and department.workspace_id != workspace.pk:
        raise ActionRefused(_("That department does not exist here."), field="department")
    if role == Role.AGENT and department is None:
        raise ActionRefused(
            _("A department agent must belong to a department."), field="department"
        )


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ActionRefused(_("Unknown role."), field="role")


def invitation_url(token: str) -> str:
    return settings.PORTEVOIX_BASE_URL + reverse("invitation_accept", args=[token])


@transaction.atomic
def invite(
    workspace: Workspace,
    *,
    by: Member,
    email: str,
    role: str,
    department: Department | None = None,
) -> tuple[Invitation, str]:
    """Create an invitation and e-mail its link. Returns the invitation and its secret token.

    The token is shown once (to let the inviter copy the link) and stored only as a hash.
    """
    require(by, "member.invite")
    _same_workspace(by, workspace)
    email = User.objects.normalize_email(email.strip()).lower()
    if "@" not in email:
        raise ActionRefused(_("Enter a valid e-mail address."), field="email")
    _check_role(role)
    if role == Role.ADMIN and by.role != Role.ADMIN:
        raise ActionRefused(_("Only an admin can invite an admin."), field="role")
    _check_department(workspace, role, department)
    existing = Member.objects.filter(workspace=workspace, user__email__iexact=email).first()
    if existing is not None:
        if existing.is_active:
            raise ActionRefused(
                _("%(email)s is already a member of this workspace.") % {"email": email},
                code="duplicate",
                field="email",
            )
        raise ActionRefused(
            _("%(email)s is a deactivated member: reactivate them instead.") % {"email": email},
            code="duplicate",
            field="email",
        )
    now = timezone.now()
    pending = Invitation.objects.filter(
        workspace=workspace,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    )
    if pending.exists():
        raise ActionRefused(
            _("%(email)s already has a pending invitation: resend or revoke it.")
            % {"email": email},
            code="duplicate",
            field="email",
        )
    token, token_hash = Invitation.new_token()
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        department=department,
        token_hash=token_hash,
        invited_by=by.user,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    audit.record(
        "invitation.create",
        workspace=workspace,
        actor=by.user,
        obj=invitation,
        after={"email": email, "role": role, "department": department},
    )
    transaction.on_commit(lambda: _send_invitation(invitation, token))
    return invitation, token


def _send_invitation(invitation: Invitation, token: str) -> None:
    with translation.override(invitation.workspace.language):
        context = {
            "invitation": invitation,
            "url": invitation_url(token),
            "inviter": invitation.invited_by,
        }
        subject = _("You are invited to %(workspace)s on Porte-voix") % {
            "workspace": invitation.workspace.name
        }
        body = render_to_string("core/email/invitation.txt", context)
    send_mail(subject, body, None, [invitation.email])


@transaction.atomic
def resend_invitation(invitation: Invitation, *, by: Member) -> str:
    """A fresh link and a new expiry; the old link stops working."""
    require(by, "member.invite")
    _same_workspace(by, invitation.workspace)
    if invitation.accepted_at or invitation.revoked_at:
        raise ActionRefused(_("This invitation is closed."))
    token, token_hash = Invitation.new_token()
    invitation.token_hash = token_hash
    invitation.expires_at = timezone.now() + INVITATION_LIFETIME
    invitation.save(update_fields=["token_hash", "expires_at"])
    audit.record("invitation.resend", workspace=invitation.workspace, actor=by.user, obj=invitation)
    transaction.on_commit(lambda: _send_invitation(invitation, token))
    return token


@transaction.atomic
def revoke_invitation(invitation: Invitation, *, by: Member) -> None:
    require(by, "member.invite")
    _same_workspace(by, invitation.workspace)
    if invitation.accepted_at:
        raise ActionRefused(_("This invitation was already accepted."))
    if invitation.revoked_at:
        return
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit.record("invitation.revoke", workspace=invitation.workspace, actor=by.user, obj=invitation)


def check_invitation(token: str) -> Invitation:
    """The open invitation behind ``token``, or a refusal that says why."""
    invitation = Invitation.find(token) if token else None
    if invitation is None:
        raise ActionRefused(
            _("This invitation link is not valid. Ask for a new one."), code="invalid"
        )
    if invitation.workspace.archived_at is not None:
        raise ActionRefused(_("This workspace is archived."), code="archived")
    status = invitation.status
    if status == "accepted":
        raise ActionRefused(_("This invitation was already used."), code="used")
    if status == "revoked":
        raise ActionRefused(_("This invitation was withdrawn."), code="revoked")
    if status == "expired":
        raise ActionRefused(_("This invitation has expired. Ask for a new one."), code="expired")
    return invitation


@transaction.atomic
def accept_invitation(
    token: str, *, user: User | None = None, full_name: str = "", password: str = ""
) -> Member:
    """Join the workspace. An anonymous visitor creates their account here."""
    invitation = check_invitation(token)
    # Lock the row so that two clicks cannot both accept.
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at:
        raise ActionRefused(_("This invitation was already used."), code="used")
    if user is None:
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise ActionRefused(
                _("An account already exists for %(email)s: log in to accept.")
                % {"email": invitation.email},
                code="login_required",
            )
        from django.contrib.auth.password_validation import validate_password
        from django.core.exceptions import ValidationError

        candidate = User(email=invitation.email, full_name=full_name.strip())
        try:
            validate_password(password, candidate)
        except ValidationError as exc:
            raise ActionRefused(" ".join(exc.messages), field="password") from exc
        user = User.objects.create_user(invitation.email, password, full_name=full_name.strip())
    elif user.email.lower() != invitation.email.lower():
        raise ActionRefused(
            _("This invitation was sent to %(email)s; you are logged in as %(me)s.")
            % {"email": invitation.email, "me": user.email},
            code="wrong_user",
        )
    try:
        with transaction.atomic():
            member = Member.objects.create(
                workspace=invitation.workspace,
                user=user,
                role=invitation.role,
                department=invitation.department,
            )
    except IntegrityError as exc:
        raise ActionRefused(
            _("You are already a member of this workspace."), code="duplicate"
        ) from exc
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit.record(
        "invitation.accept",
        workspace=invitation.workspace,
        actor=user,
        obj=member,
        after=audit.snapshot(member, MEMBER_FIELDS),
    )
    return member


# --- members ----------------------------------------------------------------------------


def _other_active_admins(member: Member) -> bool:
    return (
        Member.objects.filter(workspace_id=member.workspace_id, role=Role.ADMIN, is_active=True)
        .exclude(pk=member.pk)
        .exists()
    )


@transaction.atomic
def change_role(
    member: Member,
    *,
    by: Member,
    role: str,
    department: Department | None = None,
) -> Member:
    require(by, "member.change_role")
    _same_workspace(by, member.workspace)
    _check_role(role)
    member = Member.objects.select_for_update().get(pk=member.pk)
    if by.role != Role.ADMIN and Role.ADMIN in (role, member.role):
        raise ActionRefused(_("Only an admin can grant or remove the admin role."), field="role")
    _check_department(member.workspace, role, department)
    if member.role == Role.ADMIN and role != Role.ADMIN and not _other_active_admins(member):
        raise ActionRefused(
            _("This is the last admin of the workspace: make someone else admin first."),
            code="last_admin",
            field="role",
        )
    extras = [r for r in split_roles(member.extra_roles) if r != role]
    if Role.AGENT in extras:
        _check_department(member.workspace, Role.AGENT, department)
    before = audit.snapshot(member, MEMBER_FIELDS)
    member.role = role
    member.department = department
    member.extra_roles = join_roles(extras)
    member.save(update_fields=["role", "department", "extra_roles"])
    audit.record(
        "member.change_role",
        workspace=member.workspace,
        actor=by.user,
        obj=member,
        before=before,
        after=audit.snapshot(member, MEMBER_FIELDS),
    )
    return member


@transaction.atomic
def set_extra_roles(member: Member, *, by: Member, roles: list[str]) -> Member:
    """The roles ``member`` holds besides the main one (seed 002: in a small team one person
    is manager and content marketer). Admins only; admin itself is never an extra role (it
    already allows everything), so this can never take the last admin away."""
    require(by, "member.change_role")
    _same_workspace(by, member.workspace)
    if by.role != Role.ADMIN:
        raise ActionRefused(_("Only an admin can change extra roles."), field="extra_roles")
    for code in roles:
        _check_role(code)
    if Role.ADMIN in roles:
        raise ActionRefused(
            _("Admin is a main role only: change the main role instead."), field="extra_roles"
        )
    member = Member.objects.select_for_update().get(pk=member.pk)
    extras = [r for r in dict.fromkeys(roles) if r != member.role]
    if Role.AGENT in extras:
        try:
            _check_department(member.workspace, Role.AGENT, member.department)
        except ActionRefused as exc:
            raise ActionRefused(exc.message, field="extra_roles") from exc
    stored = join_roles(extras)
    if stored == member.extra_roles:
        return member
    before = {"extra_roles": split_roles(member.extra_roles)}
    member.extra_roles = stored
    member.save(update_fields=["extra_roles"])
    audit.record(
        "member.extra_roles",
        workspace=member.workspace,
        actor=by.user,
        obj=member,
        before=before,
        after={"extra_roles": split_roles(stored)},
    )
    return member


@transaction.atomic
def deactivate_member(member: Member, *, by: Member) -> Member:
    """Take access away at once: the member's open sessions end when this commits."""
    require(by, "member.deactivate")
    _same_workspace(by, member.workspace)
    member = Member.objects.select_for_update().get(pk=member.pk)
    if not member.is_active:
        return member
    if member.role == Role.ADMIN:
        if by.role != Role.ADMIN:
            raise ActionRefused(_("Only an admin can deactivate an admin."))
        if not _other_active_admins(member):
            raise ActionRefused(
                _("This is the last admin of the workspace: it cannot be deactivated."),
                code="last_admin",
            )
    before = audit.snapshot(member, MEMBER_FIELDS)
    member.is_active = False
    member.deactivated_at = timezone.now()
    member.save(update_fields=["is_active", "deactivated_at"])
    audit.record(
        "member.deactivate",
        workspace=member.workspace,
        actor=by.user,
        obj=member,
        before=before,
        after=audit.snapshot(member, MEMBER_FIELDS),
    )
    user = member.user
    transaction.on_commit(lambda: end_sessions(user))
    return member


@transaction.atomic
def reactivate_member(member: Member, *, by: Member) -> Member:
    require(by, "member.deactivate")
    _same_workspace(by, member.workspace)
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.is_active:
        return member
    if member.role == Role.ADMIN and by.role != Role.ADMIN:
        raise ActionRefused(_("Only an admin can reactivate an admin."))
    before = audit.snapshot(member, MEMBER_FIELDS)
    member.is_active = True
    member.deactivated_at = None
    member.save(update_fields=["is_active", "deactivated_at"])
    audit.record(
        "member.reactivate",
        workspace=member.workspace,
        actor=by.user,
        obj=member,
        before=before,
        after=audit.snapshot(member, MEMBER_FIELDS),
    )
    return member


def end_sessions(user: User) -> int:
    """End every open session of ``user`` (tracked by allauth's user sessions)."""
    from allauth.usersessions.models import UserSession
    from django.contrib.sessions.models import Session

    ended = 0
    for session in UserSession.objects.filter(user=user):
        Session.objects.filter(session_key=session.session_key).delete()
        session.delete()
        ended += 1
    return ended


# --- departments ------------------------------------------------------------------------


@transaction.atomic
def create_department(
    workspace: Workspace,
    *,
    by: Member,
    name: str,
    description: str = "",
    contact_email: str = "",
) -> Department:
    require(by, "department.manage")
    _same_workspace(by, workspace)
    name = name.strip()
    if not name:
        raise ActionRefused(_("A department needs a name."), field="name")
    if Department.objects.filter(workspace=workspace, name__iexact=name).exists():
        raise ActionRefused(
            _("A department called “%(name)s” already exists.") % {"name": name}, field="name"
        )
    base = slugify(name).replace("-", "_")[:36] or "department"
    code, n = base, 2
    while Department.objects.filter(workspace=workspace, code=code).exists():
        code, n = f"{base}_{n}", n + 1
    department = Department.objects.create(
        workspace=workspace,
        code=code,
        name=name,
        description=description.strip(),
        contact_email=contact_email.strip(),
    )
    audit.record(
        "department.create",
        workspace=workspace,
        actor=by.user,
        obj=department,
        after=audit.snapshot(department, DEPARTMENT_FIELDS),
    )
    return department


@transaction.atomic
def update_department(department: Department, *, by: Member, **changes: Any) -> Department:
    require(by, "department.manage")
    _same_workspace(by, department.workspace)
    unknown = set(changes) - set(DEPARTMENT_FIELDS)
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)}")
    if "name" in changes:
        changes["name"] = str(changes["name"]).strip()
        if not changes["name"]:
            raise ActionRefused(_("A department needs a name."), field="name")
        clash = Department.objects.filter(
            Q(name__iexact=changes["name"]), workspace_id=department.workspace_id
        ).exclude(pk=department.pk)
        if clash.exists():
            raise ActionRefused(
                _("A department called “%(name)s” already exists.") % {"name": changes["name"]},
                field="name",
            )
    if changes.get("is_active") is False and department.members.filter(is_active=True).exists():
        raise ActionRefused(
            _("Move this department's members elsewhere before archiving it."),
            field="is_active",
        )
    before = audit.snapshot(department, DEPARTMENT_FIELDS)
    for key, value in changes.items():
        setattr(department, key, value)
    department.save()
    audit.record(
        "department.update",
        workspace=department.workspace,
        actor=by.user,
        obj=department,
        before=before,
        after=audit.snapshot(department, DEPARTMENT_FIELDS),
    )
    return department


# --- ways in without a login: access tokens (core/access.py, docs/ways-in.md) ------------


def _workspace_id_of(obj: models.Model) -> int:
    if isinstance(obj, Workspace):
        return int(obj.pk)
    workspace_id = getattr(obj, "workspace_id", None)
    if workspace_id is None:
        raise ValueError(f"{access.target_label(obj)} has no workspace: no token can open it")
    return int(workspace_id)


@transaction.atomic
def issue_access_token(
    purpose_code: str,
    obj: models.Model,
    *,
    by: Member,
    lifetime: dt.timedelta | None = None,
) -> tuple[AccessToken, str]:
    """A token that opens ``obj`` for ``purpose_code``. Returns the row and the token itself,
    which is shown once (only its hash is kept)."""
    purpose = access.purpose(purpose_code)
    require(by, purpose.issue_action)
    if access.target_label(obj) != purpose.target:
        raise ValueError(
            f"a {purpose.code} token opens a {purpose.target}, not a {access.target_label(obj)}"
        )
    if _workspace_id_of(obj) != by.workspace_id:
        raise Http404("not found")
    lifetime = purpose.default_lifetime if lifetime is None else lifetime
    if lifetime <= dt.timedelta(0) or lifetime > purpose.max_lifetime:
        raise ActionRefused(
            _("A link of this kind lasts at most %(days)d days.")
            % {"days": purpose.max_lifetime.days},
            field="lifetime",
        )
    if purpose.check is not None:
        refusal = purpose.check(obj)
        if refusal:
            raise ActionRefused(refusal)
    token, token_hash = access.new_token(purpose.code)
    now = timezone.now()
    row = AccessToken.objects.create(
        workspace_id=by.workspace_id,
        purpose=purpose.code,
        object_type=access.target_label(obj),
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        token_hash=token_hash,
        created_by=by.user,
        created_at=now,
        expires_at=now + lifetime,
        max_uses=purpose.max_uses,
    )
    audit.record(
        "access.issue",
        workspace=by.workspace,
        actor=by.user,
        obj=row,
        after={
            "purpose": row.purpose,
            "object": f"{row.object_type}:{row.object_id}",
            "expires_at": row.expires_at,
            "max_uses": row.max_uses,
        },
    )
    return row, token


@transaction.atomic
def revoke_access_token(token: AccessToken, *, by: Member | User) -> AccessToken:
    """Stop a token at once. A member needs the purpose's permission (or issued it); an
    operator of the installation may revoke any."""
    if isinstance(by, Member):
        if by.workspace_id != token.workspace_id:
            raise Http404("not found")
        if token.created_by_id != by.user_id:
            require(by, access.purpose(token.purpose).issue_action)
        actor = by.user
    else:
        require_operator(by, "core.change_accesstoken")
        actor = by
    token = AccessToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.revoked_by = actor
    token.save(update_fields=["revoked_at", "revoked_by"])
    audit.record(
        "access.revoke",
        workspace=token.workspace,
        actor=actor,
        obj=token,
        after={"purpose": token.purpose, "object": f"{token.object_type}:{token.object_id}"},
    )
    return token


ACCESS_REFUSALS = {
    "invalid": gettext_lazy("This link is not valid."),
    "wrong_object": gettext_lazy("This link does not open this page."),
    "revoked": gettext_lazy("This link was withdrawn."),
    "expired": gettext_lazy("This link has expired."),
    "used": gettext_lazy("This link was already used."),
    "closed": gettext_lazy("This link no longer opens anything."),
}


def _refuse_access(code: str, row: AccessToken | None = None) -> ActionRefused:
    if row is not None:
        # A known token used where it should not be: in the log, in its own transaction
        # (the refusal itself rolls nothing back).
        with transaction.atomic():
            audit.record(
                "access.refused",
                workspace=row.workspace,
                actor=None,
                actor_label=f"link: {row.purpose} #{row.pk}",
                obj=row,
                after={"reason": code},
            )
    return ActionRefused(str(ACCESS_REFUSALS[code]), code=code)


def use_access_token(
    token: str, *, purpose: str, obj: models.Model | None = None
) -> tuple[AccessToken, models.Model]:
    """Check one use of ``token`` for ``purpose`` (and ``obj`` when the URL names one), count
    it and write it to the audit log. Returns the token row and the object it opens;
    :class:`ActionRefused` (``code`` says why) otherwise.
    """
    from django.apps import apps

    rules = access.purpose(purpose)
    secret = access.signed_secret(token, rules.code)
    if secret is None:  # malformed, tampered with, or made for another purpose
        raise _refuse_access("invalid")
    found = (
        AccessToken.objects.select_related("workspace")
        .filter(token_hash=access.hash_secret(secret), purpose=rules.code)
        .first()
    )
    if found is None:
        raise _refuse_access("invalid")
    if obj is not None and (
        access.target_label(obj) != found.object_type or str(obj.pk) != found.object_id
    ):
        raise _refuse_access("wrong_object", found)
    refusal = ""
    with transaction.atomic():
        row = AccessToken.objects.select_for_update().select_related("workspace").get(pk=found.pk)
        status = row.status
        target = None
        if status == "active" and row.workspace.archived_at is None:
            model = apps.get_model(row.object_type)
            target = model._default_manager.filter(pk=row.object_id).first()
        if status != "active":
            refusal = status
        elif target is None or (rules.check is not None and rules.check(target)):
            refusal = "closed"
        else:
            now = timezone.now()
            row.use_count += 1
            row.last_used_at = now
            row.save(update_fields=["use_count", "last_used_at"])
            audit.record(
                "access.use",
                workspace=row.workspace,
                actor=None,
                actor_label=f"link: {row.purpose} #{row.pk}",
                obj=target,
                after={"token": row.pk, "purpose": row.purpose, "use": row.use_count},
            )
    if refusal:
        raise _refuse_access(refusal, row)
    assert target is not None
    return row, target


# --- people -----------------------------------------------------------------------------


@transaction.atomic
def update_profile(user: User, *, full_name: str, language: str, time_zone: str) -> User:
    from zoneinfo import ZoneInfo

    if language and language not in dict(settings.LANGUAGES):
        raise ActionRefused(_("Unknown language."), field="language")
    if time_zone:
        try:
            ZoneInfo(time_zone)
        except Exception as exc:
            raise ActionRefused(_("Unknown time zone."), field="time_zone") from exc
    before = audit.snapshot(user, ["full_name", "language", "time_zone"])
    user.full_name = full_name.strip()
    user.language = language
    user.time_zone = time_zone
    user.save(update_fields=["full_name", "language", "time_zone"])
    audit.record(
        "user.update_profile",
        workspace=None,
        actor=user,
        obj=user,
        before=before,
        after=audit.snapshot(user, ["full_name", "language", "time_zone"]),
    )
    return user


AUDIT_ACTION_LABELS = {
    "workspace.create": gettext_noop("Workspace created"),
    "workspace.update": gettext_noop("Workspace settings changed"),
    "workspace.archive": gettext_noop("Workspace archived"),
    "workspace.restore": gettext_noop("Workspace restored"),
    "member.add": gettext_noop("Member added"),
    "member.change_role": gettext_noop("Role changed"),
    "member.extra_roles": gettext_noop("Extra roles changed"),
    "member.deactivate": gettext_noop("Member deactivated"),
    "member.reactivate": gettext_noop("Member reactivated"),
    "invitation.create": gettext_noop("Invitation sent"),
    "invitation.resend": gettext_noop("Invitation sent again"),
    "invitation.revoke": gettext_noop("Invitation withdrawn"),
    "invitation.accept": gettext_noop("Invitation accepted"),
    "invitation.purged": gettext_noop("Expired invitations deleted"),
    "department.create": gettext_noop("Department created"),
    "department.update": gettext_noop("Department changed"),
    "user.update_profile": gettext_noop("Profile changed"),
    "access.issue": gettext_noop("Link without login issued"),
    "access.revoke": gettext_noop("Link without login withdrawn"),
    "access.use": gettext_noop("Link without login used"),
    "access.refused": gettext_noop("Link without login refused"),
    "user.login": gettext_noop("Logged in"),
    "user.login_failed": gettext_noop("Failed login"),
    "user.logout": gettext_noop("Logged out"),
    "user.reset_two_factor": gettext_noop("Two-factor authentication removed by an operator"),
    "user.end_sessions": gettext_noop("Sessions ended by an operator"),
    "channel.connect": gettext_noop("Channel connected"),
    "channel.reconnect": gettext_noop("Channel reconnected"),
    "channel.update": gettext_noop("Channel changed"),
    "channel.check": gettext_noop("Channel checked"),
    "channel.disconnect": gettext_noop("Channel disconnected"),
    "post.schedule": gettext_noop("Post scheduled"),
    "publication.cancel": gettext_noop("Publication cancelled"),
    "publication.retry": gettext_noop("Publication sent again"),
    "publication.send_late": gettext_noop("Held publication sent late"),
    "publication.mark_published": gettext_noop("Publication marked as published"),
    "notification.preferences": gettext_noop("Notification preferences changed"),
    "secrets.rotate": gettext_noop("Encryption keys rotated"),
}
