"""The API's data-protection endpoints (scope ``privacy:manage``, permission
``privacy.manage``): what is held about one person, its export, its erasure, and the
retention periods. The same actions as the page and ``portevoix privacy`` (docs/privacy.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from portevoix.api.core import ApiError, need
from portevoix.api.models import Scope
from portevoix.core.models import Member
from portevoix.core.permissions import require

from . import actions
from .models import MAX_DAYS, MIN_DAYS, RetentionPolicy

router = Router(tags=["privacy"])


def _answers(ok: Any, status: int = 200) -> dict[int, Any]:
    from portevoix.api.endpoints import answers

    return answers(ok, status)


class CountsOut(Schema):
    customers: int
    conversations: int
    messages: int
    others_messages: int
    mentions: int
    vip: int
    corrections: int


class PersonOut(Schema):
    network: str
    handle: str
    counts: CountsOut
    erased_before: list[dt.datetime]


class PersonIn(Schema):
    network: str = Field(..., max_length=40)
    handle: str = Field(..., max_length=300)
    reference: str = Field("", max_length=80)


class ErasedOut(Schema):
    network: str
    handle: str
    erased: CountsOut


class RetentionIn(Schema):
    conversations_days: int | None = Field(None, ge=MIN_DAYS, le=MAX_DAYS)
    mentions_days: int | None = Field(None, ge=MIN_DAYS, le=MAX_DAYS)


class RetentionOut(Schema):
    conversations_days: int | None
    mentions_days: int | None
    last_run_at: dt.datetime | None
    last_result: dict[str, int]


def _manager(request: HttpRequest) -> Member:
    member = need(request, Scope.PRIVACY)
    require(member, "privacy.manage")
    return member


def _person(network: str, handle: str) -> tuple[str, str]:
    if not actions.known_network(network):
        raise ApiError(
            422,
            "unknown_network",
            _("No network is called %(name)s.") % {"name": network},
            field="network",
        )
    try:
        return network, actions.checked_handle(handle)
    except actions.PersonError:
        raise ApiError(
            422, "invalid_handle", _("Give the person's handle."), field="handle"
        ) from None


@router.get(
    "/privacy/people", response=_answers(PersonOut), summary="What is held about one person"
)
def privacy_person(request: HttpRequest, network: str, handle: str) -> dict[str, Any]:
    member = _manager(request)
    network, handle = _person(network, handle)
    return {
        "network": network,
        "handle": handle,
        "counts": actions.holdings(member.workspace, network, handle).counts(),
        "erased_before": [
            e.created_at for e in actions.past_erasures(member.workspace, network, handle)
        ],
    }


@router.get(
    "/privacy/people/export",
    response=_answers(dict[str, Any]),
    summary="Everything held about one person (audited)",
)
def privacy_export(
    request: HttpRequest, network: str, handle: str, reference: str = ""
) -> dict[str, Any]:
    member = _manager(request)
    network, handle = _person(network, handle)
    return actions.export_person(
        member.workspace, network, handle, by=member, reference=reference[:80]
    )


@router.post(
    "/privacy/people/erase",
    response=_answers(ErasedOut),
    summary="Erase everything held about one person, for good",
)
def privacy_erase(request: HttpRequest, payload: PersonIn) -> dict[str, Any]:
    member = _manager(request)
    network, handle = _person(payload.network, payload.handle)
    counts = actions.erase_person(
        member.workspace, network, handle, by=member, reference=payload.reference
    )
    return {"network": network, "handle": handle, "erased": counts}


def _retention_out(policy: RetentionPolicy | None) -> dict[str, Any]:
    return {
        "conversations_days": policy.conversations_days if policy else None,
        "mentions_days": policy.mentions_days if policy else None,
        "last_run_at": policy.last_run_at if policy else None,
        "last_result": dict(policy.last_result) if policy else {},
    }


@router.get("/privacy/retention", response=_answers(RetentionOut), summary="Retention periods")
def privacy_retention(request: HttpRequest) -> dict[str, Any]:
    member = _manager(request)
    return _retention_out(RetentionPolicy.objects.filter(workspace=member.workspace).first())


@router.put(
    "/privacy/retention", response=_answers(RetentionOut), summary="Set the retention periods"
)
def privacy_set_retention(request: HttpRequest, payload: RetentionIn) -> dict[str, Any]:
    member = _manager(request)
    policy = actions.set_retention(
        member.workspace,
        by=member,
        conversations_days=payload.conversations_days,
        mentions_days=payload.mentions_days,
    )
    return _retention_out(policy)
