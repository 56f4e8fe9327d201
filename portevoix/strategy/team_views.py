"""The wider team's pages: team presets (managers), ambassadors and their counts (managers),
and an ambassador's own "to share" list. Views parse and render; :mod:`.presets` and
:mod:`.ambassadors` decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from portevoix.core.actions import ActionRefused
from portevoix.core.models import Department, Member
from portevoix.core.permissions import Role, require
from portevoix.core.views import _member

from . import ambassadors, presets
from .models import Ambassador, Audience, ShareNetwork, ShareRequest
from .views import _context

# --- team presets -----------------------------------------------------------------------------


def _chosen(data: Any, preset: presets.Preset) -> dict[str, int | None]:
    chosen: dict[str, int | None] = {}
    for slot in preset.slots:
        raw = str(data.get(f"slot_{slot.code}", "") or "")
        chosen[slot.code] = int(raw) if raw.isdigit() and len(raw) < 12 else None
    return chosen


def presets_page(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "strategy.manage")
    if request.method not in {"GET", "HEAD", "POST"}:
        return HttpResponse(status=405)
    people = presets.candidates(me.workspace)
    current = presets.current(me.workspace)
    plan = None
    error = ""
    error_preset = ""
    posted: dict[str, dict[str, int | None]] = {}
    status = 200
    if request.method == "POST":
        require(me, "member.change_role")
        code = request.POST.get("preset", "")
        preset = presets.PRESETS.get(code)
        if preset is None:
            error, status = _("Choose a preset."), 400
        else:
            chosen = _chosen(request.POST, preset)
            posted = {code: chosen}
            try:
                if request.POST.get("apply"):
                    done = presets.apply_preset(me.workspace, by=me, code=code, chosen=chosen)
                    messages.success(
                        request,
                        _("The preset “%(name)s” is applied.") % {"name": done.preset.label},
                    )
                    return redirect("strategy_presets", ws=ws)
                plan = presets.preview(me.workspace, by=me, code=code, chosen=chosen)
            except ActionRefused as exc:
                error, error_preset, status = exc.message, code, 400
    cards = []
    for preset in presets.PRESETS.values():
        picked: dict[str, int | None] = dict(
            posted.get(preset.code) or presets.guess(me.workspace, preset)
        )
        cards.append(
            {
                "preset": preset,
                "slots": [(slot, picked.get(slot.code)) for slot in preset.slots],
                "enough": len(people) >= len(preset.slots),
                "error": error if error_preset == preset.code else "",
            }
        )
    return render(
        request,
        "strategy/presets.html",
        _context(
            me,
            "presets",
            cards=cards,
            people=people,
            plan=plan,
            current=current,
            error=error if not error_preset else "",
            roles=dict(Role.choices),
        ),
        status=status,
    )


# --- ambassadors (managers) -------------------------------------------------------------------


class MemberChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.user.display_name}" + (f" ({obj.department.name})" if obj.department else "")


class PublicationChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.channel.name} · {obj.effective_text[:70]}"


class AmbassadorForm(forms.Form):
    member = MemberChoice(queryset=Member.objects.none(), label=gettext_lazy("Member"))
    networks = forms.MultipleChoiceField(
        label=gettext_lazy("Active on (channel expertise)"),
        choices=ShareNetwork.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    subject = forms.CharField(
        label=gettext_lazy("Subject (content expertise)"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("“Product catalogue”, “speaks at industry events”..."),
    )

    def __init__(self, *args: Any, me: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["member"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Member.objects.filter(
            workspace=me.workspace, is_active=True
        ).select_related("user", "department")


class SuggestForm(forms.Form):
    publication = PublicationChoice(
        queryset=ShareRequest.objects.none(), label=gettext_lazy("Published post")
    )
    audience = forms.ChoiceField(
        label=gettext_lazy("Suggest to"),
        choices=Audience.choices,
        initial=Audience.ALL,
        widget=forms.RadioSelect,
    )
    department = forms.ModelChoiceField(
        queryset=Department.objects.none(), required=False, label=gettext_lazy("Department")
    )
    network = forms.ChoiceField(
        choices=[("", "—"), *ShareNetwork.choices], required=False, label=gettext_lazy("Network")
    )
    subject = forms.CharField(max_length=200, required=False, label=gettext_lazy("Subject"))
    text = forms.CharField(
        label=gettext_lazy("Text to share"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Empty: the post's own text."),
    )
    note = forms.CharField(
        label=gettext_lazy("Note for the ambassadors"), max_length=500, required=False
    )

    def __init__(self, *args: Any, me: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        publication = self.fields["publication"]
        assert isinstance(publication, forms.ModelChoiceField)
        # The latest 100 (a sliced queryset could not check the chosen one).
        latest = list(ambassadors.shareable(me.workspace).values_list("pk", flat=True)[:100])
        publication.queryset = ambassadors.shareable(me.workspace).filter(pk__in=latest)
        department = self.fields["department"]
        assert isinstance(department, forms.ModelChoiceField)
        department.queryset = Department.objects.filter(workspace=me.workspace, is_active=True)

    def audience_value(self) -> str:
        data = self.cleaned_data
        audience = data["audience"]
        if audience == Audience.DEPARTMENT:
            return str(data["department"].pk) if data.get("department") else ""
        if audience == Audience.NETWORK:
            return str(data.get("network") or "")
        if audience == Audience.SUBJECT:
            return str(data.get("subject") or "")
        return ""


def _field_of(form: forms.Form, exc: ActionRefused) -> str | None:
    mapping = {"audience_value": "audience", "member": "member"}
    field = mapping.get(exc.field or "", exc.field)
    return field if field in form.fields else None


def ambassadors_page(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "ambassador.manage")
    if request.method not in {"GET", "HEAD", "POST"}:
        return HttpResponse(status=405)
    name_form = AmbassadorForm(request.POST or None, me=me, prefix="name")
    suggest_form = SuggestForm(me=me, prefix="suggest")
    status = 200
    if request.method == "POST":
        if name_form.is_valid():
            data = name_form.cleaned_data
            try:
                row = ambassadors.name_ambassador(
                    data["member"], by=me, networks=data["networks"], subject=data["subject"]
                )
            except ActionRefused as exc:
                name_form.add_error(_field_of(name_form, exc), exc.message)
            else:
                messages.success(
                    request,
                    _("%(name)s is an ambassador.") % {"name": row.member.user.display_name},
                )
                return redirect("strategy_ambassadors", ws=ws)
        status = 400
    return _ambassadors(request, me, name_form, suggest_form, status)


def _ambassadors(
    request: HttpRequest,
    me: Member,
    name_form: AmbassadorForm,
    suggest_form: SuggestForm,
    status: int,
) -> HttpResponse:
    workspace = me.workspace
    return render(
        request,
        "strategy/ambassadors.html",
        _context(
            me,
            "ambassadors",
            name_form=name_form,
            suggest_form=suggest_form,
            by_ambassador=ambassadors.counts_by_ambassador(workspace),
            by_suggestion=ambassadors.counts_by_suggestion(workspace),
            by_department=ambassadors.counts_by_department(workspace),
            shareable=ambassadors.shareable(workspace).exists(),
        ),
        status=status,
    )


@require_POST
def ambassador_remove(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    row = Ambassador.objects.select_related("member__user").get_for(me, pk=pk)
    ambassadors.remove_ambassador(row, by=me)
    messages.success(
        request, _("%(name)s is no longer an ambassador.") % {"name": row.member.user.display_name}
    )
    return redirect("strategy_ambassadors", ws=ws)


@require_POST
def share_suggest(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "ambassador.manage")
    form = SuggestForm(request.POST, me=me, prefix="suggest")
    if form.is_valid():
        data = form.cleaned_data
        try:
            suggestion = ambassadors.suggest_share(
                data["publication"],
                by=me,
                audience=data["audience"],
                value=form.audience_value(),
                text=data["text"],
                note=data["note"],
            )
        except ActionRefused as exc:
            form.add_error(_field_of(form, exc), exc.message)
        else:
            messages.success(
                request,
                _("Suggested to %(n)d ambassadors.") % {"n": suggestion.requests.count()},
            )
            return redirect("strategy_ambassadors", ws=ws)
    return _ambassadors(request, me, AmbassadorForm(me=me, prefix="name"), form, 400)


# --- an ambassador's "to share" list ----------------------------------------------------------


class SharedForm(forms.Form):
    network = forms.ChoiceField(label=gettext_lazy("Shared on"), choices=ShareNetwork.choices)
    url = forms.CharField(label=gettext_lazy("Link of your post"), max_length=500, required=False)


@require_safe
def share_list(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "ambassador.share")
    return _share_list(request, me, None, None, 200)


def _share_list(
    request: HttpRequest, me: Member, failed: int | None, form: SharedForm | None, status: int
) -> HttpResponse:
    profile = Ambassador.objects.filter(member=me, is_active=True).first()
    rows = (
        ShareRequest.objects.visible_to(me)
        .filter(ambassador__member=me)
        .select_related("suggestion__publication__channel", "suggestion__suggested_by")
    )
    items = []
    for row in rows:
        suggestion = row.suggestion
        items.append(
            {
                "row": row,
                "links": ambassadors.share_links(suggestion.text, suggestion.url),
                "form": form
                if failed == row.pk and form is not None
                else SharedForm(
                    prefix=f"r{row.pk}",
                    initial={"network": (profile.network_list[:1] or ["linkedin"])[0]}
                    if profile
                    else None,
                ),
            }
        )
    return render(
        request,
        "strategy/share.html",
        _context(
            me,
            "share",
            profile=profile,
            to_share=[i for i in items if i["row"].shared_at is None],
            shared=[i for i in items if i["row"].shared_at is not None],
        ),
        status=status,
    )


@require_POST
def share_mark(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    row = ShareRequest.objects.get_for(me, pk=pk, ambassador__member=me)
    form = SharedForm(request.POST, prefix=f"r{row.pk}")
    if form.is_valid():
        try:
            ambassadors.mark_shared(
                row, by=me, network=form.cleaned_data["network"], url=form.cleaned_data["url"]
            )
        except ActionRefused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Thank you: your share is counted."))
            return redirect("strategy_share", ws=ws)
    return _share_list(request, me, row.pk, form, 400)


@require_POST
def share_unmark(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    row = ShareRequest.objects.get_for(me, pk=pk, ambassador__member=me)
    ambassadors.unmark_shared(row, by=me)
    messages.success(request, _("The share is no longer counted."))
    return redirect("strategy_share", ws=ws)
