"""Ambassadors across departments (seed 001): naming them, suggesting published posts for
them to share from their own accounts, recording what they shared, and counting it.

Naming someone ambassador gives them the ``ambassador`` role as an extra role when none of
their roles lets them share yet (a department agent in HR, say), so that their "to share"
list opens; removing them takes that extra role back. Everything is audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext, gettext_lazy, gettext_noop
from django.utils.translation import gettext as _

from portevoix.core import audit
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Department, Member, Workspace
from portevoix.core.permissions import Role, can, join_roles, require, split_roles
from portevoix.notifications.kinds import Delivery, Kind, register
from portevoix.publishing.models import Idea, PostKind, Publication

from .models import Ambassador, Audience, ShareNetwork, ShareRequest, ShareSuggestion

SUGGESTED = "strategy.share_suggested"

AUDIT_LABELS = {
    "ambassador.name": gettext_noop("Ambassador named"),
    "ambassador.remove": gettext_noop("Ambassador removed"),
    "ambassador.suggest": gettext_noop("Post suggested to ambassadors"),
    "ambassador.shared": gettext_noop("Share recorded"),
    "ambassador.unshared": gettext_noop("Share withdrawn"),
}


def _same_workspace(by: Member, workspace_id: int) -> None:
    from django.http import Http404

    if by.workspace_id != workspace_id:
        raise Http404("not found")


def _networks(codes: Iterable[str]) -> str:
    chosen = set(codes)
    unknown = chosen - set(ShareNetwork.values)
    if unknown:
        raise ActionRefused(_("Choose networks from the list."), field="networks")
    ordered = [code for code in ShareNetwork.values if code in chosen]
    return f",{','.join(ordered)}," if ordered else ""


@transaction.atomic
def name_ambassador(
    member: Member, *, by: Member, networks: Iterable[str] = (), subject: str = ""
) -> Ambassador:
    """Name ``member`` ambassador (or change their networks and subject)."""
    require(by, "ambassador.manage")
    _same_workspace(by, member.workspace_id)
    member = Member.objects.select_for_update().select_related("user").get(pk=member.pk)
    if not member.is_active:
        raise ActionRefused(_("This member is deactivated."), field="member")
    stored = _networks(networks)
    subject = subject.strip()[:200]
    if not stored and not subject:
        raise ActionRefused(
            _("Say what they are an ambassador for: a network they are active on, or a subject."),
            field="networks",
        )
    row = Ambassador.objects.filter(member=member).first()
    before = (
        {"networks": row.network_list, "subject": row.subject, "is_active": row.is_active}
        if row
        else None
    )
    if row is None:
        row = Ambassador(member=member, named_by=by.user)
    row.networks = stored
    row.subject = subject
    row.is_active = True
    row.named_at = timezone.now() if before is None or not before["is_active"] else row.named_at
    row.save()
    granted = False
    if not can(member, "ambassador.share"):
        extras = split_roles(member.extra_roles)
        member.extra_roles = join_roles([*extras, Role.AMBASSADOR])
        member.save(update_fields=["extra_roles"])
        granted = True
    audit.record(
        "ambassador.name",
        workspace=member.workspace,
        actor=by.user,
        obj=member,
        before=before,
        after={
            "networks": row.network_list,
            "subject": row.subject,
            "is_active": True,
            **({"extra_roles": split_roles(member.extra_roles)} if granted else {}),
        },
    )
    return row


@transaction.atomic
def remove_ambassador(ambassador: Ambassador, *, by: Member) -> Ambassador:
    """No longer an ambassador: their list empties; what they shared stays counted."""
    require(by, "ambassador.manage")
    member = Member.objects.select_for_update().get(pk=ambassador.member_id)
    _same_workspace(by, member.workspace_id)
    ambassador = Ambassador.objects.select_for_update().get(pk=ambassador.pk)
    if not ambassador.is_active:
        return ambassador
    ambassador.is_active = False
    ambassador.save(update_fields=["is_active"])
    extras = split_roles(member.extra_roles)
    taken = Role.AMBASSADOR in extras
    if taken:
        member.extra_roles = join_roles([r for r in extras if r != Role.AMBASSADOR])
        member.save(update_fields=["extra_roles"])
    audit.record(
        "ambassador.remove",
        workspace=member.workspace,
        actor=by.user,
        obj=member,
        before={"is_active": True},
        after={
            "is_active": False,
            **({"extra_roles": split_roles(member.extra_roles)} if taken else {}),
        },
    )
    return ambassador


def shareable(workspace: Workspace) -> Any:
    """Published posts (not replies, not private) with a public link: what may be suggested."""
    return (
        Publication.objects.filter(
            post__workspace=workspace,
            post__kind=PostKind.POST,
            private=False,
            state="published",
        )
        .exclude(url="")
        .select_related("post", "channel")
        .order_by("-published_at", "-pk")
    )


def audience_of(workspace: Workspace, audience: str, value: str = "") -> list[Ambassador]:
    """The active ambassadors an audience names."""
    rows = Ambassador.objects.filter(
        member__workspace=workspace, member__is_active=True, is_active=True
    ).select_related("member__user", "member__department")
    if audience == Audience.DEPARTMENT:
        rows = rows.filter(member__department_id=int(value) if value.isdigit() else -1)
    elif audience == Audience.NETWORK:
        rows = rows.filter(networks__contains=f",{value},")
    elif audience == Audience.SUBJECT:
        rows = rows.filter(subject__icontains=value.strip())
    return [a for a in rows if can(a.member, "ambassador.share")]


@transaction.atomic
def suggest_share(
    publication: Publication,
    *,
    by: Member,
    audience: str = Audience.ALL,
    value: str = "",
    text: str = "",
    note: str = "",
) -> ShareSuggestion:
    """Suggest a published post to ambassadors; each is told (one notification path)."""
    from portevoix.notifications.actions import notify

    require(by, "ambassador.manage")
    workspace = by.workspace
    if not shareable(workspace).filter(pk=publication.pk).exists():
        raise ActionRefused(
            _("Only a published post with its link can be suggested."), field="publication"
        )
    if audience not in Audience.values:
        raise ActionRefused(_("Choose who receives it."), field="audience")
    value = value.strip()
    if (
        audience == Audience.DEPARTMENT
        and not Department.objects.filter(
            workspace=workspace, pk=int(value) if value.isdigit() else -1
        ).exists()
    ):
        raise ActionRefused(_("Choose a department."), field="audience_value")
    if audience == Audience.NETWORK and value not in ShareNetwork.values:
        raise ActionRefused(_("Choose a network."), field="audience_value")
    if audience == Audience.SUBJECT and not value:
        raise ActionRefused(_("Give the words of the subject."), field="audience_value")
    if audience == Audience.ALL:
        value = ""
    people = audience_of(workspace, audience, value)
    if not people:
        raise ActionRefused(_("No active ambassador matches: nobody would receive it."))
    text = (text or publication.effective_text).strip()
    if not text:
        raise ActionRefused(_("Give the text to share."), field="text")
    suggestion = ShareSuggestion.objects.create(
        workspace=workspace,
        publication=publication,
        text=text[:5000],
        url=publication.url,
        note=note.strip()[:500],
        audience=audience,
        audience_value=value[:200],
        suggested_by=by.user,
    )
    ShareRequest.objects.bulk_create(
        [ShareRequest(suggestion=suggestion, ambassador=a) for a in people]
    )
    audit.record(
        "ambassador.suggest",
        workspace=workspace,
        actor=by.user,
        obj=suggestion,
        after={
            "publication": publication.pk,
            "audience": audience,
            "value": value,
            "count": len(people),
        },
    )
    notify(
        workspace,
        SUGGESTED,
        [a.member for a in people],
        obj=suggestion,
        params={
            "by": by.user.display_name,
            "excerpt": Truncator(text).chars(140),
            "note": suggestion.note,
            "url": suggestion.url,
        },
        url=reverse("strategy_share", kwargs={"ws": workspace.slug}),
        key=f"suggestion:{suggestion.pk}",
    )
    return suggestion


@transaction.atomic
def mark_shared(request: ShareRequest, *, by: Member, network: str, url: str = "") -> ShareRequest:
    """The ambassador says they shared it (and where, with the link of their post)."""
    require(by, "ambassador.share")
    request = (
        ShareRequest.objects.select_for_update()
        .select_related("ambassador__member", "suggestion")
        .get(pk=request.pk)
    )
    if request.ambassador.member_id != by.pk:
        from django.http import Http404

        raise Http404("not found")  # someone else's list answers as if it did not exist
    if network not in ShareNetwork.values:
        raise ActionRefused(_("Choose the network you shared it on."), field="network")
    url = url.strip()
    if url:
        from django.core.exceptions import ValidationError
        from django.core.validators import URLValidator

        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise ActionRefused(
                _("Give the full link of your post (https://...)."), field="url"
            ) from None
    before = {"shared_at": request.shared_at, "network": request.shared_network}
    request.shared_at = timezone.now()
    request.shared_network = network
    request.shared_url = url[:500]
    request.save(update_fields=["shared_at", "shared_network", "shared_url"])
    audit.record(
        "ambassador.shared",
        workspace=by.workspace,
        actor=by.user,
        obj=request.suggestion,
        before=before if before["shared_at"] else None,
        after={"network": network, "url": request.shared_url},
    )
    return request


@transaction.atomic
def unmark_shared(request: ShareRequest, *, by: Member) -> ShareRequest:
    require(by, "ambassador.share")
    request = (
        ShareRequest.objects.select_for_update().select_related("ambassador").get(pk=request.pk)
    )
    if request.ambassador.member_id != by.pk:
        from django.http import Http404

        raise Http404("not found")
    if request.shared_at is None:
        return request
    before = {"network": request.shared_network, "url": request.shared_url}
    request.shared_at = None
    request.shared_network = ""
    request.shared_url = ""
    request.save(update_fields=["shared_at", "shared_network", "shared_url"])
    audit.record(
        "ambassador.unshared",
        workspace=by.workspace,
        actor=by.user,
        obj=request.suggestion,
        before=before,
        after=None,
    )
    return request


# --- reading ----------------------------------------------------------------------------


def share_links(text: str, url: str) -> list[tuple[str, str]]:
    """(network label, address) of each network's own share page ("share intent"), which
    opens the ambassador's composer, logged in as themselves, with the text and the link.

    Sources: LinkedIn https://learn.microsoft.com/linkedin/consumer/integrations/self-serve/
    share-on-linkedin ("share-offsite"), X https://developer.x.com/en/docs/x-for-websites/
    tweet-button/guides/web-intent, Facebook https://developers.facebook.com/docs/sharing/
    reference/share-dialog ("sharer.php"), Bluesky https://docs.bsky.app/docs/advanced-guides/
    intent-links."""
    both = f"{text}\n{url}" if url and url not in text else text
    return [
        (
            "LinkedIn",
            "https://www.linkedin.com/sharing/share-offsite/?" + urlencode({"url": url}),
        ),
        ("X", "https://twitter.com/intent/tweet?" + urlencode({"text": text, "url": url})),
        ("Facebook", "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": url})),
        ("Bluesky", "https://bsky.app/intent/compose?text=" + quote(both, safe="")),
    ]


@dataclass
class Counts:
    suggested: int
    shared: int
    ideas: int = 0


def counts_by_ambassador(workspace: Workspace) -> list[tuple[Ambassador, Counts]]:
    rows = (
        Ambassador.objects.filter(member__workspace=workspace)
        .select_related("member__user", "member__department")
        .annotate(
            n_suggested=Count("requests"),
            n_shared=Count("requests", filter=Q(requests__shared_at__isnull=False)),
        )
    )
    ideas = dict(
        Idea.objects.filter(workspace=workspace)
        .values_list("proposed_by")
        .annotate(n=Count("id"))
        .values_list("proposed_by", "n")
    )
    return [(a, Counts(a.n_suggested, a.n_shared, ideas.get(a.member.user_id, 0))) for a in rows]


def counts_by_suggestion(workspace: Workspace) -> list[tuple[ShareSuggestion, Counts]]:
    rows = (
        ShareSuggestion.objects.filter(workspace=workspace)
        .select_related("publication__channel", "suggested_by")
        .annotate(
            n_suggested=Count("requests"),
            n_shared=Count("requests", filter=Q(requests__shared_at__isnull=False)),
        )
    )
    return [(s, Counts(s.n_suggested, s.n_shared)) for s in rows[:50]]


def counts_by_department(workspace: Workspace) -> list[tuple[str, Counts]]:
    rows = (
        ShareRequest.objects.filter(suggestion__workspace=workspace)
        .values("ambassador__member__department__name")
        .annotate(
            n_suggested=Count("id"),
            n_shared=Count("id", filter=Q(shared_at__isnull=False)),
        )
        .order_by("ambassador__member__department__name")
    )
    return [
        (
            r["ambassador__member__department__name"] or gettext("No department"),
            Counts(r["n_suggested"], r["n_shared"]),
        )
        for r in rows
    ]


def shared_total(workspace: Workspace, *, start: Any = None, end: Any = None) -> int:
    """Shares recorded by ambassadors (for analytics), optionally between two moments."""
    rows = ShareRequest.objects.filter(suggestion__workspace=workspace, shared_at__isnull=False)
    if start is not None:
        rows = rows.filter(shared_at__gte=start)
    if end is not None:
        rows = rows.filter(shared_at__lt=end)
    return rows.count()


# --- the notification ---------------------------------------------------------------------


def _suggested_title(params: Mapping[str, Any]) -> str:
    return gettext("%(who)s suggests a post for you to share") % {
        "who": params.get("by") or gettext("someone")
    }


def register_kinds() -> None:
    register(
        Kind(
            code=SUGGESTED,
            label=gettext_lazy("A post suggested for you to share"),
            help=gettext_lazy(
                "As an ambassador: an approved, published post to share from your accounts."
            ),
            title=_suggested_title,
            template="strategy/notifications/share_suggested.txt",
            default=Delivery.BOTH,
            audience="ambassador.share",
        )
    )
