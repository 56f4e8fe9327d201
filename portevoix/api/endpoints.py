"""The JSON API (django-ninja), version 1, at ``/api/v1/``; OpenAPI at ``/api/docs``.

Each endpoint checks the token's scope, then the member's permission (403), then finds the
object among those the member may see (404: another workspace's object answers exactly like
one that does not exist), then calls the same action as the pages (ARCHITECTURE §4).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.files import UploadedFile
from ninja.params import functions as param
from pydantic import Field

from portevoix.api import actions as api_actions
from portevoix.api.core import (
    MAX_LIMIT,
    ApiError,
    ErrorOut,
    PorteVoixAPI,
    TokenAuth,
    install_handlers,
    need,
    paginate,
)
from portevoix.api.models import Scope, WebhookDelivery, WebhookSubscription
from portevoix.channels.models import Channel
from portevoix.core.models import AuditEntry, Department, Member
from portevoix.core.permissions import can, require
from portevoix.inbox import actions as inbox_actions
from portevoix.inbox.models import Conversation, InboundMessage, Label, Reply
from portevoix.media import actions as media_actions
from portevoix.media.models import Asset
from portevoix.publishing import actions as post_actions
from portevoix.publishing import choices
from portevoix.publishing.approvals import actions as approval_actions
from portevoix.publishing.approvals import policy
from portevoix.publishing.approvals.models import ApprovalStep, StepState
from portevoix.publishing.models import Post, PostKind, Publication

API_DESCRIPTION = """Drive publishing and webcare from your own tools.

Authenticate with a personal access token (`Authorization: Bearer pvk_…`), made on your
profile's *API tokens* page. A token never does more than its member may, and only what its
scopes allow. Every error answers `{"error": {"code", "message", "field", "details"}}`.
Every POST takes an `Idempotency-Key` header (kept 24 hours per token). See docs/api.md."""

api = PorteVoixAPI(
    title="Porte-voix API",
    version="1",
    description=API_DESCRIPTION,
    urls_namespace="api",
    auth=TokenAuth(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_handlers(api)

ERRORS: dict[int, Any] = dict.fromkeys((400, 401, 403, 404, 409, 422, 429), ErrorOut)


def answers(ok: Any, status: int = 200) -> dict[int, Any]:
    return {status: ok, **ERRORS}


Limit = param.Query(50, ge=1, le=MAX_LIMIT)


# --- schemas --------------------------------------------------------------------------------


class MeOut(Schema):
    id: int
    email: str
    name: str
    role: str
    workspace: str
    scopes: list[str]
    token_expires_at: dt.datetime


class TikTokChoices(Schema):
    """The choices TikTok's audit asks of the author for each post ("Required UX
    Implementation", https://developers.tiktok.com/doc/content-sharing-guidelines), named as
    in TikTok's Content Posting API (``post_info``). Read the creator's current options first
    (``GET /channels/{id}/posting-options``)."""

    model_config = {"extra": "forbid"}

    privacy_level: (
        Literal["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"]
        | None
    ) = Field(
        None,
        description="Who can see the post, among the creator's privacy_level_options. "
        "Required: there is no default.",
    )
    disable_comment: bool = Field(
        True, description="false allows comments (left out: not allowed, as TikTok asks)."
    )
    disable_duet: bool = Field(True, description="false allows duets (videos only).")
    disable_stitch: bool = Field(True, description="false allows stitches (videos only).")
    disclose_commercial_content: bool = Field(
        False,
        description="The post promotes a brand, a product or a service; say whose with "
        "brand_organic_toggle and/or brand_content_toggle (implied by either).",
    )
    brand_organic_toggle: bool = Field(
        False, description="Your brand: labelled “Promotional content”."
    )
    brand_content_toggle: bool = Field(
        False,
        description="Branded content (a third party): labelled “Paid partnership”; never "
        "SELF_ONLY.",
    )
    consent: bool = Field(
        False,
        description="The author agrees to TikTok's Music Usage Confirmation (and Branded "
        "Content Policy for branded content). Required: true.",
    )


class PublicationOut(Schema):
    id: int
    channel_id: int
    channel: str
    state: str
    scheduled_at: dt.datetime
    published_at: dt.datetime | None
    url: str
    problem: str
    #: TikTok's choices as kept (null for a network that asks for none).
    network_options: TikTokChoices | None = None


class StepOut(Schema):
    id: int
    kind: str
    state: str


class PostOut(Schema):
    id: int
    title: str
    text: str
    created_at: dt.datetime
    updated_at: dt.datetime
    author: str | None
    publications: list[PublicationOut]
    approval_steps: list[StepOut]


class PostPage(Schema):
    items: list[PostOut]
    next_cursor: str | None


class PostIn(Schema):
    text: str = Field(..., max_length=20000)
    channels: list[int] = Field(..., min_length=1, max_length=50)
    title: str = Field("", max_length=200)
    when: Literal["now", "at", "slot"] = "now"
    at: dt.datetime | None = None
    media: list[int] = Field([], max_length=20)
    submit: bool = False
    note: str = Field("", max_length=2000)
    network_options: dict[int, TikTokChoices] = Field(
        {},
        description="Per channel id (a TikTok channel of `channels`), the choices TikTok asks "
        "of the author. Checked whole when given; required by the time the post is submitted.",
    )


class PostingOptionsOut(Schema):
    """TikTok's ``creator_info``, read live: who will post and what they allow right now."""

    channel_id: int
    network: str
    creator_nickname: str
    creator_username: str
    creator_avatar_url: str
    privacy_level_options: list[str]
    comment_disabled: bool
    duet_disabled: bool
    stitch_disabled: bool
    max_video_post_duration_sec: int | None
    read_at: dt.datetime


class ScheduleIn(Schema):
    at: dt.datetime


class NoteIn(Schema):
    note: str = Field("", max_length=2000)


class ApproveIn(Schema):
    comment: str = Field("", max_length=2000)


class CalendarItemOut(Schema):
    publication_id: int
    post_id: int
    channel_id: int
    channel: str
    state: str
    scheduled_at: dt.datetime
    text: str


class AssetOut(Schema):
    id: int
    name: str
    kind: str
    mime_type: str
    size: int
    width: int | None
    height: int | None
    alt_text: str
    created_at: dt.datetime


class AssetPage(Schema):
    items: list[AssetOut]
    next_cursor: str | None


class ChannelOut(Schema):
    id: int
    name: str
    network: str
    handle: str
    state: str
    health: str
    time_zone: str


class HealthOut(Schema):
    id: int
    health: str
    state: str
    problem: str
    last_checked_at: dt.datetime | None
    last_sync_at: dt.datetime | None
    sync_failing_since: dt.datetime | None
    token_expires_at: dt.datetime | None


class ConversationOut(Schema):
    id: int
    channel_id: int
    kind: str
    state: str
    priority: int
    department: str | None
    assignee_id: int | None
    labels: list[str]
    preview: str
    message_count: int
    created_at: dt.datetime
    last_message_at: dt.datetime


class ConversationPage(Schema):
    items: list[ConversationOut]
    next_cursor: str | None


class MessageOut(Schema):
    id: str
    direction: Literal["in", "out"]
    author: str
    text: str
    private: bool
    created_at: dt.datetime
    state: str


class ReplyIn(Schema):
    text: str = Field(..., min_length=1, max_length=10000)
    private: bool | None = None
    resolve: bool = False


class ReplyOut(Schema):
    id: int
    post_id: int
    private: bool
    state: str


class AssignIn(Schema):
    member_id: int | None = None


class LabelsIn(Schema):
    labels: list[str] = Field(..., max_length=30)


class HandOffIn(Schema):
    department: str = Field(..., min_length=1, max_length=40)
    note: str = Field("", max_length=5000)


class HandOffOut(Schema):
    id: int
    department: str
    state: str


class AuditOut(Schema):
    id: int
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    object_repr: str


class AuditPage(Schema):
    items: list[AuditOut]
    next_cursor: str | None


# --- helpers --------------------------------------------------------------------------------


def _post_out(post: Post, member: Member) -> dict[str, Any]:
    rows = sorted(post.publications.all(), key=lambda p: p.channel_id)
    steps = ApprovalStep.objects.visible_to(member).filter(post=post).order_by("pk")
    return {
        "id": post.pk,
        "title": post.title,
        "text": post.text,
        "created_at": post.created_at,
        "updated_at": post.updated_at,
        "author": post.author.email if post.author is not None else None,
        "publications": [
            {
                "id": p.pk,
                "channel_id": p.channel_id,
                "channel": p.channel.name,
                "state": p.state,
                "scheduled_at": p.scheduled_at,
                "published_at": p.published_at,
                "url": p.url,
                "problem": p.problem,
                "network_options": choices.to_post_info(p.options_for_network()),
            }
            for p in rows
        ],
        "approval_steps": [{"id": s.pk, "kind": s.kind, "state": s.state} for s in steps],
    }


def _posts(member: Member) -> Any:
    return (
        Post.objects.visible_to(member)
        .filter(kind=PostKind.POST)
        .select_related("author")
        .prefetch_related("publications__channel")
    )


def _post(member: Member, post_id: int) -> Post:
    found = _posts(member).filter(pk=post_id).first()
    if found is None:
        raise ApiError(404, "not_found", _("Not found."))
    post: Post = found
    return post


def _aware(value: dt.datetime, field: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ApiError(
            422,
            "naive_datetime",
            _("Give the time with its offset (2026-05-01T09:00:00+02:00)."),
            field=field,
        )
    return value


def _inbox_reader(request: HttpRequest, scope: str) -> Member:
    member = need(request, scope)
    if not (can(member, "inbox.view_all") or can(member, "inbox.view_assigned")):
        raise PermissionDenied(
            _("Your role does not allow this: %(action)s.") % {"action": "inbox"}
        )
    return member


def _conversation(member: Member, conversation_id: int) -> Conversation:
    found: Conversation | None = (
        Conversation.objects.visible_to(member)
        .select_related("department")
        .prefetch_related("labels")
        .filter(pk=conversation_id)
        .first()
    )
    if found is None:
        raise ApiError(404, "not_found", _("Not found."))
    return found


def _conversation_out(c: Conversation) -> dict[str, Any]:
    return {
        "id": c.pk,
        "channel_id": c.channel_id,
        "kind": c.kind,
        "state": c.state,
        "priority": c.priority,
        "department": c.department.code if c.department is not None else None,
        "assignee_id": c.assignee_id,
        "labels": sorted(label.name for label in c.labels.all()),
        "preview": c.preview,
        "message_count": c.message_count,
        "created_at": c.created_at,
        "last_message_at": c.last_message_at,
    }


# --- me -------------------------------------------------------------------------------------

me_router = Router(tags=["me"])


@me_router.get("/me", response=answers(MeOut), summary="Who this token acts as")
def me(request: HttpRequest) -> dict[str, Any]:
    member: Member = request.member  # type: ignore[attr-defined]
    token = request.api_token  # type: ignore[attr-defined]
    return {
        "id": member.pk,
        "email": member.user.email,
        "name": member.user.display_name,
        "role": member.role,
        "workspace": member.workspace.slug,
        "scopes": token.scopes,
        "token_expires_at": token.expires_at,
    }


# --- posts ----------------------------------------------------------------------------------

posts = Router(tags=["posts"])


@posts.get("/posts", response=answers(PostPage), summary="Posts, newest first")
def list_posts(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = Limit,
    state: str | None = None,
    channel: int | None = None,
) -> dict[str, Any]:
    member = need(request, Scope.POSTS_READ)
    require(member, "post.view")
    queryset = _posts(member)
    if state:
        queryset = queryset.filter(publications__state=state).distinct()
    if channel:
        queryset = queryset.filter(publications__channel_id=channel).distinct()
    rows, after = paginate(queryset, cursor, limit)
    return {"items": [_post_out(p, member) for p in rows], "next_cursor": after}


@posts.get("/posts/{post_id}", response=answers(PostOut), summary="One post")
def get_post(request: HttpRequest, post_id: int) -> dict[str, Any]:
    member = need(request, Scope.POSTS_READ)
    require(member, "post.view")
    return _post_out(_post(member, post_id), member)


@posts.post(
    "/posts",
    response=answers(PostOut, 201),
    summary="Create a post (a draft, or submitted with submit=true)",
)
def create_post(request: HttpRequest, payload: PostIn) -> Status[Any]:
    member = need(request, Scope.POSTS_WRITE)
    require(member, "post.create")
    channels = {c.pk: c for c in Channel.objects.visible_to(member).filter(pk__in=payload.channels)}
    missing = [pk for pk in payload.channels if pk not in channels]
    if missing:
        raise ApiError(
            400, "unknown_channel", _("That channel does not exist here."), field="channels"
        )
    assets = {a.pk: a for a in Asset.objects.visible_to(member).filter(pk__in=payload.media)}
    if any(pk not in assets for pk in payload.media):
        raise ApiError(
            400, "unknown_media", _("That media item does not exist here."), field="media"
        )
    at = _aware(payload.at, "at") if payload.at is not None else None
    given = _given_choices(payload, channels)
    composition = post_actions.Composition(
        text=payload.text,
        title=payload.title,
        variants=tuple(
            post_actions.Variant(channel=channels[pk], options=given.get(pk, {}))
            for pk in payload.channels
        ),
        media=tuple(post_actions.MediaChoice(asset=assets[pk]) for pk in payload.media),
        when=post_actions.When(payload.when),
        at=at,
    )
    with transaction.atomic():
        post = post_actions.save_post(member.workspace, by=member, composition=composition)
        Post.objects.filter(pk=post.pk).update(source="api")
        # Choices given are checked whole now; at submission every TikTok channel needs them.
        _check_choices(post, only=None if payload.submit else set(given))
        if payload.submit:
            post_actions.submit_post(post, by=member, note=payload.note)
    return Status(201, _post_out(_post(member, post.pk), member))


def _given_choices(payload: PostIn, channels: dict[int, Channel]) -> dict[int, dict[str, str]]:
    """The choices given per channel, as the composer keeps them; refused for a channel the
    post does not go to, or whose network asks for none."""
    given: dict[int, dict[str, str]] = {}
    for pk, chosen in payload.network_options.items():
        channel = channels.get(pk)
        if channel is None:
            raise ApiError(
                400,
                "unknown_channel",
                _("Choices for a channel the post does not go to (%(id)s).") % {"id": pk},
                field="network_options",
            )
        if not choices.takes_choices(channel):
            raise ApiError(
                400,
                "no_choices",
                _("%(channel)s asks for no choices with its posts.") % {"channel": channel.name},
                field="network_options",
            )
        given[pk] = choices.from_post_info(chosen.model_dump())
    return given


def _choice_details(row: Publication) -> list[dict[str, Any]]:
    return [
        {
            "loc": ["network_options", str(row.channel_id)],
            "message": f"{row.channel.name}: {problem}",
            "type": "invalid_choices",
        }
        for problem in choices.publication_problems(row)
    ]


def _raise_choices(details: list[dict[str, Any]]) -> None:
    if details:
        raise ApiError(
            400,
            "invalid_choices",
            " ".join(d["message"] for d in details),
            field="network_options",
            details=details,
        )


def _check_choices(post: Post, *, only: set[int] | None = None) -> None:
    """400 ``invalid_choices`` with TikTok's sentences per channel (``details``: ``loc``
    ``["network_options", "<channel id>"]``) when a TikTok channel's choices are missing or
    break TikTok's rules, checked as the worker will check them. ``only``: these channels."""
    details: list[dict[str, Any]] = []
    rows = post.publications.select_related("channel", "post").filter(
        state__in=post_actions.EDITABLE
    )
    for row in rows.order_by("channel_id"):
        if only is None or row.channel_id in only:
            details.extend(_choice_details(row))
    _raise_choices(details)


@posts.post("/posts/{post_id}/submit", response=answers(PostOut), summary="Submit a draft")
def submit_post(request: HttpRequest, post_id: int, payload: NoteIn) -> dict[str, Any]:
    member = need(request, Scope.POSTS_WRITE)
    require(member, "post.create")
    post = _post(member, post_id)
    with transaction.atomic():
        _check_choices(post)
        post_actions.submit_post(post, by=member, note=payload.note)
    return _post_out(_post(member, post_id), member)


@posts.put(
    "/posts/{post_id}/network-options/{channel_id}",
    response=answers(PostOut),
    summary="Set a channel's choices (TikTok) on a post not gone out",
)
def set_network_options(
    request: HttpRequest, post_id: int, channel_id: int, payload: TikTokChoices
) -> dict[str, Any]:
    member = need(request, Scope.POSTS_WRITE)
    require(member, "post.create")
    post = _post(member, post_id)
    channel = _channel(member, channel_id)
    options = choices.from_post_info(payload.model_dump())
    row = post.publications.select_related("channel", "post").filter(channel=channel).first()
    if row is not None and choices.takes_choices(channel) and row.state in post_actions.EDITABLE:
        # The refusal with TikTok's sentences one by one; the action checks them again.
        row.network_options = options
        _raise_choices(_choice_details(row))
    post_actions.set_network_options(post, channel, by=member, options=options)
    return _post_out(_post(member, post_id), member)


@posts.post(
    "/posts/{post_id}/schedule",
    response=answers(PostOut),
    summary="Move what has not gone out to another time",
)
def schedule_post(request: HttpRequest, post_id: int, payload: ScheduleIn) -> dict[str, Any]:
    member = need(request, Scope.POSTS_WRITE)
    require(member, "post.create")
    post = _post(member, post_id)
    post_actions.reschedule_post(post, by=member, at=_aware(payload.at, "at"))
    return _post_out(_post(member, post_id), member)


@posts.post("/posts/{post_id}/approve", response=answers(PostOut), summary="Approve a post")
def approve_post(request: HttpRequest, post_id: int, payload: ApproveIn) -> dict[str, Any]:
    member = need(request, Scope.POSTS_WRITE)
    if not (can(member, "post.approve") or can(member, "post.approve_compliance")):
        require(member, "post.approve")
    post = (
        Post.objects.filter(workspace_id=member.workspace_id, kind=PostKind.POST, pk=post_id)
        .filter(pk__in=ApprovalStep.objects.visible_to(member).values("post_id"))
        .first()
        if not can(member, "post.view")
        else _post(member, post_id)
    )
    if post is None:
        raise ApiError(404, "not_found", _("Not found."))
    waiting = list(
        ApprovalStep.objects.visible_to(member)
        .filter(post=post, state=StepState.WAITING)
        .order_by("pk")
    )
    if not waiting:
        raise ApiError(409, "state", _("This post waits for no approval."))
    deciders = policy.Deciders(post.workspace_id)
    mine = next((s for s in waiting if deciders.may_decide(member, s, post.author_id)), None)
    if mine is None:
        if post.author_id == member.user_id:
            raise PermissionDenied(_("Nobody approves their own post."))
        raise PermissionDenied(_("This approval is not yours to give."))
    approval_actions.approve(mine, by=member, comment=payload.comment)
    return _post_out(Post.objects.get(pk=post.pk), member)


@posts.post(
    "/posts/{post_id}/cancel",
    response=answers(PostOut),
    summary="Cancel what has not gone out",
)
def cancel_post(request: HttpRequest, post_id: int) -> dict[str, Any]:
    member = need(request, Scope.POSTS_WRITE)
    require(member, "post.create")
    post = _post(member, post_id)
    post_actions.cancel_post(post, by=member)
    return _post_out(_post(member, post_id), member)


@posts.get(
    "/calendar",
    response=answers(list[CalendarItemOut]),
    summary="Publications planned in a period (at most 62 days)",
)
def calendar(
    request: HttpRequest,
    start: dt.datetime = param.Query(..., alias="from"),  # noqa: B008
    end: dt.datetime = param.Query(..., alias="to"),  # noqa: B008
    channel: int | None = None,
) -> list[dict[str, Any]]:
    member = need(request, Scope.POSTS_READ)
    require(member, "post.view")
    start, end = _aware(start, "from"), _aware(end, "to")
    if end <= start or end - start > dt.timedelta(days=62):
        raise ApiError(
            400,
            "invalid_period",
            _("Give a period of at most 62 days, from before to."),
            field="to",
        )
    rows = (
        Publication.objects.visible_to(member)
        .filter(scheduled_at__gte=start, scheduled_at__lt=end, post__kind=PostKind.POST)
        .select_related("channel", "post")
        .order_by("scheduled_at", "pk")
    )
    if channel:
        rows = rows.filter(channel_id=channel)
    return [
        {
            "publication_id": p.pk,
            "post_id": p.post_id,
            "channel_id": p.channel_id,
            "channel": p.channel.name,
            "state": p.state,
            "scheduled_at": p.scheduled_at,
            "text": (p.text or p.post.text)[:500],
        }
        for p in rows[:1000]
    ]


# --- media ----------------------------------------------------------------------------------

media = Router(tags=["media"])


def _asset_out(a: Asset) -> dict[str, Any]:
    return {
        "id": a.pk,
        "name": a.name,
        "kind": a.kind,
        "mime_type": a.mime_type,
        "size": a.size,
        "width": a.width,
        "height": a.height,
        "alt_text": a.alt_text,
        "created_at": a.created_at,
    }


@media.get("/media", response=answers(AssetPage), summary="The media library, newest first")
def list_media(
    request: HttpRequest, cursor: str | None = None, limit: int = Limit, kind: str | None = None
) -> dict[str, Any]:
    member = need(request, Scope.POSTS_READ)
    require(member, "post.view")
    queryset = Asset.objects.visible_to(member).filter(archived_at__isnull=True)
    if kind:
        queryset = queryset.filter(kind=kind)
    rows, after = paginate(queryset, cursor, limit)
    return {"items": [_asset_out(a) for a in rows], "next_cursor": after}


@media.post("/media", response=answers(AssetOut, 201), summary="Upload an image or a video")
def upload_media(
    request: HttpRequest,
    file: UploadedFile = param.File(...),  # noqa: B008
    alt_text: str = param.Form(""),
) -> Status[Any]:
    member = need(request, Scope.POSTS_WRITE)
    require(member, "post.create")
    asset = media_actions.upload(
        member.workspace,
        by=member,
        filename=file.name or "media",
        data=file.read(),
        alt_text=alt_text,
    )
    return Status(201, _asset_out(asset))


# --- channels -------------------------------------------------------------------------------

channels = Router(tags=["channels"])


def _channel(member: Member, channel_id: int) -> Channel:
    found: Channel | None = Channel.objects.visible_to(member).filter(pk=channel_id).first()
    if found is None:
        raise ApiError(404, "not_found", _("Not found."))
    return found


@channels.get("/channels", response=answers(list[ChannelOut]), summary="Connected channels")
def list_channels(request: HttpRequest) -> list[dict[str, Any]]:
    member = need(request, Scope.CHANNELS_READ)
    require(member, "channel.view")
    return [
        {
            "id": c.pk,
            "name": c.name,
            "network": c.network,
            "handle": c.handle,
            "state": c.state,
            "health": c.health,
            "time_zone": c.audience_zone.key,
        }
        for c in Channel.objects.visible_to(member).order_by("name")
    ]


@channels.get(
    "/channels/{channel_id}/posting-options",
    response={**answers(PostingOptionsOut), 503: ErrorOut},
    summary="What the account allows right now (TikTok's creator_info, read live)",
)
def posting_options(request: HttpRequest, channel_id: int) -> dict[str, Any]:
    """Read live from TikTok each time, as TikTok asks apps to before each post: the nickname
    to show, the privacy levels to choose from (no default), the interactions the creator
    turned off and the longest video. When TikTok cannot answer: 503, no guess."""
    from portevoix.channels import clients
    from portevoix.channels.messages import network_problem
    from portevoix.networks import tiktok
    from portevoix.networks.errors import NetworkError, RateLimited

    member = need(request, Scope.CHANNELS_READ)
    require(member, "post.create")
    channel = _channel(member, channel_id)
    if not choices.takes_choices(channel):
        raise ApiError(
            400,
            "no_choices",
            _("%(channel)s asks for no choices with its posts.") % {"channel": channel.name},
        )
    try:
        with clients.checkout(channel) as network:
            assert isinstance(network, tiktok.TikTokNetwork)
            info = network.creator_info()
    except NetworkError as exc:
        headers = {}
        if isinstance(exc, RateLimited) and exc.reset_at is not None:
            wait = max(1, int((exc.reset_at - timezone.now()).total_seconds()))
            headers["Retry-After"] = str(wait)
        raise ApiError(
            503,
            "network_unavailable",
            _("TikTok could not be asked for the account's options just now: %(why)s")
            % {"why": network_problem(exc).render()},
            headers=headers,
        ) from None
    return {
        "channel_id": channel.pk,
        "network": channel.network,
        "creator_nickname": info.nickname,
        "creator_username": info.username,
        "creator_avatar_url": info.avatar_url,
        "privacy_level_options": list(info.privacy_levels),
        "comment_disabled": info.comment_disabled,
        "duet_disabled": info.duet_disabled,
        "stitch_disabled": info.stitch_disabled,
        "max_video_post_duration_sec": info.max_video_seconds,
        "read_at": timezone.now(),
    }


@channels.get("/channels/{channel_id}/health", response=answers(HealthOut), summary="Health")
def channel_health(request: HttpRequest, channel_id: int) -> dict[str, Any]:
    member = need(request, Scope.CHANNELS_READ)
    require(member, "channel.view")
    c = _channel(member, channel_id)
    return {
        "id": c.pk,
        "health": c.health,
        "state": c.state,
        "problem": c.problem,
        "last_checked_at": c.last_checked_at,
        "last_sync_at": c.last_sync_at,
        "sync_failing_since": c.sync_failing_since,
        "token_expires_at": c.token_expires_at,
    }


# --- conversations ----------------------------------------------------------------------------

inbox = Router(tags=["conversations"])


@inbox.get(
    "/conversations", response=answers(ConversationPage), summary="Conversations, newest first"
)
def list_conversations(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = Limit,
    state: str | None = None,
    channel: int | None = None,
    assignee: int | None = None,
) -> dict[str, Any]:
    member = _inbox_reader(request, Scope.INBOX_READ)
    queryset = (
        Conversation.objects.visible_to(member)
        .select_related("department")
        .prefetch_related("labels")
    )
    if state:
        queryset = queryset.filter(state=state)
    if channel:
        queryset = queryset.filter(channel_id=channel)
    if assignee:
        queryset = queryset.filter(assignee_id=assignee)
    rows, after = paginate(queryset, cursor, limit)
    return {"items": [_conversation_out(c) for c in rows], "next_cursor": after}


@inbox.get(
    "/conversations/{conversation_id}",
    response=answers(ConversationOut),
    summary="One conversation",
)
def get_conversation(request: HttpRequest, conversation_id: int) -> dict[str, Any]:
    member = _inbox_reader(request, Scope.INBOX_READ)
    return _conversation_out(_conversation(member, conversation_id))


@inbox.get(
    "/conversations/{conversation_id}/messages",
    response=answers(list[MessageOut]),
    summary="The customer's messages and the team's replies, oldest first",
)
def conversation_messages(request: HttpRequest, conversation_id: int) -> list[dict[str, Any]]:
    member = _inbox_reader(request, Scope.INBOX_READ)
    conversation = _conversation(member, conversation_id)
    items: list[dict[str, Any]] = [
        {
            "id": f"in-{m.pk}",
            "direction": "in",
            "author": m.author_handle,
            "text": m.text,
            "private": conversation.is_private,
            "created_at": m.created_at,
            "state": "received",
        }
        for m in InboundMessage.objects.filter(conversation=conversation).order_by("created_at")
    ]
    replies = Reply.objects.filter(conversation=conversation).select_related("post", "author__user")
    for r in replies:
        publication = r.post.publications.first()
        items.append(
            {
                "id": f"out-{r.pk}",
                "direction": "out",
                "author": r.author.user.email if r.author_id else "",
                "text": r.post.text,
                "private": r.private,
                "created_at": r.post.created_at,
                "state": publication.state if publication else "draft",
            }
        )
    items.sort(key=lambda i: i["created_at"])
    return items


@inbox.post(
    "/conversations/{conversation_id}/reply",
    response=answers(ReplyOut, 201),
    summary="Answer the customer",
)
def reply(request: HttpRequest, conversation_id: int, payload: ReplyIn) -> Status[Any]:
    member = need(request, Scope.INBOX_WRITE)
    require(member, "inbox.reply")
    conversation = _conversation(member, conversation_id)
    answer = inbox_actions.reply(
        conversation, by=member, text=payload.text, private=payload.private, resolve=payload.resolve
    )
    publication = answer.post.publications.first()
    return Status(
        201,
        {
            "id": answer.pk,
            "post_id": answer.post_id,
            "private": answer.private,
            "state": publication.state if publication else "draft",
        },
    )


@inbox.post(
    "/conversations/{conversation_id}/assign",
    response=answers(ConversationOut),
    summary="Assign to a member (or to nobody)",
)
def assign(request: HttpRequest, conversation_id: int, payload: AssignIn) -> dict[str, Any]:
    member = need(request, Scope.INBOX_WRITE)
    if not (can(member, "inbox.route") or can(member, "inbox.reply")):
        require(member, "inbox.route")
    conversation = _conversation(member, conversation_id)
    assignee = None
    if payload.member_id is not None:
        assignee = Member.objects.filter(
            workspace_id=member.workspace_id, pk=payload.member_id, is_active=True
        ).first()
        if assignee is None:
            raise ApiError(
                400, "unknown_member", _("That member does not exist here."), field="member_id"
            )
    inbox_actions.assign(conversation, by=member, assignee=assignee)
    return _conversation_out(_conversation(member, conversation_id))


@inbox.post(
    "/conversations/{conversation_id}/labels",
    response=answers(ConversationOut),
    summary="Replace the labels (by name)",
)
def set_labels(request: HttpRequest, conversation_id: int, payload: LabelsIn) -> dict[str, Any]:
    member = need(request, Scope.INBOX_WRITE)
    require(member, "inbox.route")
    conversation = _conversation(member, conversation_id)
    names = sorted(set(payload.labels))
    labels = list(Label.objects.filter(workspace_id=member.workspace_id, name__in=names))
    if len(labels) != len(names):
        known = {label.name for label in labels}
        raise ApiError(
            400,
            "unknown_label",
            _("Unknown label: %(labels)s.")
            % {"labels": ", ".join(n for n in names if n not in known)},
            field="labels",
        )
    inbox_actions.set_labels(conversation, by=member, labels=labels)
    return _conversation_out(_conversation(member, conversation_id))


@inbox.post(
    "/conversations/{conversation_id}/handoff",
    response=answers(HandOffOut, 201),
    summary="Hand off to a department (by its code: sales, legal...)",
)
def hand_off(request: HttpRequest, conversation_id: int, payload: HandOffIn) -> Status[Any]:
    member = need(request, Scope.INBOX_WRITE)
    require(member, "inbox.route")
    conversation = _conversation(member, conversation_id)
    department = Department.objects.filter(
        workspace_id=member.workspace_id, code=payload.department, is_active=True
    ).first()
    if department is None:
        raise ApiError(
            400,
            "unknown_department",
            _("That department does not exist here."),
            field="department",
        )
    handoff = inbox_actions.hand_off(
        conversation, by=member, department=department, note=payload.note
    )
    return Status(201, {"id": handoff.pk, "department": department.code, "state": handoff.state})


# --- audit ----------------------------------------------------------------------------------

audit_router = Router(tags=["audit"])


@audit_router.get("/audit", response=answers(AuditPage), summary="The audit log, newest first")
def audit_log(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = Limit,
    action: str | None = None,
    since: dt.datetime | None = None,
) -> dict[str, Any]:
    member = need(request, Scope.AUDIT_READ)
    require(member, "audit.view")
    queryset = AuditEntry.objects.visible_to(member)
    if action:
        queryset = queryset.filter(Q(action=action) | Q(action__startswith=f"{action}."))
    if since is not None:
        queryset = queryset.filter(created_at__gte=_aware(since, "since"))
    rows, after = paginate(queryset, cursor, limit)
    return {
        "items": [
            {
                "id": e.pk,
                "at": e.created_at,
                "actor": e.actor_label,
                "action": e.action,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "object_repr": e.object_repr,
            }
            for e in rows
        ],
        "next_cursor": after,
    }


# --- webhooks -------------------------------------------------------------------------------

hooks = Router(tags=["webhooks"])


class DeliveryOut(Schema):
    id: int
    subscription_id: int
    event: str
    message_id: str
    state: str
    attempts: int
    last_status: int | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    problem: str


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None


def _delivery_out(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.pk,
        "subscription_id": d.subscription_id,
        "event": d.event,
        "message_id": d.message_id,
        "state": d.state,
        "attempts": d.attempts,
        "last_status": d.last_status,
        "created_at": d.created_at,
        "delivered_at": d.delivered_at,
        "next_attempt_at": d.next_attempt_at,
        "problem": d.problem,
    }


@hooks.get(
    "/webhooks/deliveries",
    response=answers(DeliveryPage),
    summary="Webhook deliveries, newest first",
)
def list_deliveries(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = Limit,
    state: str | None = None,
    subscription: int | None = None,
) -> dict[str, Any]:
    member = need(request, Scope.WEBHOOKS)
    require(member, "integration.manage")
    queryset = WebhookDelivery.objects.visible_to(member)
    if state:
        queryset = queryset.filter(state=state)
    if subscription:
        queryset = queryset.filter(subscription_id=subscription)
    rows, after = paginate(queryset, cursor, limit)
    return {"items": [_delivery_out(d) for d in rows], "next_cursor": after}


@hooks.post(
    "/webhooks/deliveries/{delivery_id}/replay",
    response=answers(DeliveryOut),
    summary="Send a failed delivery again (same webhook-id)",
)
def replay_delivery(request: HttpRequest, delivery_id: int) -> dict[str, Any]:
    member = need(request, Scope.WEBHOOKS)
    require(member, "integration.manage")
    found = WebhookDelivery.objects.visible_to(member).filter(pk=delivery_id).first()
    if found is None:
        raise ApiError(404, "not_found", _("Not found."))
    return _delivery_out(api_actions.replay_delivery(found, by=member))


class SubscriptionOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    active: bool
    created_at: dt.datetime


class SubscriptionMadeOut(SubscriptionOut):
    #: Shown once, here: the ``whsec_`` secret the receiver verifies signatures with.
    secret: str


class SubscriptionIn(Schema):
    url: str = Field(..., min_length=1, max_length=500)
    events: list[str] = Field(..., min_length=1, max_length=20)
    description: str = Field("", max_length=200)


def _subscription_out(s: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": s.pk,
        "url": s.url,
        "description": s.description,
        "events": list(s.events),
        "active": s.is_active,
        "created_at": s.created_at,
    }


def _subscription(member: Member, subscription_id: int) -> WebhookSubscription:
    found: WebhookSubscription | None = (
        WebhookSubscription.objects.visible_to(member).filter(pk=subscription_id).first()
    )
    if found is None:
        raise ApiError(404, "not_found", _("Not found."))
    return found


@hooks.get(
    "/webhooks/subscriptions",
    response=answers(list[SubscriptionOut]),
    summary="Webhook subscriptions (their secrets are never shown again)",
)
def list_subscriptions(request: HttpRequest) -> list[dict[str, Any]]:
    member = need(request, Scope.WEBHOOKS)
    require(member, "integration.manage")
    rows = WebhookSubscription.objects.visible_to(member).order_by("-pk")[:200]
    return [_subscription_out(s) for s in rows]


@hooks.post(
    "/webhooks/subscriptions",
    response=answers(SubscriptionMadeOut, 201),
    summary="Subscribe a receiver to events; the answer holds its signing secret, once",
)
def create_subscription(request: HttpRequest, payload: SubscriptionIn) -> Status[Any]:
    member = need(request, Scope.WEBHOOKS)
    require(member, "integration.manage")
    subscription, secret = api_actions.create_subscription(
        member.workspace,
        by=member,
        url=payload.url,
        events=payload.events,
        description=payload.description,
    )
    return Status(201, {**_subscription_out(subscription), "secret": secret})


@hooks.delete(
    "/webhooks/subscriptions/{subscription_id}",
    response=answers(None, 204),
    summary="Delete a subscription and its delivery log",
)
def delete_subscription(request: HttpRequest, subscription_id: int) -> Status[Any]:
    member = need(request, Scope.WEBHOOKS)
    require(member, "integration.manage")
    api_actions.delete_subscription(_subscription(member, subscription_id), by=member)
    return Status(204, None)


@hooks.get(
    "/webhooks/subscriptions/{subscription_id}/deliveries",
    response=answers(DeliveryPage),
    summary="One subscription's deliveries, newest first",
)
def subscription_deliveries(
    request: HttpRequest,
    subscription_id: int,
    cursor: str | None = None,
    limit: int = Limit,
    state: str | None = None,
) -> dict[str, Any]:
    member = need(request, Scope.WEBHOOKS)
    require(member, "integration.manage")
    subscription = _subscription(member, subscription_id)
    queryset = WebhookDelivery.objects.visible_to(member).filter(subscription=subscription)
    if state:
        queryset = queryset.filter(state=state)
    rows, after = paginate(queryset, cursor, limit)
    return {"items": [_delivery_out(d) for d in rows], "next_cursor": after}


from portevoix.api import monitoring  # noqa: E402 - its routers use answers() above
from portevoix.privacy.api import router as privacy_router  # noqa: E402 - same

for _router in (
    me_router,
    posts,
    media,
    channels,
    inbox,
    audit_router,
    hooks,
    *monitoring.ROUTERS,
    privacy_router,
):
    api.add_router("/v1/", _router)
