"""The incident's response pages: the holding statement, the inbox in surge, the lockdown, and
each channel's credential custody (issue 12 §5).

Views parse and render; :mod:`portevoix.crisis.statements` and :mod:`portevoix.crisis.lockdown`
decide. Reading needs ``crisis.view``; each action checks its own permission again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from portevoix.channels.models import Channel, ChannelStates
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member
from portevoix.core.permissions import can, require
from portevoix.core.views import _member
from portevoix.inbox.views import INTENTS, SENTIMENTS
from portevoix.publishing.views import tiktok_panel

from . import impact, lockdown, statements
from .models import HoldingStatement, Incident, StatementReply


def _reader(request: HttpRequest) -> Member:
    me = _member(request)
    require(me, "crisis.view")
    return me


def _incident(me: Member, pk: int) -> Incident:
    found: Incident = Incident.objects.select_related("workspace", "alert").get_for(me, pk=pk)
    return found


def _refused(request: HttpRequest, form: forms.Form | None, exc: ActionRefused) -> None:
    if form is not None:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    else:
        messages.error(request, exc.message)


def response_context(incident: Incident, me: Member) -> dict[str, Any]:
    """What the incident page shows of the response (its card of links and the statement)."""
    statement = statements.current_statement(incident)
    return {
        "statement": statement,
        "statement_standing": statements.standing(statement) if statement else None,
        "crisis_conversation_count": incident.crisis_conversations.count(),
        "on_duty_calls": statements.duty_now(incident) if incident.is_open else [],
        "other_workspaces": impact.other_workspaces(me),
    }


# --- the holding statement ------------------------------------------------------------------


class MediaForm(forms.Form):
    """The image or video a statement carries: from the media library or uploaded (it then
    joins the library), for every channel, and a channel's own instead."""

    # Not "media": a form's ``media`` is its CSS and JavaScript.
    asset = forms.ChoiceField(label=gettext_lazy("Image or video"), required=False)
    media_file = forms.FileField(
        label=gettext_lazy("Or upload one"),
        required=False,
        help_text=gettext_lazy("JPEG, PNG, GIF, WebP, MP4, MOV or WebM; it joins the library."),
    )
    media_alt = forms.CharField(
        label=gettext_lazy("Description of the image or video"),
        required=False,
        max_length=1500,
        help_text=gettext_lazy("Read aloud to those who cannot see it. Empty: the library's."),
    )

    def __init__(
        self, *args: Any, channels: list[Channel], assets: list[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.channel_rows = channels
        self.assets = {str(a.pk): a for a in assets}
        library = [(str(a.pk), f"{a.name} ({a.get_kind_display()})") for a in assets]
        common = self.fields["asset"]
        assert isinstance(common, forms.ChoiceField)
        common.choices = [("", _("None")), *library]
        for channel in channels:
            own = forms.ChoiceField(
                label=gettext_lazy("Image or video for %(channel)s") % {"channel": channel.name},
                required=False,
                choices=[("", _("The statement's")), *library],
            )
            self.fields[f"media_{channel.pk}"] = own
            self.fields[f"media_file_{channel.pk}"] = forms.FileField(
                label=gettext_lazy("Or upload one for %(channel)s") % {"channel": channel.name},
                required=False,
            )

    def media_choice(self) -> Any:
        from portevoix.publishing.actions import MediaChoice

        asset = self.assets.get(self.cleaned_data.get("asset") or "")
        return MediaChoice(asset, self.cleaned_data.get("media_alt") or "") if asset else None

    def channel_media(self) -> dict[int, Any]:
        from portevoix.publishing.actions import MediaChoice

        found: dict[int, Any] = {}
        for channel in self.channel_rows:
            asset = self.assets.get(self.cleaned_data.get(f"media_{channel.pk}") or "")
            if asset is not None:
                found[channel.pk] = MediaChoice(asset)
        return found


class StatementForm(MediaForm):
    text = forms.CharField(
        label=gettext_lazy("Holding statement"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=statements.MAX_TEXT,
        help_text=gettext_lazy(
            "What the brand says while it looks into the crisis. Legal approves it before it "
            "goes out on every channel chosen."
        ),
    )
    channels = forms.MultipleChoiceField(
        label=gettext_lazy("Channels"), widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(
        self, *args: Any, channels: list[Channel], assets: list[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, channels=channels, assets=assets, **kwargs)
        field = self.fields["channels"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(str(c.pk), f"{c.name} ({c.network_label})") for c in channels]
        for channel in channels:
            self.fields[f"variant_{channel.pk}"] = forms.CharField(
                label=gettext_lazy("Text for %(channel)s") % {"channel": channel.name},
                required=False,
                max_length=statements.MAX_TEXT,
                widget=forms.Textarea(attrs={"rows": 2}),
                help_text=gettext_lazy("Empty: the statement above."),
            )

    def variants(self) -> dict[str, str]:
        return {
            str(c.pk): self.cleaned_data.get(f"variant_{c.pk}") or "" for c in self.channel_rows
        }

    def channel_ids(self) -> list[int]:
        return [int(v) for v in self.cleaned_data.get("channels") or []]


def _library(incident: Incident) -> list[Any]:
    """The library's images and videos a statement may carry."""
    from portevoix.media.models import Asset

    return list(
        Asset.objects.filter(workspace_id=incident.workspace_id, archived_at__isnull=True)
        .prefetch_related("renditions")
        .order_by("-created_at", "-id")[:200]
    )


def _uploads(
    request: HttpRequest, me: Member, incident: Incident, channels: list[Channel]
) -> tuple[Any, dict[str, str]]:
    """Files uploaded with the form join the library first (``media.actions.upload``); the
    form then names them as if chosen from it, so a later mistake does not lose them.
    Returns the form's data and the upload errors by field."""
    from portevoix.media import actions as media_actions

    data = request.POST.copy()
    errors: dict[str, str] = {}
    for name, target in [("media_file", "asset")] + [
        (f"media_file_{c.pk}", f"media_{c.pk}") for c in channels
    ]:
        upload = request.FILES.get(name)
        if upload is None:
            continue
        try:
            asset = media_actions.upload(
                incident.workspace,
                by=me,
                filename=upload.name or "media",
                data=upload.read(),
                alt_text=str(data.get("media_alt", "")) if target == "asset" else "",
            )
        except ActionRefused as exc:
            errors[name] = exc.message
            continue
        data[target] = str(asset.pk)
    return data, errors


def _statement_of(incident: Incident, raw: str | None) -> HoldingStatement | None:
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404("not found")
    found = HoldingStatement.objects.filter(incident=incident, pk=int(raw)).first()
    if found is None:
        raise Http404("not found")
    return found


def _may_review(me: Member, post_id: int) -> bool:
    from django.http import Http404

    from portevoix.publishing.approvals.views import reviewable_post

    try:
        reviewable_post(me, post_id)
    except Http404:
        return False
    return True


def statement_page(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    incident = _incident(me, pk)
    channels = statements.statement_channels(incident.workspace, incident)
    statement = statements.current_statement(incident)
    assets = _library(incident)
    status = 200
    media_form: MediaForm | None = None
    if request.method == "POST":
        require(me, "post.create")
        statement = _statement_of(incident, request.POST.get("statement")) or None
        op = request.POST.get("op", "save")
        if op == "take_back" and statement is not None:
            try:
                statements.take_back(statement, by=me)
                messages.success(request, _("Taken back: edit it, then send it to legal again."))
            except ActionRefused as exc:
                messages.error(request, exc.message)
            return redirect("crisis_statement", ws=ws, pk=pk)
        data, upload_errors = _uploads(request, me, incident, channels)
        assets = _library(incident)
        if op == "media" and statement is not None:
            media_form = MediaForm(data, channels=channels, assets=assets)
            if media_form.is_valid() and not upload_errors:
                try:
                    statements.change_media(
                        statement,
                        by=me,
                        media=media_form.media_choice(),
                        channel_media=media_form.channel_media(),
                    )
                    messages.success(request, _("Media changed: the statement is back with legal."))
                    return redirect("crisis_statement", ws=ws, pk=pk)
                except ActionRefused as exc:
                    _refused(request, media_form, exc)
            for name, message in upload_errors.items():
                media_form.add_error(name, message)
            form = StatementForm(
                initial=_initial(statement, channels), channels=channels, assets=assets
            )
            status = 400
        else:
            if op == "new":
                statement = None
            form = StatementForm(data, channels=channels, assets=assets)
            if form.is_valid() and not upload_errors:
                try:
                    statement = statements.save_statement(
                        incident,
                        by=me,
                        text=form.cleaned_data["text"],
                        channel_ids=form.channel_ids(),
                        variants=form.variants(),
                        statement=statement,
                        media=form.media_choice(),
                        channel_media=form.channel_media(),
                        network_options=_network_options(request, channels),
                    )
                    if op == "send":
                        statements.send_to_legal(statement, by=me)
                        messages.success(
                            request, _("Sent to legal: it goes out on every channel once approved.")
                        )
                    else:
                        messages.success(request, _("Statement saved."))
                    return redirect("crisis_statement", ws=ws, pk=pk)
                except ActionRefused as exc:
                    _refused(request, form, exc)
            for name, message in upload_errors.items():
                form.add_error(name, message)
            status = 400
    else:
        form = StatementForm(
            initial=_initial(statement, channels), channels=channels, assets=assets
        )
    if media_form is None and statement is not None:
        media_form = MediaForm(
            initial=_initial(statement, channels), channels=channels, assets=assets
        )
    # The problems each channel's network would find, for what is in the form.
    source = form if form.is_bound else None
    text = str(form.data.get("text", "")) if source else str(form.initial.get("text", ""))
    if source is not None:
        variants = {str(c.pk): str(form.data.get(f"variant_{c.pk}", "")) for c in channels}
        by_pk = {str(a.pk): a for a in assets}
        from portevoix.publishing.actions import MediaChoice

        common = by_pk.get(str(form.data.get("asset", "")))
        media = MediaChoice(common, str(form.data.get("media_alt", ""))) if common else None
        own = {
            c.pk: MediaChoice(by_pk[str(form.data.get(f"media_{c.pk}"))])
            for c in channels
            if str(form.data.get(f"media_{c.pk}", "")) in by_pk
        }
    else:
        variants = statement.variants if statement else {}
        media, own = statements.media_of(statement) if statement else (None, {})
    options = (
        _network_options(request, channels)
        if source is not None
        else (statement.network_options if statement else {})
    )
    # Before anything is written, a channel that must be reconnected already says so.
    problems = (
        statements.channel_problems(channels, text, variants, media, own, options)
        if text.strip()
        else {c.pk: found for c in channels if (found := statements.reconnect_problems(c))}
    )
    standing = statements.standing(statement) if statement else None
    editable = statement is None or statements.editable(statement)
    # The draft form (and TikTok's panel, which asks TikTok) only for who may write it.
    drafting = editable and can(me, "post.create") and incident.is_open
    common_now, own_now = statements.media_of(statement) if statement else (None, {})
    return render(
        request,
        "crisis/statement.html",
        {
            "incident": incident,
            "statement": statement,
            "standing": standing,
            # The approval page opens for who sees the plan or decides a step on it: the link
            # only for them (others got a 404 from it).
            "can_review": statement is not None
            and statement.post_id is not None
            and _may_review(me, statement.post_id),
            "editable": editable,
            "form": form,
            "media_form": media_form,
            "media_changeable": statement is not None and statements.media_changeable(statement),
            "statement_media": common_now,
            "statement_own_media": [(c, own_now[c.pk]) for c in channels if c.pk in own_now],
            "channel_rows": [
                {
                    "channel": c,
                    "problems": problems.get(c.pk, []),
                    "variant": form[f"variant_{c.pk}"],
                    "media": form[f"media_{c.pk}"],
                    "media_file": form[f"media_file_{c.pk}"],
                    "change_media": media_form[f"media_{c.pk}"] if media_form else None,
                    "change_file": media_form[f"media_file_{c.pk}"] if media_form else None,
                    # TikTok's choices, read live from the creator's account, as in the composer.
                    "tiktok": (
                        tiktok_panel(c, dict(options.get(str(c.pk)) or {}))
                        if c.network == "tiktok" and drafting
                        else None
                    ),
                }
                for c in channels
            ],
            "can_write": can(me, "post.create") and incident.is_open,
            "history": list(
                HoldingStatement.objects.filter(incident=incident).select_related("post")
            ),
            "active_section": "crisis",
            "tab": "home",
        },
        status=status,
    )


def _network_options(request: HttpRequest, channels: list[Channel]) -> dict[str, dict[str, str]]:
    """The choices a network asks of whoever posts, as the form sent them (TikTok's panel,
    the composer's: ``v<id>-tiktok_privacy``...), by channel id."""
    from portevoix.publishing.composer import network_options

    found = {str(c.pk): network_options(c, request.POST, f"v{c.pk}-") for c in channels}
    return {pk: values for pk, values in found.items() if values}


def _initial(statement: HoldingStatement | None, channels: list[Channel]) -> dict[str, Any]:
    if statement is None:
        # Every channel that can take it; not one that must be reconnected first.
        return {
            "channels": [
                str(c.pk) for c in channels if c.state != ChannelStates.needs_reconnect.name
            ]
        }
    common, own = statements.media_of(statement)
    return {
        "text": statement.text,
        "channels": [str(i) for i in statement.channel_ids],
        **{f"variant_{k}": v for k, v in statement.variants.items()},
        "asset": str(common.asset.pk) if common else "",
        "media_alt": common.alt_text if common else "",
        **{f"media_{k}": str(v.asset.pk) for k, v in own.items()},
    }


# --- the inbox in surge ---------------------------------------------------------------------


class MemberChoices(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.user.display_name)


class MemberChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.user.display_name)


class DutyForm(forms.Form):
    members = MemberChoices(
        label=gettext_lazy("Members to call"),
        queryset=Member.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    until = forms.DateTimeField(
        label=gettext_lazy("On duty until"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def __init__(self, *args: Any, incident: Incident, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = statements.callable_members(incident)
        members = self.fields["members"]
        assert isinstance(members, MemberChoices)
        members.queryset = Member.objects.filter(pk__in=[m.pk for m in people]).select_related(
            "user"
        )
        zone = ZoneInfo(incident.workspace.time_zone)
        self.zone = zone
        self.fields["until"].help_text = gettext_lazy(
            "In the workspace's time zone (%(zone)s); at most three days. The shifts end when "
            "the incident closes."
        ) % {"zone": incident.workspace.time_zone}

    def clean_until(self) -> dt.datetime:
        from portevoix.publishing.approvals.forms import wall_clock

        value: dt.datetime = self.cleaned_data["until"]
        if value.tzinfo is not None:
            value = timezone.localtime(value, timezone.get_current_timezone())
        found = wall_clock(value, self.zone)
        if found is None:
            raise forms.ValidationError(_("The clocks skip this time: choose another."))
        return found


def surge_page(
    request: HttpRequest, ws: str, pk: int, *, duty_form: DutyForm | None = None, status: int = 200
) -> HttpResponse:
    me = _reader(request)
    incident = _incident(me, pk)
    statement = statements.answering_statement(incident) or statements.current_statement(incident)
    standing = statements.standing(statement) if statement else None
    # Answered with any of the incident's statements (a later version does not unmark them).
    sent_to = set(
        StatementReply.objects.filter(statement__incident=incident).values_list(
            "conversation_id", flat=True
        )
    )
    rows = statements.crisis_conversations(incident, me)
    label = (
        statements.crisis_label(incident.workspace)
        if incident.crisis_conversations.exists()
        else None
    )
    if duty_form is None:
        zone = ZoneInfo(incident.workspace.time_zone)
        default_until = timezone.localtime(timezone.now() + dt.timedelta(hours=8), zone)
        duty_form = DutyForm(
            incident=incident, initial={"until": default_until.strftime("%Y-%m-%dT%H:%M")}
        )
    return render(
        request,
        "crisis/surge.html",
        {
            "incident": incident,
            "statement": statement,
            "standing": standing,
            "conversations": [{"c": c, "sent": c.pk in sent_to} for c in rows],
            # How triage read each one: a plain question that names the crisis's term is
            # told apart from an angry customer before the statement goes to both.
            "intents": INTENTS,
            "sentiments": SENTIMENTS,
            "label": label,
            "may_reply": can(me, "inbox.reply") and incident.is_open,
            "may_call": can(me, "crisis.declare") and incident.is_open,
            "duty_form": duty_form,
            "duty_calls": list(
                incident.duty_calls.select_related("member__user", "shift", "called_by__user")
            ),
            "active_section": "crisis",
            "tab": "home",
        },
        status=status,
    )


@require_GET
def surge_view(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    return surge_page(request, ws, pk)


@require_POST
def surge_refresh(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    incident = _incident(me, pk)
    try:
        count = statements.refresh_conversations(incident, by=me)
        messages.success(
            request,
            ngettext(
                "%(count)s new crisis conversation found.",
                "%(count)s new crisis conversations found.",
                count,
            )
            % {"count": count},
        )
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("crisis_surge", ws=ws, pk=pk)


@require_POST
def surge_reply(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    from portevoix.inbox.models import Conversation

    me = _reader(request)
    require(me, "inbox.reply")
    incident = _incident(me, pk)
    statement = statements.answering_statement(incident) or statements.current_statement(incident)
    if statement is None:
        messages.error(request, _("Draft the holding statement first."))
        return redirect("crisis_surge", ws=ws, pk=pk)
    ids = [int(v) for v in request.POST.getlist("conversations") if v.isdigit()]
    chosen = list(
        Conversation.objects.visible_to(me)
        .filter(pk__in=ids, workspace_id=me.workspace_id)
        .select_related("channel", "customer")
    )
    try:
        result = statements.reply_with_statement(statement, chosen, by=me)
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return redirect("crisis_surge", ws=ws, pk=pk)
    if result.sent:
        messages.success(
            request,
            ngettext(
                "The holding statement answers %(count)s conversation.",
                "The holding statement answers %(count)s conversations.",
                result.sent,
            )
            % {"count": result.sent},
        )
    if result.skipped:
        messages.info(
            request,
            ngettext(
                "%(count)s conversation already had it: not sent again.",
                "%(count)s conversations already had it: not sent again.",
                result.skipped,
            )
            % {"count": result.skipped},
        )
    for refusal in result.refused:
        messages.error(request, refusal)
    return redirect("crisis_surge", ws=ws, pk=pk)


@require_POST
def surge_duty(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    incident = _incident(me, pk)
    require(me, "crisis.declare")
    form = DutyForm(request.POST, incident=incident)
    if form.is_valid():
        try:
            statements.call_on_duty(
                incident,
                by=me,
                members=list(form.cleaned_data["members"]),
                until=form.cleaned_data["until"],
            )
            messages.success(request, _("Called on duty; they are told."))
            return redirect("crisis_surge", ws=ws, pk=pk)
        except ActionRefused as exc:
            _refused(request, form, exc)
    return surge_page(request, ws, pk, duty_form=form, status=400)


# --- lockdown -------------------------------------------------------------------------------


@require_GET
def lockdown_page(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    incident = _incident(me, pk)
    channels = list(
        Channel.objects.visible_to(me).filter(workspace=incident.workspace).order_by("name")
    )
    members = list(
        Member.objects.filter(workspace=incident.workspace)
        .select_related("user", "department")
        .order_by("-is_active", "user__full_name", "user__email")
    )
    return render(
        request,
        "crisis/lockdown.html",
        {
            "incident": incident,
            "members": members,
            "channels": [
                {
                    "channel": c,
                    "custody": lockdown.custody_of(c, me),
                    "recovery": lockdown.recovery_for(c),
                }
                for c in channels
            ],
            "may_deactivate": can(me, "member.deactivate") and incident.is_open,
            "may_manage_channels": can(me, "channel.manage") and incident.is_open,
            "active_section": "crisis",
            "tab": "home",
        },
    )


@require_POST
def lockdown_act(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    op = request.POST.get("op", "")
    # The reason the error page gives is the action asked for (a role may hold one and not the
    # other), or both when the form was not filled in.
    if op in ("deactivate", "end_sessions"):
        require(me, "member.deactivate")
    elif op in ("rotate", "disconnect"):
        require(me, "channel.manage")
    elif not (can(me, "member.deactivate") or can(me, "channel.manage")):
        require(me, "member.deactivate")
    incident = _incident(me, pk)
    raw = str(request.POST.get("target", ""))
    if not raw.isdigit() or op not in ("deactivate", "end_sessions", "rotate", "disconnect"):
        messages.error(request, _("Choose a member or a channel, and what to do."))
        return redirect("crisis_lockdown", ws=ws, pk=pk)
    try:
        if op in ("deactivate", "end_sessions"):
            target = Member.objects.filter(pk=int(raw), workspace_id=me.workspace_id).first()
            if target is None:
                raise Http404("not found")
            if op == "deactivate":
                lockdown.deactivate(incident, by=me, member=target)
                messages.success(request, _("Deactivated; their sessions are ended."))
            else:
                lockdown.end_member_sessions(incident, by=me, member=target)
                messages.success(request, _("Their sessions are ended."))
        elif op in ("rotate", "disconnect"):
            channel = Channel.objects.filter(pk=int(raw), workspace_id=me.workspace_id).first()
            if channel is None:
                raise Http404("not found")
            if op == "rotate":
                lockdown.rotate(incident, by=me, channel=channel)
                messages.success(request, _("New credentials: the old ones no longer work."))
            else:
                lockdown.disconnect(incident, by=me, channel=channel)
                messages.success(request, _("Channel disconnected. Its history is kept."))
        else:
            raise Http404("not found")
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("crisis_lockdown", ws=ws, pk=pk)


# --- credential custody (edited from the channel's page) ------------------------------------


class CustodyForm(forms.Form):
    login_holder = MemberChoice(
        label=gettext_lazy("Holds the login on the network"),
        queryset=Member.objects.none(),
        required=False,
    )
    login_holder_other = forms.CharField(
        label=gettext_lazy("Or, outside the team"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("An agency, a former employee…"),
    )
    recovery = forms.CharField(
        label=gettext_lazy("Recovery e-mail or phone"),
        required=False,
        max_length=lockdown.MAX_RECOVERY,
        help_text=gettext_lazy("Encrypted; shown only to those who manage channels."),
    )
    second_factor_holder = MemberChoice(
        label=gettext_lazy("Holds the second factor"),
        queryset=Member.objects.none(),
        required=False,
    )
    second_factor_method = forms.CharField(
        label=gettext_lazy("Second factor"),
        required=False,
        max_length=120,
        help_text=gettext_lazy("Authenticator app on the shared phone, security key, SMS…"),
    )
    notes = forms.CharField(
        label=gettext_lazy("Notes"),
        required=False,
        max_length=lockdown.MAX_NOTES,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Where the recovery codes are kept, for instance. Encrypted."),
    )

    def __init__(self, *args: Any, workspace_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = Member.objects.filter(workspace_id=workspace_id, is_active=True).select_related(
            "user"
        )
        for name in ("login_holder", "second_factor_holder"):
            field = self.fields[name]
            assert isinstance(field, MemberChoice)
            field.queryset = people


def custody_initial(channel: Channel, me: Member) -> dict[str, Any]:
    found = lockdown.custody_of(channel, me)
    if found is None:
        return {}
    row = found["row"]
    return {
        "login_holder": row.login_holder_id,
        "login_holder_other": row.login_holder_other,
        "recovery": found["recovery"],
        "second_factor_holder": row.second_factor_holder_id,
        "second_factor_method": row.second_factor_method,
        "notes": found["notes"],
    }


def custody_page(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    channel: Channel = Channel.objects.get_for(me, pk=pk)
    require(me, "channel.manage")
    status = 200
    if request.method == "POST":
        form = CustodyForm(request.POST, workspace_id=me.workspace_id)
        if form.is_valid():
            data = form.cleaned_data
            try:
                lockdown.save_custody(
                    channel,
                    by=me,
                    login_holder=data["login_holder"],
                    login_holder_other=data["login_holder_other"],
                    recovery=data["recovery"],
                    second_factor_holder=data["second_factor_holder"],
                    second_factor_method=data["second_factor_method"],
                    notes=data["notes"],
                )
                messages.success(request, _("Credential custody saved."))
                return redirect(
                    reverse("channel_detail", kwargs={"ws": ws, "pk": channel.pk}) + "#custody"
                )
            except ActionRefused as exc:
                _refused(request, form, exc)
        status = 400
    else:
        form = CustodyForm(initial=custody_initial(channel, me), workspace_id=me.workspace_id)
    return render(
        request,
        "crisis/custody.html",
        {
            "channel": channel,
            "form": form,
            "recovery": lockdown.recovery_for(channel),
            "active_section": "channels",
        },
        status=status,
    )


# --- impact across the member's workspaces ---------------------------------------------------


@require_GET
def impact_page(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    incident = _incident(me, pk)
    since, until = impact.window(incident)
    return render(
        request,
        "crisis/impact.html",
        {
            "incident": incident,
            "rows": impact.assess(incident, me),
            "since": since,
            "until": until,
            "terms": [t for t in incident.terms if t.strip()],
            "active_section": "crisis",
            "tab": "home",
        },
    )
