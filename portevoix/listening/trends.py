"""Seed 004: catch a trend or a mention while it is fresh. From the listening page, one click
turns a rising term into an idea in the ideas backlog (:func:`trend_to_idea`), and a rising
term or a fresh mention into a draft in the composer, prefilled with the term and the links
of the mentions (:func:`draft_prefill`; the composer saves it as any draft).

Permissions: reading listening (``listening.view``) and proposing ideas (``idea.propose``) for
an idea; ``post.create`` for a draft (checked by the composer too).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from portevoix.core import audit
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import require
from portevoix.networks import registry

from . import stats
from .models import Mention

#: Mentions quoted in the idea or the draft (the most reached authors first).
QUOTED = 5


def _rising_term(me: Member, term: str, now: dt.datetime) -> tuple[dict[str, Any], list[Mention]]:
    """The term as it rises now, and its mentions; refused when it no longer rises."""
    term = (term or "").strip()
    mentions = Mention.objects.visible_to(me)
    found = next((r for r in stats.rising(mentions, now, limit=50) if r["term"] == term), None)
    if found is None:
        raise ActionRefused(_("This term no longer rises: nothing was created."), field="term")
    return found, stats.term_mentions(mentions, term, now, limit=QUOTED)


def _link(mention: Mention) -> str:
    return mention.url or f"@{mention.author_handle} ({mention.network})"


def _quotes(mentions: list[Mention]) -> str:
    return "\n".join(f"- {_link(m)}: « {m.text[:200]} »" for m in mentions)


@transaction.atomic
def trend_to_idea(
    workspace: Workspace, *, by: Member, term: str, now: dt.datetime | None = None
) -> Any:
    """A rising term becomes an idea in the backlog, with its figures and mentions quoted."""
    from portevoix.publishing.actions import propose_idea

    require(by, "listening.view")
    require(by, "idea.propose")
    now = now or timezone.now()
    found, mentions = _rising_term(by, term, now)
    # Once a day per term: a second click (or a colleague's) finds the idea already there.
    from portevoix.core.models import AuditEntry
    from portevoix.publishing.models import Idea

    made = AuditEntry.objects.filter(
        workspace=workspace,
        action="listening.trend_to_idea",
        created_at__gte=now - dt.timedelta(days=1),
        after__term=found["term"],
    ).values_list("object_id", flat=True)
    if Idea.objects.filter(workspace=workspace, pk__in=[int(i) for i in made if i]).exists():
        raise ActionRefused(
            _("This rising term is already in the ideas backlog (made into an idea today)."),
            code="exists",
        )
    title = _("Rising on social media: %(term)s") % {"term": found["label"]}
    if found["baseline"]:
        description = _(
            "%(recent)s mentions in the last 24 hours, %(ratio)s times the usual "
            "(%(usual)s a day). Heard by listening:"
        ) % {
            "recent": found["recent"],
            "ratio": formats.number_format(found["ratio"], 1),
            "usual": formats.number_format(found["baseline"], 1),
        }
    else:  # "7 times the usual (0.0 a day)" says nothing: it is new
        description = _(
            "%(recent)s mentions in the last 24 hours; not said in the weeks before. "
            "Heard by listening:"
        ) % {"recent": found["recent"]}
    idea = propose_idea(
        workspace, by=by, title=title[:200], description=f"{description}\n\n{_quotes(mentions)}"
    )
    audit.record(
        "listening.trend_to_idea",
        workspace=workspace,
        actor=by.user,
        obj=idea,
        after={"term": found["term"], "mentions": [m.pk for m in mentions]},
    )
    return idea


def draft_prefill(
    me: Member, *, term: str = "", mention: int | None = None, now: dt.datetime | None = None
) -> dict[str, str]:
    """The composer's title and text for a draft from a rising term or a fresh mention."""
    from .actions import is_fresh

    require(me, "listening.view")
    require(me, "post.create")
    now = now or timezone.now()
    if mention is not None:
        row: Mention = Mention.objects.get_for(me, pk=mention)
        if not is_fresh(row, now):
            raise ActionRefused(_("This mention is no longer fresh."))
        return {
            "title": _("Answer to @%(author)s") % {"author": row.author_handle}
            if row.author_handle
            else _("Answer to a mention on %(network)s") % {"network": registry.label(row.network)},
            "text": _("Heard by listening: %(link)s") % {"link": _link(row)}
            + f"\n« {row.text[:500]} »\n\n",
        }
    found, mentions = _rising_term(me, term, now)
    return {
        "title": _("On %(term)s") % {"term": found["label"]},
        "text": f"{found['label']}\n\n"
        + _("Mentions heard by listening:")
        + f"\n{_quotes(mentions)}\n",
    }
