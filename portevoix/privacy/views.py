"""The personal-data page: a data-protection request answered (export, erasure), and how
long the workspace keeps what people wrote."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from portevoix.core.models import AuditEntry, Member
from portevoix.core.permissions import require
from portevoix.core.views import _member

from . import actions
from .forms import EraseForm, PersonForm, RetentionForm
from .models import RetentionPolicy


def _count_rows(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Each count of ``Holdings.counts()`` with what it is, in the page's order."""
    return [(str(label), counts.get(key, 0)) for key, label in actions.COUNT_LABELS.items()]


def _suggestions(workspace: Any, text: str) -> list[dict[str, str]]:
    """People whose handle or name contains ``text``: someone who writes to the company by
    e-mail gives their name, not always their exact handle."""
    from django.db.models import Q

    from portevoix.inbox.models import Customer
    from portevoix.listening.models import Mention

    text = text.strip()
    if len(text) < 3:
        return []
    found: dict[tuple[str, str], dict[str, str]] = {}
    for c in Customer.objects.filter(workspace=workspace).filter(
        Q(handle__icontains=text) | Q(display_name__icontains=text)
    )[:10]:
        found[(c.network, c.handle.casefold())] = {
            "network": c.network,
            "handle": c.handle,
            "name": c.display_name,
        }
    for network, handle, name in (
        Mention.objects.filter(workspace=workspace)
        .filter(Q(author_handle__icontains=text) | Q(author_name__icontains=text))
        .values_list("network", "author_handle", "author_name")
        .distinct()[:10]
    ):
        found.setdefault(
            (network, handle.casefold()), {"network": network, "handle": handle, "name": name}
        )
    return list(found.values())[:10]


def _context(
    me: Member,
    *,
    person: PersonForm | None = None,
    erase: EraseForm | None = None,
    retention: RetentionForm | None = None,
) -> dict[str, Any]:
    workspace = me.workspace
    policy = RetentionPolicy.objects.filter(workspace=workspace).first()
    if retention is None:
        retention = RetentionForm(
            initial={
                "conversations_days": policy.conversations_days if policy else None,
                "mentions_days": policy.mentions_days if policy else None,
            }
        )
    person = person if person is not None else PersonForm()
    context: dict[str, Any] = {
        "person_form": person,
        "retention_form": retention,
        "policy": policy,
        "active_section": "settings",
        "history": AuditEntry.objects.filter(
            workspace=workspace, action__startswith="privacy."
        ).select_related("actor")[:20],
    }
    if person.is_bound and person.is_valid():
        data = person.cleaned_data
        held = actions.holdings(workspace, data["network"], data["handle"])
        counts = held.counts()
        context.update(
            looked_for=data,
            counts=_count_rows(counts),
            nothing_held=not any(counts.values()),
            erasures=actions.past_erasures(workspace, data["network"], data["handle"]),
            export_url=reverse("privacy_export", kwargs={"ws": workspace.slug})
            + "?"
            + urlencode({k: data[k] for k in ("network", "handle", "reference")}),
        )
        if not any(counts.values()):
            context["suggestions"] = _suggestions(workspace, data["handle"])
        if erase is None:
            erase = EraseForm(
                initial={k: data[k] for k in ("network", "handle", "reference")},
            )
    context["erase_form"] = erase
    return context


def _manager(request: HttpRequest) -> Member:
    """The member answering requests: ``privacy.manage``, else 403."""
    me = _member(request)
    require(me, "privacy.manage")
    return me


@require_safe
def privacy_page(request: HttpRequest, ws: str) -> HttpResponse:
    me = _manager(request)
    person = PersonForm(request.GET) if request.GET.get("handle") is not None else None
    status = 400 if person is not None and not person.is_valid() else 200
    return render(request, "privacy/page.html", _context(me, person=person), status=status)


@require_safe
def privacy_export(request: HttpRequest, ws: str) -> HttpResponse:
    me = _manager(request)
    person = PersonForm(request.GET)
    if not person.is_valid():
        return render(request, "privacy/page.html", _context(me, person=person), status=400)
    data = person.cleaned_data
    document = actions.export_person(
        me.workspace, data["network"], data["handle"], by=me, reference=data["reference"]
    )
    name = slugify(f"{data['network']}-{data['handle']}") or "person"
    response = HttpResponse(
        json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="personal-data-{name}-{stamp}.json"'
    return response


@require_POST
def privacy_erase(request: HttpRequest, ws: str) -> HttpResponse:
    me = _manager(request)
    form = EraseForm(request.POST)
    if not form.is_valid():
        person = PersonForm(
            {k: request.POST.get(k, "") for k in ("network", "handle", "reference")}
        )
        return render(
            request,
            "privacy/page.html",
            _context(me, person=person, erase=form),
            status=400,
        )
    data = form.cleaned_data
    counts = actions.erase_person(
        me.workspace, data["network"], data["handle"], by=me, reference=data["reference"]
    )
    erased = sum(counts[k] for k in ("customers", "conversations", "messages", "mentions"))
    if erased or counts["vip"] or counts["corrections"]:
        messages.success(
            request,
            _(
                "Erased for good. Conversations: %(conversations)d; their messages: "
                "%(messages)d; mentions: %(mentions)d. The audit log keeps that it was done, "
                "not who it was about."
            )
            % counts,
        )
    else:
        messages.info(request, _("Nothing was held about this person: nothing to erase."))
    query = urlencode({"network": data["network"], "handle": data["handle"]})
    return redirect(reverse("privacy", kwargs={"ws": ws}) + "?" + query)


@require_POST
def privacy_retention(request: HttpRequest, ws: str) -> HttpResponse:
    me = _manager(request)
    form = RetentionForm(request.POST)
    if not form.is_valid():
        return render(request, "privacy/page.html", _context(me, retention=form), status=400)
    actions.set_retention(
        me.workspace,
        by=me,
        conversations_days=form.cleaned_data["conversations_days"],
        mentions_days=form.cleaned_data["mentions_days"],
    )
    messages.success(request, _("Retention periods saved. They apply once a day."))
    return redirect("privacy", ws=ws)
