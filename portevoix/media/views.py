"""The media library's pages: the library with its upload, one item (tags, description,
renditions, where it is used), and the files themselves, served to members only."""

from __future__ import annotations

import mimetypes
import os

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST, require_safe

from portevoix.core.actions import ActionRefused
from portevoix.core.permissions import can, require
from portevoix.core.query import query_flag, query_text
from portevoix.core.views import _member, _refusal_to_form
from portevoix.media import actions, processing
from portevoix.media.models import Asset, Tag
from portevoix.networks import registry
from portevoix.networks.errors import NetworkError


class AssetForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    alt_text = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        max_length=1500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Read aloud to blind and partially sighted people."),
    )
    tags = forms.CharField(
        label=gettext_lazy("Tags"),
        required=False,
        max_length=400,
        help_text=gettext_lazy("Separated by commas."),
    )


@require_safe
def library(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "post.view")
    items = Asset.objects.visible_to(me).prefetch_related("tags", "uses")
    tag = query_text(request, "tag")
    query = query_text(request, "q")
    archived = query_flag(request, "archived")
    items = items.filter(archived_at__isnull=not archived)
    if tag:
        items = items.filter(tags__name=tag)
    if query:
        items = items.filter(Q(name__icontains=query) | Q(alt_text__icontains=query))
    return render(
        request,
        "media/library.html",
        {
            "items": items[:200],
            "tags": Tag.objects.visible_to(me),
            "tag": tag,
            "q": query,
            "archived": archived,
            "can_upload": can(me, "post.create"),
            "max_mb": actions.MAX_UPLOAD_BYTES // 1_000_000,
            "active_section": "calendar",
            "tab": "media",
        },
    )


@require_POST
def upload(request: HttpRequest, ws: str) -> HttpResponse:
    """Files from the drop zone (one request per file, with its progress) or the plain form."""
    me = _member(request)
    require(me, "post.create")
    files = request.FILES.getlist("file")
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    tags = [t for t in request.POST.get("tags", "").split(",") if t.strip()]
    done, refused = [], []
    for file in files:
        try:
            asset = actions.upload(
                me.workspace,
                by=me,
                filename=file.name or "media",
                data=file.read(),
                alt_text=request.POST.get("alt_text", ""),
                tags=tags,
            )
        except ActionRefused as exc:
            refused.append(exc.message)
        else:
            done.append(asset)
    if not files:
        refused.append(_("Choose a file."))
    if wants_json:
        return JsonResponse(
            {
                "items": [
                    {
                        "id": a.pk,
                        "name": a.name,
                        "image": a.is_image,
                        "url": reverse("media_file", kwargs={"ws": ws, "pk": a.pk}),
                        "edit": reverse("media_item", kwargs={"ws": ws, "pk": a.pk}),
                    }
                    for a in done
                ],
                "errors": refused,
            },
            status=400 if refused and not done else 200,
        )
    for message in refused:
        messages.error(request, message)
    if done:
        messages.success(
            request,
            ngettext(
                "%(count)s file added to the library.",
                "%(count)s files added to the library.",
                len(done),
            )
            % {"count": len(done)},
        )
    return redirect("media_library", ws=ws)


def item(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    asset: Asset = Asset.objects.prefetch_related("renditions", "tags").get_for(me, pk=pk)
    form = AssetForm(
        request.POST or None,
        initial={
            "name": asset.name,
            "alt_text": asset.alt_text,
            "tags": ", ".join(t.name for t in asset.tags.all()),
        },
    )
    if request.method == "POST":
        require(me, "post.create")
        if "archive" in request.POST or "restore" in request.POST:
            actions.archive_asset(asset, by=me, archived="archive" in request.POST)
            messages.success(request, _("Saved."))
            return redirect("media_item", ws=ws, pk=pk)
        if form.is_valid():
            try:
                actions.update_asset(
                    asset,
                    by=me,
                    name=form.cleaned_data["name"],
                    alt_text=form.cleaned_data["alt_text"],
                    tags=form.cleaned_data["tags"].split(","),
                )
            except ActionRefused as exc:
                _refusal_to_form(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("media_item", ws=ws, pk=pk)
    checks = []
    for network, problems in sorted(asset.checks.items()):
        try:
            label = registry.get(network).label
        except NetworkError:
            label = network
        checks.append(
            {
                "network": network,
                "label": label,
                "rendition": asset.rendition_for(network),
                "problems": [processing.describe(p, label) for p in problems],
            }
        )
    uses = (
        asset.uses.select_related("post", "publication__channel")
        .order_by("-post__created_at")
        .distinct()[:50]
    )
    return render(
        request,
        "media/item.html",
        {
            "asset": asset,
            "form": form,
            "checks": checks,
            "uses": uses,
            "requests": asset.creative_requests.all(),
            "can_edit": can(me, "post.create"),
            "active_section": "calendar",
            "tab": "media",
        },
        status=400 if request.method == "POST" else 200,
    )


@require_safe
def file(request: HttpRequest, ws: str, pk: int) -> FileResponse:
    """The original, or its rendition for ``?network=``; to members who may see the plan."""
    me = _member(request)
    asset: Asset = Asset.objects.prefetch_related("renditions").get_for(me, pk=pk)
    target, mime = asset.file, asset.mime_type
    network = query_text(request, "network", max_length=40)
    if network:
        rendition = asset.rendition_for(network)
        if rendition is not None:
            target, mime = rendition.file, rendition.mime_type
    try:
        handle = target.open("rb")
    except FileNotFoundError as exc:
        raise Http404("file missing") from exc
    name = os.path.basename(target.name or "media")
    response = FileResponse(
        handle, content_type=mime or mimetypes.guess_type(name)[0] or "application/octet-stream"
    )
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'"
    return response
