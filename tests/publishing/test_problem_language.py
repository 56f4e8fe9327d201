"""A network's refusal, raised in the worker, reaches each author in their own language.

The worker runs in the server's default language; what it stores is the refusal's message id
and named parameters (``networks.i18n.Text`` → ``core.sentences``), so the failed-post
notification and the reason on the "needs attention" page are written when read, for the
reader.
"""

from __future__ import annotations

import httpx
from django.utils import translation

from portevoix.networks.x import XNetwork
from portevoix.notifications.models import Notification
from portevoix.publishing.events import publication_needs_attention
from portevoix.publishing.states import problem_of

ENGLISH = "X does not allow this (publish): this account may not post."
FRENCH = "X n’autorise pas cela (publish)\u00a0: this account may not post."


def test_the_same_refusal_reads_in_each_authors_language(team, make_publication) -> None:
    with translation.override("fr"):  # the worker, in the server's default language
        refusal = XNetwork()._error(
            httpx.Response(403, json={"detail": "this account may not post."}), "publish", True
        )
    problem = problem_of(refusal)
    assert "n’autorise" not in problem  # stored language-neutral, not frozen in French
    french, english = team["content"], team["manager"]
    for member, language in ((french, "fr"), (english, "en")):
        member.user.language = language
        member.user.save(update_fields=["language"])
        publication = make_publication("rejected", author=member, problem=problem)
        publication_needs_attention(publication.pk, "rejected")
    for member, language, expected in ((french, "fr", FRENCH), (english, "en", ENGLISH)):
        notice = Notification.objects.get(recipient=member)
        with translation.override(language):
            assert expected in notice.render().body


def test_the_needs_attention_page_gives_the_reason_in_the_readers_language(
    team, make_publication, client_for
) -> None:
    from django.urls import reverse

    with translation.override("fr"):
        refusal = XNetwork()._error(
            httpx.Response(403, json={"detail": "this account may not post."}), "publish", True
        )
    make_publication("rejected", author=team["content"], problem=problem_of(refusal))
    page = reverse("attention", kwargs={"ws": team.workspace.slug})
    for language, expected in (("fr", FRENCH), ("en", ENGLISH)):
        user = team["content"].user
        user.language = language
        user.save(update_fields=["language"])
        html = client_for(team["content"]).get(page).content.decode()
        assert expected.replace("’", "&#x27;") in html or expected in html
