"""Pages of the editorial controls: "waiting for me", a post's review, approval settings,
compliance rules and the brand guide, the live compliance check, pause.

Views parse and render; the actions decide and refuse (permissions are checked there again).
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member
from portevoix.core.permissions import can, require
from portevoix.core.query import MAX_ID
from portevoix.core.views import _member, _refusal_to_form
from portevoix.publishing import compliance, pause
from portevoix.publishing.approvals import actions, policy
from portevoix.publishing.approvals.forms import (
    ApprovalSettingsForm,
    BrandGuideForm,
    CancelCampaignForm,
    DecisionForm,
    PauseForm,
    RouteForm,
    RuleForm,
    TrustForm,
)
from portevoix.publishing.approvals.models import (
    ApprovalStep,
    BrandGuide,
    ComplianceRoute,
    ComplianceRule,
    MemberTrust,
    Pause,
    StepKind,
    StepState,
)
from portevoix.publishing.models import HOLDING_STATEMENT_SOURCE, Campaign, Post, Publication

#: The report looks back this far.
REPORT_DAYS = 30


def may_see_approvals(member: Member | None) -> bool:
    return can(member, "post.view") or can(member, "post.approve_compliance")


# --- "waiting for me" ---------------------------------------------------------------------


def waiting_for(member: Member) -> list[ApprovalStep]:
    """The requests ``member`` may decide now, oldest first."""
    steps = (
        ApprovalStep.objects.visible_to(member)
        .filter(state=StepState.WAITING)
        .select_related("post__workspace", "approver__user", "department", "requested_by")
        .order_by("requested_at", "id")
    )
    deciders = policy.Deciders(member.workspace_id)
    return [s for s in steps if deciders.may_decide(member, s, s.post.author_id)]


def waiting_count(member: Member) -> int:
    return len(waiting_for(member)) if may_see_approvals(member) else 0


@dataclass(frozen=True)
class WaitStats:
    label: str
    count: int
    median: dt.timedelta | None
    p90: dt.timedelta | None
    longest: dt.timedelta | None


def wait_times(
    workspace_id: int, since: dt.datetime, kind: str | None = None
) -> list[dt.timedelta]:
    """How long each step decided since ``since`` waited (analytics reuses this)."""
    rows = ApprovalStep.objects.filter(
        post__workspace_id=workspace_id, decided_at__gte=since, decided_at__isnull=False
    )
    if kind:
        rows = rows.filter(kind=kind)
    return [
        max(decided - asked, dt.timedelta(0))
        for asked, decided in rows.values_list("requested_at", "decided_at")
    ]


def _stats(label: str, times: list[dt.timedelta]) -> WaitStats:
    if not times:
        return WaitStats(label, 0, None, None, None)
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    median = dt.timedelta(seconds=statistics.median(t.total_seconds() for t in ordered))
    return WaitStats(label, len(ordered), median, p90, ordered[-1])


def report(workspace_id: int) -> list[WaitStats]:
    since = timezone.now() - dt.timedelta(days=REPORT_DAYS)
    return [
        _stats(_("Every step"), wait_times(workspace_id, since)),
        _stats(_("Approval"), wait_times(workspace_id, since, StepKind.APPROVAL)),
        _stats(_("Compliance"), wait_times(workspace_id, since, StepKind.COMPLIANCE)),
    ]


TABS = ("mine", "submitted", "all", "decided")


@require_safe
def approvals_page(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    if not may_see_approvals(me):
        raise PermissionDenied(
            _("Your role does not allow this: %(action)s.")
            % {"action": _("See the calendar and posts")}
        )
    tab = request.GET.get("tab", "mine")
    if tab not in TABS or (tab in {"all", "decided"} and not can(me, "post.view")):
        tab = "mine"
    visible = ApprovalStep.objects.visible_to(me).select_related(
        "post__workspace", "approver__user", "department", "requested_by", "decided_by"
    )
    if tab == "mine":
        steps = waiting_for(me)
    elif tab == "submitted":
        steps = list(
            visible.filter(post__author=me.user)
            .filter(
                Q(state=StepState.WAITING)
                | Q(decided_at__gte=timezone.now() - dt.timedelta(days=REPORT_DAYS))
            )
            .order_by("-requested_at")[:100]
        )
    elif tab == "all":
        steps = list(visible.filter(state=StepState.WAITING).order_by("requested_at")[:200])
    else:
        steps = list(visible.filter(decided_at__isnull=False).order_by("-decided_at")[:100])
    if tab in ("mine", "all"):
        # A crisis's holding statement first: it holds the brand's answer back while it waits.
        steps.sort(key=lambda step: step.post.source != HOLDING_STATEMENT_SOURCE)
    channels: dict[int, list[str]] = {}
    for post_id, name in Publication.objects.filter(
        post_id__in={s.post_id for s in steps}
    ).values_list("post_id", "channel__name"):
        channels.setdefault(post_id, []).append(name)
    return render(
        request,
        "publishing/approvals/list.html",
        {
            "tab": tab,
            "steps": steps,
            "channels": channels,
            "mine_count": len(waiting_for(me)) if tab != "mine" else len(steps),
            "report": report(me.workspace_id) if can(me, "post.view") else [],
            "report_days": REPORT_DAYS,
            "active_section": "approvals",
        },
    )


# --- a post's review page ----------------------------------------------------------------------


def reviewable_post(me: Member, pk: int) -> Post:
    """The post, if ``me`` sees the plan, or has a compliance step of their department on it."""
    if not 1 <= pk <= MAX_ID:
        raise Http404("not found")
    rows = Post.objects.select_related("workspace", "campaign")
    post: Post | None = rows.visible_to(me).filter(pk=pk).first()
    if post is None and ApprovalStep.objects.visible_to(me).filter(post_id=pk).exists():
        post = rows.filter(pk=pk, workspace_id=me.workspace_id).first()
    if post is None:
        raise Http404("not found")
    return post


@dataclass
class Variant:
    publication: Publication
    units: list[tuple[compliance.Unit, list[compliance.Segment]]]
    findings: list[compliance.Finding]


def _variants(post: Post) -> tuple[list[Variant], list[compliance.Finding]]:
    rules = compliance.RuleSet.load(post.workspace_id)
    variants = []
    every: list[compliance.Finding] = []
    for publication in post.publications.select_related("channel", "post").order_by(
        "channel__name"
    ):
        units = compliance.publication_units(publication)
        findings = rules.check(units, channel=publication.channel) if not rules.empty else []
        every.extend(findings)
        variants.append(
            Variant(
                publication,
                [(u, compliance.segments(u.text, findings, u.key)) for u in units],
                findings,
            )
        )
    return variants, every


@require_safe
def review(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    post = reviewable_post(me, pk)
    return _render_review(request, me, post)


def _render_review(
    request: HttpRequest,
    me: Member,
    post: Post,
    *,
    form: DecisionForm | None = None,
    form_step: int | None = None,
    status: int = 200,
) -> HttpResponse:
    steps = list(
        post.approval_steps.select_related(
            "approver__user", "department", "requested_by", "decided_by"
        ).order_by("requested_at", "id")
    )
    if not can(me, "post.view"):
        steps = [
            s
            for s in steps
            if s.kind == StepKind.COMPLIANCE and s.department_id == me.department_id
        ]
    deciders = policy.Deciders(post.workspace_id)
    decidable = [s for s in steps if s.is_waiting and deciders.may_decide(me, s, post.author_id)]
    variants, findings = _variants(post)
    fingerprint = post.content_fingerprint()
    forms = {
        s.pk: (
            form
            if form is not None and form_step == s.pk
            else DecisionForm(initial={"fingerprint": fingerprint})
        )
        for s in decidable
    }
    is_author = post.author_id is not None and post.author_id == me.user_id
    states = {v.publication.state for v in variants}
    return render(
        request,
        "publishing/approvals/review.html",
        {
            "post": post,
            "steps": steps,
            "decidable": [(s, forms[s.pk]) for s in decidable],
            "variants": variants,
            "findings": findings,
            "blocks": compliance.blocking(findings),
            "guide": compliance.brand_guide(post.workspace),
            "zone": ZoneInfo(post.workspace.time_zone),
            "may_withdraw": (is_author or can(me, "approval.manage"))
            and any(s.is_waiting for s in steps),
            "may_resubmit": is_author and "draft" in states,
            "active_section": "approvals",
        },
        status=status,
    )


def _decision(request: HttpRequest, ws: str, pk: int, intent: str) -> HttpResponse:
    me = _member(request)
    step = ApprovalStep.objects.visible_to(me).select_related("post").filter(pk=pk).first()
    if step is None:
        raise Http404("not found")
    post = reviewable_post(me, step.post_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():  # a hidden field and a text: cannot really fail
        return _render_review(request, me, post, form=form, form_step=step.pk, status=400)
    comment = form.cleaned_data["comment"]
    try:
        if intent == "approve":
            actions.approve(
                step, by=me, fingerprint=form.cleaned_data["fingerprint"] or None, comment=comment
            )
            messages.success(request, _("Approved."))
        elif intent == "changes":
            actions.request_changes(step, by=me, comment=comment)
            messages.success(request, _("Sent back to the author with your comment."))
        else:
            actions.reject(step, by=me, comment=comment)
            messages.success(request, _("Rejected: it will not go out."))
    except ActionRefused as exc:
        if exc.code == "state":  # answered meanwhile: there is no form to show it in
            messages.error(request, exc.message)
            return redirect("approval_review", ws=ws, pk=post.pk)
        _refusal_to_form(form, exc)
        post.refresh_from_db()
        return _render_review(request, me, post, form=form, form_step=step.pk, status=400)
    if request.POST.get("next") == "list":
        return redirect("approvals", ws=ws)
    return redirect("approval_review", ws=ws, pk=post.pk)


@require_POST
def approve(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    return _decision(request, ws, pk, "approve")


@require_POST
def request_changes(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    return _decision(request, ws, pk, "changes")


@require_POST
def reject(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    return _decision(request, ws, pk, "reject")


@require_POST
def withdraw(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    post = reviewable_post(me, pk)
    try:
        actions.withdraw(post, by=me)
        messages.success(request, _("Taken back: it is a draft again."))
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("approval_review", ws=ws, pk=pk)


@require_POST
def resubmit(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    post = reviewable_post(me, pk)
    try:
        actions.submit(post, by=me, note=request.POST.get("note", ""))
        messages.success(request, _("Submitted."))
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("approval_review", ws=ws, pk=pk)


# --- the live compliance check -----------------------------------------------------------------


@require_POST
def compliance_check(request: HttpRequest, ws: str) -> HttpResponse:
    """The composer's live check (htmx): the findings for a text on the chosen channels,
    marked where they are. Fields: ``text``, ``link``, ``first_comment``, ``channels``
    (ids, repeatable) or ``channel`` (one id)."""
    me = _member(request)
    if not (can(me, "post.create") or can(me, "inbox.reply")):
        require(me, "post.create")
    ids = [
        v for v in request.POST.getlist("channels") + request.POST.getlist("channel") if v.isdigit()
    ]
    channels = list(Channel.objects.filter(workspace=me.workspace, pk__in=ids))
    text = request.POST.get("text", "")
    extra = {
        key: request.POST.get(key, "")
        for key in ("link", "first_comment")
        if request.POST.get(key, "")
    }
    findings = compliance.check_draft(me.workspace, text, channels, **extra)
    return render(
        request,
        "publishing/approvals/_findings.html",
        {
            "findings": findings,
            "segments": compliance.segments(text, findings),
            "blocks": compliance.blocking(findings),
            "checked": True,
        },
    )


# --- settings: approvals -----------------------------------------------------------------------


def _settings_initial(me: Member) -> dict[str, Any]:
    settings = policy.settings_of(me.workspace_id)
    zone = ZoneInfo(me.workspace.time_zone)
    mode = "person" if settings.approver_id else "role" if settings.approver_role else "anyone"
    until = settings.everyone_until
    return {
        "mode": mode,
        "approver": settings.approver_id,
        "approver_role": settings.approver_role,
        "everyone": settings.everyone,
        "everyone_until": until.astimezone(zone).replace(tzinfo=None) if until else None,
        "remind_after_hours": settings.remind_after_hours,
        "channels": list(settings.channels.values_list("pk", flat=True)) if settings.pk else [],
    }


def approval_settings(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "post.view")
    editable = can(me, "approval.manage")
    posted = request.method == "POST"
    if posted:
        require(me, "approval.manage")
    form = ApprovalSettingsForm(
        request.POST if posted else None, workspace=me.workspace, initial=_settings_initial(me)
    )
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            actions.update_settings(
                me.workspace,
                by=me,
                approver=data["approver"] if data["mode"] == "person" else None,
                approver_role=data["approver_role"] if data["mode"] == "role" else "",
                everyone=data["everyone"],
                everyone_until=data["everyone_until"],
                channels=list(data["channels"]),
                remind_after_hours=data["remind_after_hours"],
            )
        except ActionRefused as exc:
            _refusal_to_form(form, exc)
        else:
            messages.success(request, _("Approval settings saved."))
            return redirect("approval_settings", ws=ws)
    return render(
        request,
        "publishing/approvals/settings.html",
        _settings_context(me, form, editable),
        status=400 if posted else 200,
    )


def _settings_context(me: Member, form: ApprovalSettingsForm, editable: bool) -> dict[str, Any]:
    overrides = dict(
        MemberTrust.objects.filter(member__workspace=me.workspace).values_list(
            "member_id", "publishes_directly"
        )
    )
    people = []
    for member in Member.objects.filter(workspace=me.workspace, is_active=True).select_related(
        "user", "department"
    ):
        if not (can(member, "post.create") or can(member, "inbox.reply")):
            continue
        override = overrides.get(member.pk)
        choice = "default" if override is None else "yes" if override else "no"
        people.append(
            {
                "member": member,
                "default": can(member, "post.publish_now"),
                "override": override,
                "direct": policy.publishes_directly(member)
                or policy.publishes_directly(member, "reply"),
                "form": TrustForm(initial={"trust": choice}, prefix=f"m{member.pk}"),
            }
        )
    routes = list(
        ComplianceRoute.objects.filter(workspace=me.workspace)
        .select_related("department")
        .prefetch_related("channels")
    )
    return {
        "form": form,
        "editable": editable,
        "people": people,
        "routes": routes,
        "route_form": RouteForm(workspace=me.workspace, initial={"is_active": True}),
        "active_section": "settings",
    }


@require_POST
def set_trust(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    require(me, "approval.manage")
    member = Member.objects.get_for(me, pk=pk)
    form = TrustForm(request.POST, prefix=f"m{member.pk}")
    if form.is_valid():
        try:
            actions.set_trust(member, by=me, publishes_directly=form.value())
            messages.success(request, _("Saved for %(name)s.") % {"name": member.user.display_name})
        except ActionRefused as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, _("Choose how this member publishes."))
    return redirect(reverse("approval_settings", kwargs={"ws": ws}) + "#trust")


def route_edit(request: HttpRequest, ws: str, pk: int | None = None) -> HttpResponse:
    """Create (``pk`` None, POST only from the settings page) or change a compliance step."""
    me = _member(request)
    require(me, "post.view")
    route = ComplianceRoute.objects.get_for(me, pk=pk) if pk is not None else None
    posted = request.method == "POST"
    if posted:
        require(me, "approval.manage")
    elif route is None:
        return redirect("approval_settings", ws=ws)
    initial = (
        {
            "name": route.name,
            "department": route.department_id,
            "words": route.words,
            "is_active": route.is_active,
            "channels": list(route.channels.values_list("pk", flat=True)),
        }
        if route
        else {}
    )
    form = RouteForm(request.POST if posted else None, workspace=me.workspace, initial=initial)
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            actions.save_route(
                me.workspace,
                by=me,
                route=route,
                name=data["name"],
                department=data["department"],
                words=data["words"],
                channels=list(data["channels"]),
                is_active=data["is_active"],
            )
        except ActionRefused as exc:
            _refusal_to_form(form, exc)
        else:
            messages.success(request, _("Compliance step saved."))
            return redirect(reverse("approval_settings", kwargs={"ws": ws}) + "#routes")
    if route is None:
        # A refused creation: the settings page again, with this form and its errors.
        context = _settings_context(
            me,
            ApprovalSettingsForm(workspace=me.workspace, initial=_settings_initial(me)),
            can(me, "approval.manage"),
        )
        context["route_form"] = form
        return render(request, "publishing/approvals/settings.html", context, status=400)
    return render(
        request,
        "publishing/approvals/route.html",
        {
            "route": route,
            "form": form,
            "editable": can(me, "approval.manage"),
            "active_section": "settings",
        },
        status=400 if posted else 200,
    )


@require_POST
def route_delete(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    require(me, "approval.manage")
    route = ComplianceRoute.objects.visible_to(me).filter(pk=pk).first()
    if route is None:
        _deleted_here_or_404(me, "approval.route_delete", ComplianceRoute, pk)
        messages.info(request, _("This compliance step was already deleted."))
    else:
        actions.delete_route(route, by=me)
        messages.success(request, _("Compliance step deleted."))
    return redirect(reverse("approval_settings", kwargs={"ws": ws}) + "#routes")


def _deleted_here_or_404(me: Member, action: str, model: type[Any], pk: int) -> None:
    """A row deleted from this workspace meanwhile (a second click, two managers at once) is
    said so; any other id is not found, as ever: another workspace's ids learn nothing."""
    from portevoix.core.models import AuditEntry

    if not AuditEntry.objects.filter(
        workspace=me.workspace,
        action=action,
        object_type=model._meta.label_lower,
        object_id=str(pk),
    ).exists():
        raise Http404("not found")


# --- settings: compliance rules and the brand guide --------------------------------------------


def _rule_initial(rule: ComplianceRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "kind": rule.kind,
        "severity": rule.severity,
        "values": rule.values,
        "topic": rule.topic,
        "message": rule.message,
        "is_active": rule.is_active,
        "channels": list(rule.channels.values_list("pk", flat=True)),
    }


def _rule_data(form: RuleForm) -> tuple[dict[str, Any], list[Channel]]:
    data = dict(form.cleaned_data)
    channels = list(data.pop("channels"))
    return data, channels


def compliance_page(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "post.view")
    editable = can(me, "approval.manage")
    posted = request.method == "POST"
    if posted:
        require(me, "approval.manage")
    rule_form = RuleForm(
        request.POST if posted and "rule" in request.POST else None,
        workspace=me.workspace,
        initial={"severity": "block", "is_active": True},
        prefix="rule",
    )
    guide = BrandGuide.objects.filter(workspace=me.workspace).first()
    guide_form = BrandGuideForm(
        request.POST if posted and "guide" in request.POST else None,
        initial={
            "tone": guide.tone if guide else "",
            "use_words": guide.use_words if guide else "",
            "avoid_words": guide.avoid_words if guide else "",
        },
        prefix="guide",
    )
    if posted and "rule" in request.POST and rule_form.is_valid():
        data, channels = _rule_data(rule_form)
        try:
            compliance.create_rule(me.workspace, by=me, channels=channels, **data)
        except ActionRefused as exc:
            _refusal_to_form(rule_form, exc)
        else:
            messages.success(request, _("Rule added."))
            return redirect("compliance_rules", ws=ws)
    if posted and "guide" in request.POST and guide_form.is_valid():
        compliance.update_brand_guide(me.workspace, by=me, **guide_form.cleaned_data)
        messages.success(request, _("Brand guide saved."))
        return redirect("compliance_rules", ws=ws)
    rules = ComplianceRule.objects.visible_to(me).prefetch_related("channels")
    return render(
        request,
        "publishing/approvals/compliance.html",
        {
            "rules": rules,
            "rule_form": rule_form,
            "guide_form": guide_form,
            "editable": editable,
            "active_section": "settings",
        },
        status=400 if posted else 200,
    )


def rule_edit(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    require(me, "post.view")
    rule = ComplianceRule.objects.get_for(me, pk=pk)
    posted = request.method == "POST"
    if posted:
        require(me, "approval.manage")
    form = RuleForm(
        request.POST if posted else None, workspace=me.workspace, initial=_rule_initial(rule)
    )
    if posted and form.is_valid():
        data, channels = _rule_data(form)
        try:
            compliance.update_rule(rule, by=me, channels=channels, **data)
        except ActionRefused as exc:
            _refusal_to_form(form, exc)
        else:
            messages.success(request, _("Rule saved."))
            return redirect("compliance_rules", ws=ws)
    return render(
        request,
        "publishing/approvals/rule.html",
        {
            "rule": rule,
            "form": form,
            "editable": can(me, "approval.manage"),
            "active_section": "settings",
        },
        status=400 if posted else 200,
    )


@require_POST
def rule_delete(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    require(me, "approval.manage")
    rule = ComplianceRule.objects.visible_to(me).filter(pk=pk).first()
    if rule is None:
        _deleted_here_or_404(me, "compliance.rule_delete", ComplianceRule, pk)
        messages.info(request, _("This rule was already deleted."))
    else:
        compliance.delete_rule(rule, by=me)
        messages.success(request, _("Rule deleted."))
    return redirect("compliance_rules", ws=ws)


# --- pause -------------------------------------------------------------------------------------


def attention_url(ws: str) -> str:
    """The page where held posts are decided, once it exists on this installation."""
    try:
        return reverse("attention", kwargs={"ws": ws})
    except NoReverseMatch:
        return reverse("calendar", kwargs={"ws": ws})


@require_safe
def pause_page(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "post.view")
    scope = request.GET.get("scope", "workspace")
    form = PauseForm(workspace=me.workspace, initial={"scope": scope})
    return _render_pause(request, me, form, CancelCampaignForm(workspace=me.workspace))


def _render_pause(
    request: HttpRequest,
    me: Member,
    form: PauseForm,
    cancel_form: CancelCampaignForm,
    status: int = 200,
) -> HttpResponse:
    rows = Pause.objects.visible_to(me).select_related(
        "channel", "campaign", "started_by", "ended_by"
    )
    active = [p for p in rows if p.is_active]
    for row in active:
        row.holding = Publication.objects.filter(pause.scope_filter(row), state="paused").count()
    return render(
        request,
        "publishing/approvals/pause.html",
        {
            "active": active,
            "history": [p for p in rows if not p.is_active][:20],
            "form": form,
            "cancel_form": cancel_form,
            "may_pause": can(me, "post.pause"),
            "attention_url": attention_url(me.workspace.slug),
            "active_section": "settings",
        },
        status=status,
    )


def _scope(me: Member, value: str) -> Any:
    if value == "workspace":
        return me.workspace
    kind, _sep, pk = value.partition(":")
    if kind == "channel" and pk.isdigit():
        return Channel.objects.get_for(me, pk=int(pk))
    if kind == "campaign" and pk.isdigit():
        return Campaign.objects.get_for(me, pk=int(pk))
    raise Http404("not found")


@require_POST
def pause_start(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "post.pause")
    form = PauseForm(request.POST, workspace=me.workspace)
    if form.is_valid():
        try:
            row = pause.pause(
                _scope(me, form.cleaned_data["scope"]), by=me, reason=form.cleaned_data["reason"]
            )
        except ActionRefused as exc:
            _refusal_to_form(form, exc)
        else:
            messages.success(
                request,
                ngettext(
                    "Publishing is paused for %(scope)s: %(count)s post held, its time kept.",
                    "Publishing is paused for %(scope)s: %(count)s posts held, their times kept.",
                    row.paused_count,
                )
                % {"scope": pause.describe(row), "count": row.paused_count},
            )
            return redirect("pause", ws=ws)
    return _render_pause(request, me, form, CancelCampaignForm(workspace=me.workspace), 400)


@require_POST
def pause_resume(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    require(me, "post.pause")
    row = Pause.objects.get_for(me, pk=pk)
    try:
        row = pause.resume(row, by=me)
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return redirect("pause", ws=ws)
    messages.success(
        request,
        ngettext(
            "Publishing resumed for %(scope)s: %(resumed)s post goes out at its time.",
            "Publishing resumed for %(scope)s: %(resumed)s posts go out at their time.",
            row.resumed_count,
        )
        % {"scope": pause.describe(row), "resumed": row.resumed_count},
    )
    if row.held_count:
        messages.warning(
            request,
            ngettext(
                "%(held)s post was due too long ago: it is held until someone sends it late "
                "or cancels it (Needs attention).",
                "%(held)s posts were due too long ago: they are held until someone sends "
                "them late or cancels them (Needs attention).",
                row.held_count,
            )
            % {"held": row.held_count},
        )
    return redirect("pause", ws=ws)


@require_POST
def campaign_cancel(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "post.pause")
    form = CancelCampaignForm(request.POST, workspace=me.workspace)
    if form.is_valid():
        campaign = Campaign.objects.get_for(me, pk=form.cleaned_data["campaign"].pk)
        try:
            pause.cancel_campaign(campaign, by=me, reason=form.cleaned_data["reason"])
        except ActionRefused as exc:
            _refusal_to_form(form, exc)
        else:
            messages.success(
                request, _("The campaign %(name)s is cancelled.") % {"name": campaign.name}
            )
            return redirect("pause", ws=ws)
    return _render_pause(request, me, PauseForm(workspace=me.workspace), form, 400)
