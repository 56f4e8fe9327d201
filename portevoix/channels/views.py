"""Channels pages: list with health, connect (fields or OAuth), settings, reconnect, disconnect."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from portevoix.channels import actions, crypto
from portevoix.channels.credentials import is_secret
from portevoix.channels.messages import network_message
from portevoix.channels.models import Channel, StrategyLevel
from portevoix.core import sentences
from portevoix.core.actions import ActionRefused
from portevoix.core.forms import ZONE_CHOICES
from portevoix.core.models import Department, Member
from portevoix.core.permissions import can, require
from portevoix.core.query import query_id, query_text
from portevoix.core.views import _member, _refusal_to_form
from portevoix.networks import registry
from portevoix.networks.base import Network
from portevoix.networks.errors import NetworkError
from portevoix.networks.types import AuthorizationRequest, Capability

FIELD_LABELS: dict[str, Any] = {
    "pds_url": gettext_lazy("Server address (PDS)"),
    "handle": gettext_lazy("Handle"),
    "app_password": gettext_lazy("App password"),
    "instance_url": gettext_lazy("Instance address"),
    "access_token": gettext_lazy("Access token"),
    "token": gettext_lazy("Token"),
    "page_id": gettext_lazy("Page id"),
    "page_access_token": gettext_lazy("Page access token"),
    "ig_user_id": gettext_lazy("Instagram account id"),
    "client_id": gettext_lazy("Client ID"),
    "client_key": gettext_lazy("Client key"),
    "client_secret": gettext_lazy("Client secret"),
    "organization_id": gettext_lazy("Company page"),
    "refresh_token": gettext_lazy("Refresh token"),
    "audited": gettext_lazy("Google has audited this project for the YouTube API"),
}
FIELD_HELP: dict[str, Any] = {
    "pds_url": gettext_lazy("https://bsky.social for most accounts, or your own server."),
    "app_password": gettext_lazy(
        "Create one in Bluesky under Settings → Privacy and security → App passwords."
    ),
    "instance_url": gettext_lazy("For example https://mastodon.social"),
    "access_token": gettext_lazy(
        "From Preferences → Development → New application on your instance."
    ),
    "page_access_token": gettext_lazy(
        "A page token from Meta’s Graph API Explorer; signing in with Facebook is simpler."
    ),
    "organization_id": gettext_lazy(
        "To publish as a company page: its number, from the page’s admin address "
        "(linkedin.com/company/12345678/admin). Leave empty to publish as yourself."
    ),
}
#: Where one network's field means something else than the same name elsewhere.
NETWORK_FIELD_HELP: dict[tuple[str, str], Any] = {
    ("linkedin", "client_id"): gettext_lazy("From your app on developer.linkedin.com, under Auth."),
    ("x", "client_id"): gettext_lazy(
        "From your app on developer.x.com, under Keys and tokens → OAuth 2.0 Client ID and "
        "Client Secret."
    ),
    ("x", "client_secret"): gettext_lazy(
        "For a confidential app (a web app); leave empty for a public one."
    ),
    ("x", "access_token"): gettext_lazy(
        "An OAuth 2.0 user token of your app; it lasts two hours and cannot be renewed: "
        "signing in with X is the way to keep the account connected."
    ),
    ("linkedin", "access_token"): gettext_lazy(
        "Made with LinkedIn’s token tool for your app (developer.linkedin.com → Docs and "
        "tools → OAuth Token Tools); it lasts 60 days. Signing in with LinkedIn is simpler."
    ),
    ("tiktok", "client_key"): gettext_lazy(
        "From your app on developers.tiktok.com, with Login Kit and the Content Posting API "
        "(Direct Post) added."
    ),
    ("tiktok", "audited"): gettext_lazy(
        "Leave unticked unless TikTok approved the app’s audit: until then TikTok only takes "
        "posts from a private account, seen by the account alone, and Porte-voix sends them so."
    ),
    ("youtube", "client_id"): gettext_lazy(
        "From your Google Cloud project: APIs & Services → Credentials → OAuth client ID "
        "(type “Web application”), with YouTube Data API v3 enabled."
    ),
    ("youtube", "audited"): gettext_lazy(
        "Leave unticked unless Google approved the project’s audit: until then YouTube keeps "
        "every video uploaded through the API private, and Porte-voix uploads them private."
    ),
}
#: Where one network's field is named otherwise than the same name elsewhere.
NETWORK_FIELD_LABELS: dict[tuple[str, str], Any] = {
    ("tiktok", "audited"): gettext_lazy("TikTok has audited this app for Direct Post"),
}
#: Fields asked as a tick box; the network receives "yes" or "".
CHECKBOX_FIELDS = frozenset({"audited"})
OAUTH_SESSION_KEY = "channel_oauth"


#: The audience levels a network offers per account (TikTok's ``privacy_level_options``).
AUDIENCE_LABELS: dict[str, Any] = {
    "PUBLIC_TO_EVERYONE": gettext_lazy("Everyone"),
    "MUTUAL_FOLLOW_FRIENDS": gettext_lazy("Friends (followers the account follows back)"),
    "FOLLOWER_OF_CREATOR": gettext_lazy("Followers"),
    "SELF_ONLY": gettext_lazy("Only the account (private)"),
}


def audience_form(channel: Channel, data: Any = None) -> forms.Form | None:
    """Who sees the channel's public posts, for a network that offers a choice per account."""
    offered = channel.cached_limits().privacy_levels
    if not offered:
        return None
    choices = [("", _("The network’s default (everyone, or followers on a private account)"))]
    choices += [
        (level, AUDIENCE_LABELS.get(level, level)) for level in AUDIENCE_LABELS if level in offered
    ]
    form = forms.Form(data, prefix="audience")
    form.fields["privacy_level"] = forms.ChoiceField(
        label=_("Who sees the posts"),
        choices=choices,
        required=False,
        initial=channel.get_credentials().get("privacy_level"),
        help_text=_("The choices this account offers on %(network)s, read from the network.")
        % {"network": channel.network_label},
    )
    return form


class ChannelSettingsForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name in Porte-voix"), max_length=80, required=False)
    strategy_level = forms.ChoiceField(
        label=gettext_lazy("Strategy level"),
        choices=StrategyLevel.choices,
        initial=StrategyLevel.ACTIVE,
        help_text=gettext_lazy(
            "Passive: listen only. Active: publish and answer. Proactive: also start conversations."
        ),
    )

    def __init__(self, *args: Any, workspace: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_department"] = forms.ModelChoiceField(
            queryset=Department.objects.filter(workspace=workspace, is_active=True),
            required=False,
            label=gettext_lazy("Owner department"),
            empty_label=gettext_lazy("— none —"),
        )
        self.fields["time_zone"] = forms.ChoiceField(
            label=gettext_lazy("Audience time zone"),
            choices=[
                ("", _("The workspace’s (%(zone)s)") % {"zone": workspace.time_zone}),
                *ZONE_CHOICES,
            ],
            required=False,
            help_text=gettext_lazy(
                "Where most of this channel’s audience lives: posts for it are scheduled in "
                "this zone."
            ),
        )


def credentials_form_class(network: type[Network]) -> type[forms.Form]:
    fields: dict[str, forms.Field] = {}
    for name in network.credential_fields:
        widget = (
            forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
            if is_secret(name)
            else forms.TextInput(attrs={"autocomplete": "off"})
        )
        fields[name] = forms.CharField(
            label=FIELD_LABELS.get(name, name),
            help_text=NETWORK_FIELD_HELP.get((network.name, name), FIELD_HELP.get(name, "")),
            widget=widget,
            max_length=500,
            required=name not in network.optional_credential_fields,
        )
    return type(f"{network.__name__}CredentialsForm", (forms.Form,), fields)


class SandboxAccountForm(forms.Form):
    handle = forms.SlugField(
        label=gettext_lazy("Account name"),
        max_length=40,
        help_text=gettext_lazy("Letters, digits and dashes, e.g. lumiere-insta."),
    )
    flavour = forms.ChoiceField(
        label=gettext_lazy("Kind of network"),
        choices=[
            ("photo", gettext_lazy("Photos and stories (like Instagram)")),
            ("pro", gettext_lazy("Professional (like LinkedIn)")),
        ],
    )


class OwnerChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


def owner_field(workspace: Any, *, required: bool = True) -> forms.ModelChoiceField[Any]:
    """A manual channel's owner: an active member of the workspace who writes posts."""
    from portevoix.core.models import User
    from portevoix.core.permissions import members_with

    users = User.objects.filter(
        members_with("post.create", "memberships__"),
        memberships__workspace=workspace,
        memberships__is_active=True,
    ).order_by("full_name", "email")
    return OwnerChoice(
        queryset=users,
        required=required,
        label=gettext_lazy("Owner"),
        help_text=gettext_lazy(
            "Reminded at each post’s time to publish it by hand; may mark it published and "
            "enter its results."
        ),
    )


class ManualChannelForm(forms.Form):
    """A manual channel: what it is, the account there, and who publishes by hand."""

    label = forms.CharField(
        label=gettext_lazy("What it is"),
        max_length=80,
        help_text=gettext_lazy(
            "For example Snapchat, a LinkedIn group, the customers’ forum, the newsletter."
        ),
    )
    account = forms.CharField(
        label=gettext_lazy("Account or page there"), max_length=200, required=False
    )
    url = forms.URLField(
        label=gettext_lazy("Its address"), max_length=500, required=False, assume_scheme="https"
    )

    def __init__(self, *args: Any, workspace: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"] = owner_field(workspace)


def _network_or_404(name: str) -> type[Network]:
    try:
        return registry.get(name)
    except NetworkError as exc:
        raise Http404("unknown network") from exc


@require_safe
def channel_list(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "channel.view")
    channels = Channel.objects.visible_to(me).select_related("owner_department").order_by("name")
    return render(
        request,
        "channels/list.html",
        {"channels": channels, "can_manage": can(me, "channel.manage")},
    )


@require_safe
def connect_choose(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "channel.manage")
    classes = sorted(registry.all_networks(), key=lambda n: (not n.is_sandbox, n.label))
    networks = [{"cls": n, "oauth": Capability.OAUTH in n.capabilities} for n in classes]
    return render(request, "channels/connect_choose.html", {"networks": networks})


def connect(request: HttpRequest, ws: str, network: str) -> HttpResponse:
    me = _member(request)
    require(me, "channel.manage")
    cls = _network_or_404(network)
    data = request.POST or None
    credentials_form: forms.Form
    if cls.is_manual:
        credentials_form = ManualChannelForm(data, prefix="cred", workspace=me.workspace)
    else:
        form_class = SandboxAccountForm if cls.is_sandbox else credentials_form_class(cls)
        credentials_form = form_class(data, prefix="cred")
    settings_form = ChannelSettingsForm(data, workspace=me.workspace, prefix="channel")
    status = 200
    if request.method == "POST":
        status = 400
        if credentials_form.is_valid() and settings_form.is_valid():
            try:
                extra: dict[str, Any] = {}
                if cls.is_sandbox:
                    values = _sandbox_credentials(me, credentials_form.cleaned_data)
                elif cls.is_manual:
                    given = dict(credentials_form.cleaned_data)
                    extra["owner"] = given.pop("owner")
                    values = {k: str(v or "") for k, v in given.items()}
                else:
                    values = {k: str(v) for k, v in credentials_form.cleaned_data.items()}
                channel = actions.connect_channel(
                    me.workspace,
                    by=me,
                    network=cls.name,
                    credentials=values,
                    **settings_form.cleaned_data,
                    **extra,
                )
            except ActionRefused as exc:
                target = credentials_form if exc.field in credentials_form.fields else settings_form
                _refusal_to_form(target, exc)
            else:
                messages.success(
                    request, _("Channel “%(name)s” connected.") % {"name": channel.name}
                )
                return redirect("channel_detail", ws=ws, pk=channel.pk)
    return render(
        request,
        "channels/connect.html",
        {
            "network": cls,
            "credentials_form": credentials_form,
            "settings_form": settings_form,
            "oauth": Capability.OAUTH in cls.capabilities,
        },
        status=status,
    )


def _sandbox_credentials(me: Member, data: dict[str, Any]) -> dict[str, str]:
    from portevoix.sandbox import service
    from portevoix.sandbox.models import SandboxAccount

    account = SandboxAccount.objects.filter(handle=data["handle"]).first()
    if account is not None and account.workspace_id not in (None, me.workspace_id):
        raise ActionRefused(_("This sandbox account name is taken."), field="handle")
    if account is None:
        account = service.create_account(
            data["handle"],
            display_name=data["handle"],
            workspace=me.workspace,
            flavour=data["flavour"],
            language=me.workspace.language,
        )
    return service.credentials_for(account)


class OAuthStartForm(forms.Form):
    instance_url = forms.CharField(
        label=gettext_lazy("Instance address"),
        max_length=300,
        help_text=gettext_lazy("For example https://mastodon.social"),
    )


# Networks whose login is one place for everybody (Facebook Login): the first field names the
# account to connect among those the person shares, instead of a server address.
OAUTH_ACCOUNT_FIELD: dict[str, tuple[Any, Any, Any]] = {
    "facebook": (
        gettext_lazy("Page"),
        gettext_lazy(
            "The page’s name or id. Leave it empty if you share only one page with Porte-voix."
        ),
        gettext_lazy(
            "Facebook asks you which pages Porte-voix may manage, then sends you back here."
        ),
    ),
    "instagram": (
        gettext_lazy("Instagram account"),
        gettext_lazy("The professional account’s user name. Leave it empty if you share only one."),
        gettext_lazy(
            "Instagram professional accounts connect through Facebook Login, with the Facebook "
            "page they are linked to. Facebook sends you back here once it is done."
        ),
    ),
}


def oauth_form_class(network: type[Network]) -> type[forms.Form]:
    """What the OAuth start page asks of ``network`` (``Network.oauth_fields``)."""
    if network.oauth_fields == ("instance_url",):
        return OAuthStartForm
    fields: dict[str, forms.Field] = {}
    for name in network.oauth_fields:
        help_text = NETWORK_FIELD_HELP.get((network.name, name), FIELD_HELP.get(name, ""))
        label = NETWORK_FIELD_LABELS.get((network.name, name), FIELD_LABELS.get(name, name))
        if name in CHECKBOX_FIELDS:
            fields[name] = forms.BooleanField(label=label, help_text=help_text, required=False)
            continue
        widget = (
            forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
            if is_secret(name)
            else forms.TextInput(attrs={"autocomplete": "off"})
        )
        fields[name] = forms.CharField(
            label=label,
            help_text=help_text,
            widget=widget,
            max_length=500,
            required=name not in network.optional_credential_fields,
        )
    return type(f"{network.__name__}OAuthForm", (forms.Form,), fields)


def oauth_start(request: HttpRequest, ws: str, network: str) -> HttpResponse:
    me = _member(request)
    require(me, "channel.manage")
    cls = _network_or_404(network)
    if Capability.OAUTH not in cls.capabilities:
        raise Http404("no oauth")
    # ``?channel=<id>``: sign in again for a channel already there (a token near its end):
    # the same account is reconnected, its history kept; the app's stored keys are reused.
    reconnecting = _oauth_channel(request, me, cls)
    stored = reconnecting.get_credentials() if reconnecting is not None else None
    form = oauth_form_class(cls)(
        request.POST or None,
        prefix="oauth",
        initial={n: stored.get(n) for n in cls.oauth_fields if not is_secret(n)}
        if stored
        else None,
    )
    if stored is not None:
        for name, field in form.fields.items():
            if is_secret(name) and stored.get(name):
                field.required = False
                field.help_text = _("Leave empty to keep the one stored with the channel.")
    custom = OAUTH_ACCOUNT_FIELD.get(cls.name)
    if custom is not None and "instance_url" in form.fields:
        # Facebook Login: the first field names the page or account among those shared.
        account_field = form.fields["instance_url"]
        account_field.label, account_field.help_text = custom[0], custom[1]
        account_field.required = False
    settings_form = ChannelSettingsForm(
        request.POST or None, workspace=me.workspace, prefix="channel"
    )
    callback = request.build_absolute_uri(reverse("channel_oauth_callback", kwargs={"ws": ws}))
    settings_ok = reconnecting is not None or settings_form.is_valid()
    if request.method == "POST" and form.is_valid() and settings_ok:
        state = secrets.token_urlsafe(24)
        asked = {
            k: ("yes" if v else "") if k in CHECKBOX_FIELDS else str(v)
            for k, v in form.cleaned_data.items()
        }
        if stored is not None:
            asked = {k: v or (stored.get(k) if is_secret(k) else v) for k, v in asked.items()}
        instance_url = asked.pop("instance_url", "")
        try:
            auth = cls.begin_authorization(instance_url, callback, state=state, **asked)
        except NetworkError as exc:
            form.add_error(None if asked else "instance_url", network_message(exc))
        else:
            chosen = settings_form.cleaned_data if reconnecting is None else {}
            department = chosen.get("owner_department")
            request.session[OAUTH_SESSION_KEY] = crypto.encrypt(
                {
                    "channel": str(reconnecting.pk) if reconnecting is not None else "",
                    "network": cls.name,
                    "workspace": ws,
                    "url": auth.url,
                    "state": auth.state,
                    "redirect_uri": auth.redirect_uri,
                    "instance_url": auth.instance_url,
                    "client_id": auth.client_id,
                    "client_secret": auth.client_secret,
                    "extra": json.dumps(dict(auth.extra)),
                    "name": chosen.get("name", ""),
                    "strategy_level": chosen.get("strategy_level", ""),
                    "time_zone": chosen.get("time_zone", ""),
                    "owner_department": str(department.pk) if department else "",
                }
            )
            return redirect(auth.url)
    return render(
        request,
        "channels/oauth_start.html",
        {
            "network": cls,
            "form": form,
            "settings_form": settings_form if reconnecting is None else None,
            "reconnecting": reconnecting,
            "asks_app": bool({"client_id", "client_key"} & set(cls.oauth_fields)),
            "callback": callback,
            "intro": OAUTH_ACCOUNT_FIELD.get(cls.name, (None, None, None))[2],
        },
        status=400 if request.method == "POST" else 200,
    )


def _oauth_channel(request: HttpRequest, me: Member, cls: type[Network]) -> Channel | None:
    """The channel ``?channel=`` names (one of ``cls``'s, visible to ``me``), else None."""
    pk = query_id(request, "channel")  # malformed: 400 with the reason
    if pk is None:
        return None
    channel: Channel = Channel.objects.get_for(me, pk=pk)
    if channel.network != cls.name:
        raise Http404("not this network's channel")
    return channel


def oauth_callback(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "channel.manage")
    # What the network's redirect carries, bounded before anything uses it.
    state = query_text(request, "state", max_length=200)
    code = query_text(request, "code", max_length=2000)
    refusal = query_text(request, "error", max_length=200)
    description = query_text(request, "error_description", max_length=1000)
    stored = request.session.pop(OAUTH_SESSION_KEY, None)
    pending = crypto.decrypt(stored) if stored else {}
    error = ""
    if not pending or pending.get("workspace") != ws:
        error = _("This authorisation was not started here, or has already been used.")
    elif state != pending["state"]:
        error = _("The network answered for another request (state mismatch). Start again.")
    elif refusal:
        error = _("The network did not authorise Porte-voix: %(reason)s") % {
            "reason": description or refusal
        }
    elif not code:
        error = _("The network answered without an authorisation code. Start again.")
    if error:
        messages.error(request, error)
        return redirect("channel_connect_choose", ws=ws)
    cls = _network_or_404(pending["network"])
    auth = AuthorizationRequest(
        url=pending["url"],
        state=pending["state"],
        redirect_uri=pending["redirect_uri"],
        instance_url=pending["instance_url"],
        client_id=pending["client_id"],
        client_secret=pending["client_secret"],
        extra=json.loads(pending.get("extra") or "{}"),
    )
    department = (
        Department.objects.filter(workspace=me.workspace, pk=pending["owner_department"]).first()
        if pending.get("owner_department")
        else None
    )
    try:
        credentials = cls.complete_authorization(auth, code)
        if pending.get("channel"):
            channel = Channel.objects.get_for(me, pk=int(pending["channel"]))
            actions.reconnect_channel(channel, by=me, credentials=credentials.as_dict())
            messages.success(request, _("Channel reconnected; its history is kept."))
            return redirect("channel_detail", ws=ws, pk=channel.pk)
        channel = actions.connect_channel(
            me.workspace,
            by=me,
            network=cls.name,
            credentials=credentials.as_dict(),
            name=pending.get("name", ""),
            owner_department=department,
            strategy_level=pending.get("strategy_level") or StrategyLevel.ACTIVE,
            time_zone=pending.get("time_zone", ""),
        )
    except NetworkError as exc:
        messages.error(request, network_message(exc))
        return redirect("channel_connect_choose", ws=ws)
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return redirect("channel_connect_choose", ws=ws)
    messages.success(request, _("Channel “%(name)s” connected.") % {"name": channel.name})
    return redirect("channel_detail", ws=ws, pk=channel.pk)


def quick_post(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    """Publish (or schedule) a post on this channel; the worker sends it. What the approval
    settings say is enforced by the action: the post may wait for approval instead.

    The time is read in the channel's audience zone, which the form names; the image's type is
    read from its content by the action, never from the browser's header.
    """
    from portevoix.publishing import actions as publishing
    from portevoix.publishing import compliance
    from portevoix.publishing.actions import Upload
    from portevoix.publishing.approvals import policy
    from portevoix.publishing.forms import QuickPostForm

    me = _member(request)
    channel: Channel = Channel.objects.select_related("workspace").get_for(me, pk=pk)
    require(me, "post.create")
    form = QuickPostForm(
        request.POST or None,
        request.FILES or None,
        zone=channel.audience_zone,
        zone_is_channels=bool(channel.time_zone),
    )
    # The live compliance check, as in the composer: the text only, never the file.
    form.fields["text"].widget.attrs.update(
        {
            "hx-post": reverse("compliance_check", kwargs={"ws": ws}),
            "hx-trigger": "input changed delay:400ms",
            "hx-target": "#compliance-findings",
            "hx-swap": "outerHTML",
            "hx-params": "text,channel",
            "aria-describedby": "compliance-findings",
        }
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        uploads = []
        if data["image"]:
            uploads.append(
                Upload(
                    filename=data["image"].name,
                    data=data["image"].read(),
                    alt_text=data["alt_text"],
                )
            )
        at = data["at"]
        try:
            post = publishing.schedule_post(
                me.workspace, by=me, text=data["text"], channels=[channel], at=at, uploads=uploads
            )
        except ActionRefused as exc:
            _refusal_to_form(form, exc)
        else:
            states = set(post.publications.values_list("state", flat=True))
            if "pending_approval" in states:
                messages.success(request, _("Sent for approval: it goes out once approved."))
            elif "paused" in states:
                messages.warning(
                    request, _("Publishing is paused here: it goes out when it resumes.")
                )
            else:
                messages.success(
                    request,
                    _("Post scheduled.") if at else _("Post queued: it goes out in a moment."),
                )
            return redirect("channel_detail", ws=ws, pk=pk)
    return render(
        request,
        "channels/quick_post.html",
        {
            "channel": channel,
            "form": form,
            "passive": channel.strategy_level == StrategyLevel.PASSIVE,
            "needs_approval": policy.approval_expected(me, [channel]),
            "guide": compliance.brand_guide(me.workspace),
        },
        status=400 if request.method == "POST" else 200,
    )


def channel_detail(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    channel: Channel = Channel.objects.select_related("owner_department").get_for(me, pk=pk)
    manage = can(me, "channel.manage")
    settings_form = ChannelSettingsForm(
        request.POST if request.method == "POST" and "save" in request.POST else None,
        workspace=me.workspace,
        prefix="channel",
        initial={
            "name": channel.name,
            "owner_department": channel.owner_department_id,
            "strategy_level": channel.strategy_level,
            "time_zone": channel.time_zone,
            "owner": channel.owner_id,
        },
    )
    if channel.is_manual:
        settings_form.fields["owner"] = owner_field(me.workspace)
    reconnect_form = (
        None
        if channel.is_sandbox or channel.is_manual
        else credentials_form_class(channel.network_class)(
            request.POST if "reconnect" in request.POST else None, prefix="cred"
        )
    )
    status = 200
    if request.method == "POST":
        require(me, "channel.manage")
        status = 400
        if "save" in request.POST and settings_form.is_valid():
            try:
                data = settings_form.cleaned_data
                actions.update_channel(
                    channel,
                    by=me,
                    name=data["name"] or channel.name,
                    owner_department=data["owner_department"],
                    strategy_level=data["strategy_level"],
                    time_zone=data["time_zone"],
                    **({"owner": data["owner"]} if "owner" in data else {}),
                )
                messages.success(request, _("Channel saved."))
                return redirect("channel_detail", ws=ws, pk=pk)
            except ActionRefused as exc:
                _refusal_to_form(settings_form, exc)
        elif "reconnect" in request.POST:
            try:
                if channel.is_sandbox:
                    from portevoix.sandbox import service
                    from portevoix.sandbox.models import SandboxAccount

                    account = SandboxAccount.objects.filter(handle=channel.handle).first()
                    if account is None:
                        raise ActionRefused(_("This sandbox account no longer exists."))
                    service.rotate_token(account)
                    values = service.credentials_for(account)
                elif reconnect_form is not None and reconnect_form.is_valid():
                    values = {k: str(v) for k, v in reconnect_form.cleaned_data.items()}
                else:
                    values = None
                if values is not None:
                    actions.reconnect_channel(channel, by=me, credentials=values)
                    messages.success(request, _("Channel reconnected; its history is kept."))
                    return redirect("channel_detail", ws=ws, pk=pk)
            except ActionRefused as exc:
                if reconnect_form is not None:
                    _refusal_to_form(reconnect_form, exc)
                else:
                    messages.error(request, exc.message)
        elif "audience" in request.POST:
            audience = audience_form(channel, request.POST)
            if audience is not None and audience.is_valid():
                try:
                    actions.set_audience(
                        channel, by=me, level=audience.cleaned_data["privacy_level"]
                    )
                    messages.success(request, _("Channel saved."))
                    return redirect("channel_detail", ws=ws, pk=pk)
                except ActionRefused as exc:
                    messages.error(request, exc.message)
            else:
                messages.error(request, _("The account does not offer this audience."))
        elif "check" in request.POST:
            channel = actions.check_channel(channel, by=me)
            if channel.problem:
                messages.error(request, sentences.render(channel.problem))
            else:
                messages.success(request, _("The network accepts this channel's credentials."))
            return redirect("channel_detail", ws=ws, pk=pk)
        elif "disconnect" in request.POST:
            actions.disconnect_channel(channel, by=me)
            messages.success(request, _("Channel disconnected. Its history is kept."))
            return redirect("channel_list", ws=ws)
    publications = list(channel.publications.select_related("post").order_by("-scheduled_at")[:20])
    by_hand: dict[str, Any] = {}
    if channel.is_manual:
        from portevoix.publishing import manual

        by_hand = {
            "may_publish_by_hand": manual.may_publish_by_hand(me, channel),
            "results": manual.latest_results(publications),
        }
    return render(
        request,
        "channels/detail.html",
        {
            **by_hand,
            "channel": channel,
            "settings_form": settings_form,
            "reconnect_form": reconnect_form,
            "oauth": not channel.is_sandbox
            and Capability.OAUTH in channel.network_class.capabilities,
            "can_manage": manage,
            "can_post": can(me, "post.create"),
            "publications": publications,
            # YouTube and TikTok keep the posts of an app they have not audited private.
            "audience_form": audience_form(channel) if manage else None,
            "uploads_private": channel.network in ("youtube", "tiktok")
            and channel.get_credentials().get("audited") != "yes",
        },
        status=status,
    )


@require_POST
def channel_check(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    channel: Channel = Channel.objects.get_for(me, pk=pk)
    require(me, "channel.manage")  # a check can mark the channel "needs reconnection"
    channel = actions.check_channel(channel, by=me)
    if channel.problem:
        messages.error(request, sentences.render(channel.problem))
    else:
        messages.success(request, _("The network accepts this channel's credentials."))
    return redirect("channel_list", ws=ws)
