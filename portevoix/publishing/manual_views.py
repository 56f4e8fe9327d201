"""The pages of manual channels: a post to publish by hand (its text and media to copy, then
"it is out, here is its link" or "it was not published, because..."), its results, and the
CSV import of results. Views parse and render; ``publishing.manual`` does the work."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST, require_safe

from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member
from portevoix.core.permissions import require
from portevoix.core.views import _member, _refusal_to_form
from portevoix.publishing import manual
from portevoix.publishing.models import Publication, PublicationMetrics

#: A CSV of results larger than this is refused before it is read.
MAX_IMPORT_BYTES = 2_000_000


class PublishedByHandForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("Link to the post"),
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://", "autocomplete": "off"}),
        help_text=gettext_lazy("The address of the post where you published it."),
    )


class NotPublishedForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why it was not published"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ResultsForm(forms.Form):
    measured_on = forms.DateField(
        label=gettext_lazy("Measured on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Empty: today."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in PublicationMetrics.FIELDS:
            self.fields[name] = forms.IntegerField(
                label=manual.METRIC_LABELS[name],
                required=False,
                min_value=0,
                max_value=manual.MAX_VALUE,
            )


class ResultsImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"))


def _publication(request: HttpRequest, pk: int) -> tuple[Member, Publication]:
    me = _member(request)
    publication: Publication = Publication.objects.select_related(
        "post__workspace", "post__author", "channel__owner"
    ).get_for(me, pk=pk)
    if not publication.channel.is_manual:
        raise Http404("not a manual channel")
    return me, publication


def _page(
    request: HttpRequest,
    me: Member,
    publication: Publication,
    *,
    published_form: PublishedByHandForm | None = None,
    not_published_form: NotPublishedForm | None = None,
    results_form: ResultsForm | None = None,
    status: int = 200,
) -> HttpResponse:
    history = list(publication.metrics.select_related("entered_by"))
    outgoing = publication.outgoing()
    return render(
        request,
        "publishing/by_hand.html",
        {
            "publication": publication,
            "post": publication.post,
            "channel": publication.channel,
            "text": outgoing.text,
            "thread": [part.text for part in outgoing.thread],
            "first_comment": outgoing.first_comment,
            "media": publication.media_rows(),
            "may_act": manual.may_publish_by_hand(me, publication.channel),
            "late": manual.is_late(publication),
            "published_form": published_form or PublishedByHandForm(prefix="done"),
            "not_published_form": not_published_form or NotPublishedForm(prefix="not"),
            "results_form": results_form or ResultsForm(prefix="results"),
            "history": history,
            "metric_fields": [(name, manual.METRIC_LABELS[name]) for name in manual.METRIC_FIELDS],
        },
        status=status,
    )


@require_safe
def by_hand(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me, publication = _publication(request, pk)
    return _page(request, me, publication)


@require_safe
def by_hand_media(request: HttpRequest, ws: str, pk: int, media: int) -> FileResponse:
    """A file of the post, to download and publish by hand (as it goes out on this channel)."""
    _me, publication = _publication(request, pk)
    row = next((m for m in publication.media_rows() if m.pk == media), None)
    if row is None:
        raise Http404("no such media")
    item = row.as_media_item(publication.channel.network)
    response = FileResponse(item.open(), content_type=item.mime_type or "application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{item.filename or "media"}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _refused(request: HttpRequest, ws: str, pk: int, exc: ActionRefused) -> HttpResponse | None:
    """A decision that no longer applies (someone else acted): back to the page, said."""
    if exc.code in {"state", "not_manual"}:
        messages.error(request, exc.message)
        return redirect("publication_by_hand", ws=ws, pk=pk)
    return None


def _may_decide(me: Member, publication: Publication) -> None:
    if not manual.may_publish_by_hand(me, publication.channel):
        raise PermissionDenied(_("Only the channel’s owner and the Social Media Managers may."))


def _decide(
    request: HttpRequest,
    ws: str,
    pk: int,
    form_class: type[forms.Form],
    prefix: str,
    act: Callable[[Publication, Member, dict[str, Any]], object],
    done: str,
) -> HttpResponse:
    """ "It is published" and "it was not published": the form, the action, the answer."""
    me, publication = _publication(request, pk)
    _may_decide(me, publication)
    form = form_class(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            act(publication, me, form.cleaned_data)
        except ActionRefused as exc:
            answer = _refused(request, ws, pk, exc)
            if answer is not None:
                return answer
            _refusal_to_form(form, exc)
        else:
            messages.success(request, done)
            return redirect("publication_by_hand", ws=ws, pk=pk)
    if isinstance(form, PublishedByHandForm):
        return _page(request, me, publication, published_form=form, status=400)
    assert isinstance(form, NotPublishedForm)
    return _page(request, me, publication, not_published_form=form, status=400)


@require_POST
def by_hand_published(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    return _decide(
        request,
        ws,
        pk,
        PublishedByHandForm,
        "done",
        lambda publication, me, data: manual.mark_published_by_hand(
            publication, by=me, url=data["url"]
        ),
        _("Marked as published by hand. Enter its results later."),
    )


@require_POST
def by_hand_not_published(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    return _decide(
        request,
        ws,
        pk,
        NotPublishedForm,
        "not",
        lambda publication, me, data: manual.mark_not_published(
            publication, by=me, reason=data["reason"]
        ),
        _("Marked as not published."),
    )


@require_POST
def by_hand_results(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me, publication = _publication(request, pk)
    _may_decide(me, publication)
    form = ResultsForm(request.POST, prefix="results")
    if form.is_valid():
        data = form.cleaned_data
        taken_at = None
        if data["measured_on"]:
            zone = publication.channel.audience_zone
            taken_at = dt.datetime.combine(data["measured_on"], dt.time(12, 0), tzinfo=zone)
            taken_at = min(taken_at, timezone.now())
        try:
            manual.record_results(publication, by=me, values=data, taken_at=taken_at)
        except ActionRefused as exc:
            answer = _refused(request, ws, pk, exc)
            if answer is not None:
                return answer
            _refusal_to_form(form, exc)
        else:
            messages.success(request, _("Results saved."))
            return redirect("publication_by_hand", ws=ws, pk=pk)
    return _page(request, me, publication, results_form=form, status=400)


def results_import(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    """A manual channel's results from a CSV file, with a line-numbered report."""
    me = _member(request)
    require(me, "post.view")
    channel: Channel = Channel.objects.get_for(me, pk=pk)
    if not channel.is_manual:
        raise Http404("not a manual channel")
    if not manual.may_publish_by_hand(me, channel):
        raise PermissionDenied(_("Only the channel’s owner and the Social Media Managers may."))
    form = ResultsImportForm(request.POST or None, request.FILES or None)
    report = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_IMPORT_BYTES:
                form.add_error("file", _("This file is too large (2 MB at most)."))
            else:
                report = manual.import_results(channel, by=me, data=upload.read())
                if report.ok:
                    messages.success(
                        request,
                        ngettext(
                            "%(count)s result line imported.",
                            "%(count)s result lines imported.",
                            report.saved,
                        )
                        % {"count": report.saved},
                    )
                    return redirect("channel_detail", ws=ws, pk=pk)
    return render(
        request,
        "publishing/results_import.html",
        {
            "channel": channel,
            "form": form,
            "report": report,
            "columns": manual.IMPORT_COLUMNS,
        },
        status=status,
    )
