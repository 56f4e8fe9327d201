"""The content plan's pages: the calendar (month, week, list), the composer, moving or
cancelling a post, and the "Needs attention" page with the decisions a person takes there.
Views parse and render; ``publishing.actions`` does the work."""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from portevoix.channels.models import Channel, ChannelStates
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member, User
from portevoix.core.permissions import can, require
from portevoix.core.query import query_choice, query_date, query_id
from portevoix.core.views import _member, _refusal_to_form
from portevoix.media.models import Asset
from portevoix.networks.errors import NetworkError
from portevoix.networks.types import Capability
from portevoix.publishing import actions, composer, scheduling
from portevoix.publishing import attention as attention_rows
from portevoix.publishing.actions import RETRYABLE
from portevoix.publishing.forms import MarkPublishedForm
from portevoix.publishing.models import (
    Campaign,
    CreativeRequest,
    CreativeRequestState,
    Idea,
    IdeaState,
    Post,
    PostKind,
    Publication,
    PublicationStates,
    RecurringDate,
)

S = PublicationStates
VIEWS = ("month", "week", "list")
#: States a filter can choose, in the order of a post's life.
FILTER_STATES = (
    S.draft,
    S.pending_approval,
    S.scheduled,
    S.paused,
    S.waiting_manual,
    S.published,
    S.not_published,
    S.held,
    S.rejected,
    S.failed,
    S.cancelled,
)

logger = logging.getLogger(__name__)


@dataclass
class Item:
    """One post on one day of the calendar: its publications due that day."""

    post: Post
    when: dt.datetime
    publications: list[Publication] = field(default_factory=list)
    waits: bool = False

    @property
    def day(self) -> dt.date:
        return self.when.date()

    @property
    def movable(self) -> bool:
        return any(p.state in actions.MOVABLE for p in self.publications)

    @property
    def states(self) -> list[str]:
        return sorted({p.state for p in self.publications})


def _zone(member: Member) -> ZoneInfo:
    return ZoneInfo(member.workspace.time_zone)


def _filters(request: HttpRequest, me: Member) -> dict[str, str]:
    """The calendar's filters as given (ids checked, a state among the known ones)."""
    found: dict[str, str] = {}
    for key in ("channel", "campaign", "author"):
        value = query_id(request, key)
        if value is not None:
            found[key] = str(value)
    state = query_choice(request, "state", [s.name for s in FILTER_STATES])
    if state:
        found["state"] = state
    return found


def _range(view: str, anchor: dt.date) -> tuple[dt.date, dt.date]:
    if view == "month":
        first = anchor.replace(day=1)
        start = first - dt.timedelta(days=first.weekday())
        last = first.replace(day=pycalendar.monthrange(first.year, first.month)[1])
        end = last + dt.timedelta(days=6 - last.weekday())
        return start, end
    if view == "week":
        start = anchor - dt.timedelta(days=anchor.weekday())
        return start, start + dt.timedelta(days=6)
    return anchor, anchor + dt.timedelta(days=27)


def _step(view: str, anchor: dt.date, forward: bool) -> dt.date:
    sign = 1 if forward else -1
    if view == "month":
        month = anchor.month - 1 + sign
        return dt.date(anchor.year + month // 12, month % 12 + 1, 1)
    return anchor + dt.timedelta(days=sign * (7 if view == "week" else 28))


@require_safe
def calendar(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "post.view")
    zone = _zone(me)
    today = timezone.now().astimezone(zone).date()
    view = query_choice(request, "view", VIEWS, default="month")
    anchor = query_date(request, "date") or query_date(request, "from") or today
    start, end = _range(view, anchor)
    filters = _filters(request, me)
    rows = (
        Publication.objects.visible_to(me)
        .filter(
            scheduled_at__gte=dt.datetime.combine(start, dt.time(), zone),
            scheduled_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone),
            post__kind="post",
        )
        .select_related("post", "post__campaign", "channel")
        .order_by("scheduled_at", "post_id", "channel__name")
    )
    if filters.get("channel", "").isdigit():
        rows = rows.filter(channel_id=int(filters["channel"]))
    if filters.get("campaign", "").isdigit():
        rows = rows.filter(post__campaign_id=int(filters["campaign"]))
    if filters.get("author", "").isdigit():
        rows = rows.filter(post__author_id=int(filters["author"]))
    if filters.get("state"):
        rows = rows.filter(state=filters["state"])
    waiting = set(
        CreativeRequest.objects.visible_to(me)
        .filter(state=CreativeRequestState.OPEN, post__isnull=False)
        .values_list("post_id", flat=True)
    )
    days: dict[dt.date, list[Item]] = defaultdict(list)
    groups: dict[tuple[int, dt.date], Item] = {}
    for publication in rows:
        local = publication.scheduled_at.astimezone(zone)
        key = (publication.post_id, local.date())
        item = groups.get(key)
        if item is None:
            item = Item(publication.post, local, waits=publication.post_id in waiting)
            groups[key] = item
            days[local.date()].append(item)
        item.publications.append(publication)
    late = list(
        CreativeRequest.objects.visible_to(me)
        .filter(
            state=CreativeRequestState.OPEN,
            deadline__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone),
        )
        .filter(
            Q(deadline__gte=dt.datetime.combine(start, dt.time(), zone))
            | Q(deadline__lt=timezone.now())
        )
        .order_by("deadline")
    )
    requests_by_day: dict[dt.date, list[CreativeRequest]] = defaultdict(list)
    for item in late:
        day = item.deadline.astimezone(zone).date()
        requests_by_day[max(day, start)].append(item)
    recurring = list(RecurringDate.objects.visible_to(me))
    grid = []
    day = start
    while day <= end:
        grid.append(
            {
                "date": day,
                "items": days.get(day, []),
                "requests": requests_by_day.get(day, []),
                "recurring": [r for r in recurring if r.covers(day)],
                "outside": view == "month" and day.month != anchor.month,
                "past": day < today,
            }
        )
        day += dt.timedelta(days=1)
    weeks = [grid[i : i + 7] for i in range(0, len(grid), 7)]
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    return render(
        request,
        "publishing/calendar.html",
        {
            "view": view,
            "views": VIEWS,
            "anchor": anchor,
            "start": start,
            "end": end,
            "grid": grid,
            "weeks": weeks,
            "listed": [d for d in grid if d["items"] or d["requests"] or d["recurring"]],
            "previous": _step(view, anchor, False),
            "next": _step(view, anchor, True),
            "today": today,
            "zone": zone,
            "filters": filters,
            "query": query,
            "channels": Channel.objects.visible_to(me).order_by("name"),
            "campaigns": Campaign.objects.visible_to(me).order_by("name"),
            "authors": User.objects.filter(
                memberships__workspace=me.workspace, memberships__is_active=True
            ).order_by("full_name"),
            "states": FILTER_STATES,
            "can_post": can(me, "post.create"),
            "weekdays": [pycalendar.day_name[i] for i in range(7)],
            "active_section": "calendar",
            "tab": "calendar",
        },
    )


# --- the composer ---------------------------------------------------------------------------


def _channels(me: Member) -> list[Channel]:
    return list(
        Channel.objects.visible_to(me, "post.view")
        .exclude(state=ChannelStates.disconnected.name)
        .select_related("workspace")
        .order_by("name")
    )


def _state_from_data(data: Any) -> dict[str, Any]:
    """What was typed, in the shape of ``composer.initial``: the form shows it again."""
    variants = {}
    for key in data:
        if key.startswith("v") and "-" in key and key[1 : key.index("-")].isdigit():
            cid = int(key[1 : key.index("-")])
            if cid in variants:
                continue
            prefix = f"v{cid}-"
            media = [int(v) for v in data.getlist(prefix + "media") if v.isdigit()]
            variants[cid] = {
                "text": data.get(prefix + "text", ""),
                "link": data.get(prefix + "link", ""),
                "first_comment": data.get(prefix + "first_comment", ""),
                "thread": data.get(prefix + "thread", ""),
                "own_media": bool(data.get(prefix + "own_media")),
                "media": media,
                "alts": {m: data.get(f"{prefix}alt-{m}", "") for m in media},
                "options": {
                    k[len(prefix) :]: str(v)
                    for k, v in data.items()
                    if k.startswith(prefix + "tiktok_")
                },
            }
    media = [int(v) for v in data.getlist("media") if v.isdigit()]
    return {
        "title": data.get("title", ""),
        "text": data.get("text", ""),
        "campaign": int(data["campaign"]) if data.get("campaign", "").isdigit() else None,
        "channels": [int(v) for v in data.getlist("channels") if v.isdigit()],
        "media": media,
        "alts": {m: data.get(f"alt-{m}", "") for m in media},
        "when": data.get("when", "now"),
        "at": data.get("at", ""),
        "time_zone": data.get("time_zone", ""),
        "add_utm": bool(data.get("add_utm")),
        "short_links": bool(data.get("short_links")),
        "variants": variants,
    }


def _composer_context(
    me: Member, post: Post | None, state: dict[str, Any], errors: dict[str, list[str]]
) -> dict[str, Any]:
    channels = _channels(me)
    library = list(
        Asset.objects.visible_to(me)
        .filter(Q(archived_at__isnull=True) | Q(pk__in=state["media"]))
        .prefetch_related("tags")[:60]
    )
    by_id = {a.pk: a for a in library}
    selected = [by_id[m] for m in state["media"] if m in by_id]
    rows = []
    for channel in channels:
        variant = state["variants"].get(channel.pk, {})
        caps = channel.network_class.capabilities
        rows.append(
            {
                "channel": channel,
                "checked": channel.pk in state["channels"],
                "v": variant,
                "zone": channel.audience_zone.key,
                "threads": Capability.THREADS in caps,
                "first_comment": Capability.FIRST_COMMENT in caps,
                "locked": variant.get("state") in actions.GONE_OUT,
                "link_errors": errors.get(f"v{channel.pk}-link", []),
                # TikTok's panel for a TikTok channel of the post (read live); a channel not
                # chosen keeps what was chosen for it, hidden, until it is chosen again.
                "takes_tiktok": channel.network == "tiktok"
                and variant.get("state") not in actions.GONE_OUT,
                "tiktok": (
                    tiktok_panel(channel, variant.get("options") or {})
                    if channel.network == "tiktok"
                    and variant.get("state") not in actions.GONE_OUT
                    and channel.pk in state["channels"]
                    else None
                ),
                "tiktok_kept": _kept_choices(variant.get("options") or {}),
            }
        )
    waiting = actions.waiting_on(post) if post is not None and post.pk else []
    in_place = {"text", "channels", "at"} | {f"v{c.pk}-link" for c in channels}
    return {
        "post": post,
        "state": state,
        "errors": errors,
        "general_errors": [e for k, v in errors.items() if k not in in_place for e in v],
        "rows": rows,
        "library": library,
        "selected": selected,
        "campaigns": Campaign.objects.visible_to(me).filter(cancelled_at__isnull=True),
        "zones": _zone_choices(me, state.get("time_zone", "")),
        "workspace_zone": me.workspace.time_zone,
        "direct": can(me, "post.publish_now"),
        "can_edit": can(me, "post.create"),
        "waiting": waiting,
        "publications": list(post.publications.select_related("channel")) if post else [],
        "autosave": post is None or all(p.state == S.draft.name for p in post.publications.all()),
        "active_section": "calendar",
        "tab": "compose",
    }


def _kept_choices(options: dict[str, str]) -> list[tuple[str, str]]:
    from portevoix.networks.tiktok import OPTION_KEYS

    return [(key, str(options[key])) for key in OPTION_KEYS if options.get(key)]


@require_POST
def compose_tiktok(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    """TikTok's panel for one channel of the composer (htmx, when the channel is chosen or
    left out): read live from the creator's account when the channel is among the post's,
    with what the author chose so far; otherwise what they chose, kept hidden so that
    choosing the channel again brings it back."""
    me = _member(request)
    require(me, "post.create")
    channel = Channel.objects.get_for(me, "post.view", pk=pk)
    prefix = f"v{channel.pk}-"
    chosen = {
        key[len(prefix) :]: str(value)[:64]
        for key, value in request.POST.items()
        if key.startswith(prefix + "tiktok_")
    }
    if channel.network != "tiktok":
        return HttpResponse("")
    if str(channel.pk) in request.POST.getlist("channels"):
        return render(
            request,
            "publishing/_tiktok_choices.html",
            {"t": tiktok_panel(channel, chosen), "pk": channel.pk},
        )
    return render(
        request,
        "publishing/_tiktok_kept.html",
        {"kept": _kept_choices(chosen), "pk": channel.pk},
    )


def tiktok_panel(channel: Channel, chosen: dict[str, str]) -> dict[str, Any]:
    """What TikTok's posting rules ask the composer to show for a TikTok variant, read live
    from the creator's account (``creator_info``): who posts, who may see it (chosen by the
    author, no default), the interactions (off where the creator turned them off), the
    commercial disclosure and the consent sentence with TikTok's links. When TikTok cannot
    answer, the last limits read are used and the page says so."""
    from portevoix.channels import clients
    from portevoix.channels.messages import network_problem
    from portevoix.networks import tiktok

    info: tiktok.CreatorInfo | None = None
    problem = ""
    try:
        with clients.checkout(channel) as network:
            assert isinstance(network, tiktok.TikTokNetwork)
            info = network.creator_info()
    except NetworkError as exc:
        problem = network_problem(exc).render()
    except Exception:  # an optional read: the composer still opens on the last limits read
        logger.exception("tiktok: creator_info failed for channel %s", channel.pk)
        problem = _("TikTok could not be asked for the account's options just now.")
    if info is None:
        limits = channel.cached_limits()
        disabled = limits.interactions_disabled if limits is not None else frozenset()
        levels = tuple(sorted(limits.privacy_levels or ())) if limits is not None else ()
        info = tiktok.CreatorInfo(
            nickname=channel.handle,
            privacy_levels=levels,
            comment_disabled="comment" in disabled,
            duet_disabled="duet" in disabled,
            stitch_disabled="stitch" in disabled,
            max_video_seconds=limits.max_video_seconds if limits is not None else None,
        )
    branded = chosen.get("tiktok_branded") == "on"
    return {
        "info": info,
        "problem": problem,
        "privacy": [
            (level, _(tiktok.PRIVACY_LABELS.get(level, level))) for level in info.privacy_levels
        ],
        "interactions": [
            ("tiktok_comment", _("Allow comments"), info.comment_disabled),
            ("tiktok_duet", _("Allow duets"), info.duet_disabled),
            ("tiktok_stitch", _("Allow stitches"), info.stitch_disabled),
        ],
        "chosen": chosen,
        "branded": branded,
        "music_url": tiktok.MUSIC_USAGE_URL,
        "branded_url": tiktok.BRANDED_CONTENT_URL,
    }


def _zone_choices(me: Member, current: str) -> list[str]:
    zones = {me.workspace.time_zone, "UTC", "Europe/Paris", "Europe/London", "America/Montreal"}
    zones.update(c.audience_zone.key for c in _channels(me))
    if current:
        zones.add(current)
    return sorted(zones)


def _short_links_default(me: Member) -> bool:
    from portevoix.roi.actions import money_settings

    return money_settings(me.workspace).short_links_default


def _initial_state(me: Member, request: HttpRequest) -> dict[str, Any]:
    state: dict[str, Any] = {
        "title": "",
        "text": "",
        "campaign": None,
        "channels": [],
        "media": [],
        "alts": {},
        "when": "at",
        "at": "",
        "time_zone": me.workspace.time_zone,
        "add_utm": True,
        "short_links": _short_links_default(me),
        "variants": {},
    }
    day = query_date(request, "date")
    if day is not None:
        state["at"] = f"{day.isoformat()}T10:00"
    else:
        later = timezone.now().astimezone(_zone(me)) + dt.timedelta(days=1)
        state["at"] = later.strftime("%Y-%m-%dT10:00")
    idea_id = query_id(request, "idea")
    if idea_id is not None:
        idea = Idea.objects.visible_to(me).filter(pk=idea_id).first()
        if idea is not None:
            state["title"] = idea.title
            state["text"] = idea.description
            state["campaign"] = idea.campaign_id
    asset_id = query_id(request, "media")
    if asset_id is not None:
        state["media"] = [asset_id]
    term, mention = request.GET.get("listening_term", ""), query_id(request, "listening_mention")
    if term or mention is not None:
        # A rising term or a fresh mention from the listening page (seed 004).
        from portevoix.listening.trends import draft_prefill

        try:
            state.update(draft_prefill(me, term=term, mention=mention))
        except ActionRefused as exc:
            messages.error(request, exc.message)
    return state


def compose(request: HttpRequest, ws: str, pk: int | None = None) -> HttpResponse:
    me = _member(request)
    require(me, "post.view")
    # Replies to customers are webcare's: the composer opens posts only.
    post: Post | None = (
        Post.objects.filter(kind=PostKind.POST).get_for(me, pk=pk) if pk is not None else None
    )
    if request.method != "POST":
        if post is None:
            require(me, "post.create")
        state = composer.initial(post) if post is not None else _initial_state(me, request)
        return render(request, "publishing/compose.html", _composer_context(me, post, state, {}))
    require(me, "post.create")
    if post is None and request.POST.get("post", "").isdigit():
        # Saved already (autosave, or a save whose scheduling was refused): the same post.
        post = Post.objects.filter(kind=PostKind.POST).get_for(me, pk=int(request.POST["post"]))
    if "cancel_post" in request.POST and post is not None:
        try:
            actions.cancel_post(post, by=me)
        except ActionRefused as exc:
            messages.error(request, exc.message)
            return redirect("post_edit", ws=ws, pk=post.pk)
        messages.success(request, _("Post cancelled."))
        return redirect("calendar", ws=ws)
    parsed = composer.parse(request.POST, me.workspace, _channels(me))
    errors = parsed.errors
    if parsed.composition is not None:
        try:
            post = actions.save_post(me.workspace, by=me, composition=parsed.composition, post=post)
            idea_id = request.POST.get("idea", "")
            if idea_id.isdigit():
                idea = Idea.objects.visible_to(me).filter(pk=int(idea_id)).first()
                if idea is not None and idea.state == IdeaState.ACCEPTED:
                    actions.use_idea(idea, post, by=me)
            if "submit" in request.POST:
                actions.submit_post(post, by=me)
        except ActionRefused as exc:
            errors = composer.refusal_errors(exc)
        else:
            if "submit" in request.POST:
                states = {p.state for p in post.publications.all()}
                messages.success(
                    request,
                    _("Sent for approval.")
                    if S.pending_approval.name in states
                    else _("Scheduled: it goes out on time."),
                )
                return redirect("calendar", ws=ws)
            messages.success(request, _("Draft saved."))
            return redirect("post_edit", ws=ws, pk=post.pk)
    if post is not None and post.pk:
        post.refresh_from_db()
    context = _composer_context(me, post, _state_from_data(request.POST), errors)
    return render(request, "publishing/compose.html", context, status=400)


@require_POST
def compose_checks(request: HttpRequest, ws: str) -> HttpResponse:
    """Live validation (htmx): each channel's count, problems, findings and preview."""
    me = _member(request)
    require(me, "post.create")
    channels = _channels(me)
    data = request.POST.copy()
    if not data.getlist("channels"):
        return render(request, "publishing/_checks.html", {"checks": [], "empty": True})
    data.setdefault("when", "now")
    if data.get("when") in ("at", "local") and not data.get("at"):
        data["when"] = "now"
    parsed = composer.parse(data, me.workspace, channels)
    if parsed.composition is None:
        return render(request, "publishing/_checks.html", {"checks": [], "errors": parsed.errors})
    return render(
        request, "publishing/_checks.html", {"checks": composer.checks(parsed.composition)}
    )


@require_POST
def compose_autosave(request: HttpRequest, ws: str) -> HttpResponse:
    """Save the draft as it is typed (htmx). Only a post that is still a draft: a scheduled
    post changes when its author says so, not on a keystroke."""
    me = _member(request)
    require(me, "post.create")
    post = None
    if request.POST.get("post", "").isdigit():
        post = Post.objects.filter(kind=PostKind.POST).get_for(me, pk=int(request.POST["post"]))
        if any(p.state != S.draft.name for p in post.publications.all()):
            return render(request, "publishing/_autosave.html", {"skipped": True, "post": post})
    data = request.POST.copy()
    if data.get("when") in ("at", "local") and not data.get("at"):
        data["when"] = "now"
    parsed = composer.parse(data, me.workspace, _channels(me))
    if parsed.composition is None:
        return render(request, "publishing/_autosave.html", {"invalid": True, "post": post})
    try:
        post = actions.save_post(me.workspace, by=me, composition=parsed.composition, post=post)
    except ActionRefused as exc:
        return render(
            request, "publishing/_autosave.html", {"invalid": True, "post": post, "why": exc}
        )
    response = render(
        request,
        "publishing/_autosave.html",
        {"post": post, "saved_at": timezone.now().astimezone(_zone(me))},
    )
    response["HX-Replace-Url"] = reverse("post_edit", kwargs={"ws": ws, "pk": post.pk})
    return response


@require_POST
def move(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    """Reschedule: to another day (drag and drop, or the keyboard's date field), keeping each
    channel's time of day, or to a given date and time."""
    me = _member(request)
    require(me, "post.create")
    post: Post = Post.objects.filter(kind=PostKind.POST).get_for(me, pk=pk)
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    error = ""
    try:
        day = dt.date.fromisoformat(request.POST.get("day", ""))
    except ValueError:
        day = None
    at_raw = request.POST.get("time", "").strip()
    try:
        if day is None:
            raise ActionRefused(_("Choose a day."), field="day")
        if at_raw:
            try:
                clock = dt.time.fromisoformat(at_raw)
            except ValueError:
                raise ActionRefused(_("Write the time as 09:30."), field="time") from None
            zone = ZoneInfo(post.time_zone or me.workspace.time_zone)
            moment = scheduling.localize(dt.datetime.combine(day, clock), zone)
            actions.reschedule_post(post, by=me, at=moment)
        else:
            actions.reschedule_post(post, by=me, day=day)
    except ActionRefused as exc:
        error = exc.message
    if wants_json:
        return JsonResponse({"ok": not error, "error": error}, status=400 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Post moved."))
    target = request.POST.get("next", "")
    if target.startswith(f"/w/{ws}/"):
        return redirect(target)
    return redirect("calendar", ws=ws)


# --- needs attention ---------------------------------------------------------------------------


def attention(
    request: HttpRequest,
    ws: str,
    *,
    bound: dict[int, MarkPublishedForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    """Publications waiting for a person, channels in trouble, and what can be done."""
    me = _member(request)
    require(me, "post.view")
    context = attention_rows.page(me)
    bound = bound or {}
    for item in context["items"]:
        pk = item.publication.pk
        item.form = bound.get(pk) or MarkPublishedForm(prefix=f"pub{pk}")
        item.open = pk in bound
    context.update(
        can_resolve=can(me, "post.resolve"),
        can_manage_channels=can(me, "channel.manage"),
        retryable=RETRYABLE,
        active_section="attention",
    )
    return render(request, "publishing/attention.html", context, status=status)


def _decide(
    request: HttpRequest,
    ws: str,
    pk: int,
    action: Callable[..., Publication],
    done: str,
) -> HttpResponse:
    me = _member(request)
    publication: Publication = Publication.objects.select_related("post").get_for(me, pk=pk)
    require(me, "post.resolve")
    try:
        action(publication, by=me)
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return redirect(reverse("attention", kwargs={"ws": ws}) + f"#publication-{pk}")
    messages.success(request, done)
    return redirect("attention", ws=ws)


@require_POST
def publication_retry(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    return _decide(request, ws, pk, actions.retry_publication, _("The post goes out in a moment."))


@require_POST
def publication_send_late(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    return _decide(request, ws, pk, actions.send_late, _("The post goes out in a moment, late."))


@require_POST
def publication_cancel(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    return _decide(
        request, ws, pk, actions.cancel_publication, _("The post is cancelled: it will not go out.")
    )


@require_POST
def publication_mark_published(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    publication: Publication = Publication.objects.select_related("post").get_for(me, pk=pk)
    require(me, "post.resolve")
    form = MarkPublishedForm(request.POST, prefix=f"pub{pk}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.mark_published(
                publication,
                by=me,
                url=data["url"],
                post_id=data["post_id"],
                candidate=data["candidate"],
            )
        except ActionRefused as exc:
            if exc.code in {"busy", "state"}:
                # The publication left this list meanwhile: its form would show nowhere.
                messages.error(request, exc.message)
                return redirect("attention", ws=ws)
            _refusal_to_form(form, exc)
        else:
            messages.success(request, _("Marked as published."))
            return redirect("attention", ws=ws)
    return attention(request, ws, bound={pk: form}, status=400)
