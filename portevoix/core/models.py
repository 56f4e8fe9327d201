"""Workspaces, people, roles, departments and the audit log."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.core.permissions import RestrictedQuerySet, Role


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A person. One person can belong to several workspaces (an agency)."""

    username = None  # type: ignore[assignment]
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, blank=True, default=""
    )
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, default="")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()  # type: ignore[assignment,misc]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email.split("@")[0]


class LatePolicy(models.TextChoices):
    """What happens to a post that is later than the workspace's lateness limit."""

    HOLD = "hold", _("Hold it and ask someone (a stale promotion is worse than none)")
    SEND = "send", _("Send it anyway, late (and keep retrying for up to a week)")


#: The range a workspace's lateness limit may take: 5 minutes to 7 days.
LATENESS_LIMIT_MIN = 5
LATENESS_LIMIT_MAX = 7 * 24 * 60


class Workspace(models.Model):
    """One brand or company. An agency manages several."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris")
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="fr"
    )
    require_two_factor = models.BooleanField(
        _("two-factor authentication required"),
        default=False,
        help_text=_("Members must set up an authenticator app before they can work here."),
    )
    #: How late a post may go out (the worker was down, the network failed for a while)
    #: before ``when_late`` applies. Transient errors are retried until then.
    lateness_limit_minutes = models.PositiveIntegerField(
        _("lateness limit (minutes)"),
        default=360,
        help_text=_(
            "A post that could not go out on time is retried until it is this late; then "
            "what happens next is the rule below."
        ),
    )
    when_late = models.CharField(
        _("when a post is later than that"),
        max_length=8,
        choices=LatePolicy.choices,
        default=LatePolicy.HOLD,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    #: Set by ``actions.archive_workspace``: a workspace is archived, never deleted with its
    #: history (its audit log protects it from deletion).
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("workspace")
        verbose_name_plural = _("workspaces")

    def __str__(self) -> str:
        return self.name


class Department(models.Model):
    """A department that social media touches: it receives hand-offs and joins crises."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = None

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="departments")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=80)
    description = models.CharField(_("description"), max_length=300, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "code"], name="department_code_unique"),
            models.UniqueConstraint(fields=["workspace", "name"], name="department_name_unique"),
        ]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    """A person's place in one workspace: a role, perhaps a department."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = "member.view"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    #: Roles held besides the main one, as ",content,ambassador," (``permissions.join_roles``);
    #: never ``admin``. ``can()`` answers from the union.
    extra_roles = models.CharField(_("extra roles"), max_length=200, blank=True, default="")
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("department"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)
    deactivated_at = models.DateTimeField(_("deactivated"), null=True, blank=True)

    class Meta:
        ordering = ["user__full_name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="member_unique"),
        ]
        verbose_name = _("member")
        verbose_name_plural = _("members")

    def __str__(self) -> str:
        # No role here: this text is stored (the audit log's object), and a role's name is
        # translated; pages show the role from ``role``, in the reader's language.
        return f"{self.user} ({self.workspace})"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def extra_role_list(self) -> list[Role]:
        from .permissions import split_roles

        return [Role(code) for code in split_roles(self.extra_roles) if code in Role.values]


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


INVITATION_LIFETIME = timedelta(days=7)


class Invitation(models.Model):
    """An e-mailed link that lets a person join a workspace with a given role."""

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = "member.invite"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invitations",
        verbose_name=_("department"),
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return f"{self.email} → {self.workspace}"

    @staticmethod
    def new_token() -> tuple[str, str]:
        token = secrets.token_urlsafe(32)
        return token, _hash_token(token)

    @classmethod
    def find(cls, token: str) -> Invitation | None:
        return (
            cls.objects.filter(token_hash=_hash_token(token))
            .select_related("workspace", "department")
            .first()
        )

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"

    def get_status_display(self) -> str:
        labels = {
            "accepted": _("Accepted"),
            "revoked": _("Withdrawn"),
            "expired": _("Expired"),
            "pending": _("Pending"),
        }
        return str(labels[self.status])


class AuditEntryQuerySet(RestrictedQuerySet):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("the audit log is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("the audit log is append-only")


class AuditEntry(models.Model):
    """Append-only record of every action: who, what, when, before and after, from where."""

    objects = AuditEntryQuerySet.as_manager()
    VIEW_ACTION = "audit.view"

    # PROTECT: deleting a workspace would take its history with it. Archive it instead.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_entries"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # The entries about one object (an erasure blanks their words: docs/privacy.md).
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("the audit log is append-only")


class AccessToken(models.Model):
    """A way in without a login: a signed, expiring, revocable token that does one thing.

    It names one purpose (``portevoix.core.access``: what the token may do, registered by the
    app that serves it) and one object (a member's calendar, a conversation handed to a
    department...). Only a hash of its secret is stored, like invitations; the link is shown
    once when it is issued. Every use is checked and written to the audit log.
    """

    objects = RestrictedQuerySet.as_manager()
    VIEW_ACTION = "workspace.settings"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="access_tokens")
    purpose = models.CharField(_("purpose"), max_length=40, db_index=True)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    #: None: any number of uses until it expires (a calendar feed); 1: a one-shot link.
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="access_token_object")]
        verbose_name = _("access token")
        verbose_name_plural = _("access tokens")

    def __str__(self) -> str:
        return f"{self.purpose} → {self.object_repr or self.object_type + ':' + self.object_id}"

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        if self.max_uses is not None and self.use_count >= self.max_uses:
            return "used"
        return "active"
