"""Mastodon's reconcile is exact: never the wrong status, never a resend of one that exists.

The double below is a Mastodon-API server *without* server-side idempotency (it ignores
``Idempotency-Key``, as some servers do): every ``POST /api/v1/statuses`` that reaches it is
stored and counted, so a blind resend shows in ``double.posts``. It renders statuses the way
Mastodon's ``TextFormatter`` does (docs.joinmastodon.org/entities/Status/#content: h-card
mentions shown as ``@user``, links cut into ``invisible``/``ellipsis`` spans, ``<p>`` and
``<br />``, entities escaped), pages ``GET /api/v1/accounts/:id/statuses`` newest first with
``max_id``/``limit``, and sends a ``Date`` header from its own clock, which may run apart from
ours. Renderings of Pleroma and GoToSocial come from recorded fixtures
(``fixtures/mastodon/status_rendered_*.json``, sources beside them).
"""

from __future__ import annotations

import html
import itertools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from portevoix.networks.errors import Ambiguous, OutcomeUnknown
from portevoix.networks.mastodon import MastodonNetwork
from portevoix.networks.types import Credentials, OutgoingPost, ThreadPart

from .test_mastodon import BASE, TOKEN, answer, load

CREDS = Credentials({"instance_url": BASE, "access_token": TOKEN})
STATUSES = re.compile(re.escape(BASE) + r"/api/v1/accounts/109876/statuses.*")
# Accounts the double knows, by acct, with their profile URL (remote ones keep a domain).
KNOWN = {
    "bob@x.social": "https://x.social/@bob",
    "bob@y.social": "https://y.social/@bob",
    "alice": "https://mastodon.example/@alice",
}
_MENTION = re.compile(r"(?<![\w/@.])@([a-z0-9_]+)(?:@([\w-]+(?:\.[\w-]+)+))?", re.I)
_LINK = re.compile(r"https?://[^\s<>\"']+")


def render(text: str, local_domain: str = "example.com") -> tuple[str, list[dict[str, str]]]:
    """Plain text to (content, mentions) as Mastodon's TextFormatter renders it."""
    mentions: list[dict[str, str]] = []
    tokens: list[tuple[int, int, str]] = []
    for match in _LINK.finditer(text):
        url = match.group(0)
        prefix = "https://" if url.startswith("https://") else "http://"
        rest = url[len(prefix) :]
        cut = "ellipsis" if len(rest) > 30 else ""
        tokens.append(
            (
                match.start(),
                match.end(),
                f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" '
                f'translate="no"><span class="invisible">{prefix}</span><span class="{cut}">'
                f'{html.escape(rest[:30])}</span><span class="invisible">'
                f"{html.escape(rest[30:])}</span></a>",
            )
        )
    for match in _MENTION.finditer(text):
        if any(start <= match.start() < end for start, end, _ in tokens):
            continue
        user, domain = match.group(1), match.group(2)
        acct = user if not domain or domain == local_domain else f"{user}@{domain}"
        url = KNOWN.get(acct)
        if url is None:
            continue  # unknown account: left as text, like Mastodon does
        mentions.append({"id": str(len(mentions) + 1), "username": user, "url": url, "acct": acct})
        tokens.append(
            (
                match.start(),
                match.end(),
                f'<span class="h-card" translate="no"><a href="{url}" class="u-url mention">'
                f"@<span>{user}</span></a></span>",
            )
        )
    tokens.sort()
    out, position = [], 0
    for start, end, markup in tokens:
        out.append(html.escape(text[position:start], quote=False))
        out.append(markup)
        position = end
    out.append(html.escape(text[position:], quote=False))
    body = "".join(out).strip()
    paragraphs = [p.replace("\n", "<br />") for p in re.split(r"\n\s*\n", body) if p]
    return "".join(f"<p>{p}</p>" for p in paragraphs), mentions


class Double:
    """A Mastodon-API server that stores every status it is sent (no idempotency)."""

    def __init__(self, http: responses.RequestsMock, *, clock: timedelta = timedelta(0)) -> None:
        self.clock = clock  # the server's clock minus ours
        self.statuses: list[dict[str, Any]] = []  # oldest first
        self.posts = 0  # POST /api/v1/statuses that reached the server
        self.store_then_lose = 0  # the next N posts are stored, their answer lost
        self.lose_before_storing = 0  # the next N posts time out before being stored
        self.fail_page = 0  # answer 500 to the Nth page of statuses (0: never)
        self._ids = itertools.count(113500000000000100)
        self._pages = 0
        http.add_callback("POST", BASE + "/api/v1/statuses", callback=self._post)
        http.add_callback("GET", STATUSES, callback=self._list)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.clock

    def _headers(self) -> dict[str, str]:
        return {"Date": format_datetime(self.now(), usegmt=True)}

    def add(
        self,
        text: str,
        *,
        at: datetime | None = None,
        in_reply_to: str | None = None,
        spoiler: str = "",
    ) -> dict[str, Any]:
        """A status as if posted at ``at`` (server clock), not counted as a post."""
        content, mentions = render(text)
        status_id = str(next(self._ids))
        created = (at or self.now()).astimezone(UTC)
        status = {
            "id": status_id,
            "created_at": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "in_reply_to_id": in_reply_to,
            "spoiler_text": spoiler,
            "content": content,
            "mentions": mentions,
            "media_attachments": [],
            "reblog": None,
            "visibility": "public",
            "url": f"https://mastodon.example/@porte_voix/{status_id}",
            "uri": f"https://mastodon.example/users/porte_voix/statuses/{status_id}",
            "account": {"id": "109876", "acct": "porte_voix", "username": "porte_voix"},
        }
        self.statuses.append(status)
        return status

    def texts(self) -> list[str]:
        return [s["content"] for s in self.statuses]

    def _post(self, request: requests.PreparedRequest) -> Any:
        self.posts += 1
        if self.lose_before_storing:
            self.lose_before_storing -= 1
            return requests.ReadTimeout("Read timed out. (read timeout=30)")
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        form = parse_qs(body or "")
        status = self.add(
            form["status"][0],
            in_reply_to=(form.get("in_reply_to_id") or [None])[0],
            spoiler=(form.get("spoiler_text") or [""])[0],
        )
        if self.store_then_lose:
            self.store_then_lose -= 1
            return requests.ReadTimeout("Read timed out. (read timeout=30)")
        return 200, self._headers(), json.dumps(status)

    def _list(self, request: requests.PreparedRequest) -> Any:
        self._pages += 1
        if self.fail_page and self._pages == self.fail_page:
            return 500, self._headers(), json.dumps({"error": "Internal server error"})
        query = parse_qs(urlsplit(request.url or "").query)
        limit = int((query.get("limit") or ["20"])[0])
        max_id = (query.get("max_id") or [None])[0]
        newest_first = sorted(self.statuses, key=lambda s: int(s["id"]), reverse=True)
        if max_id:
            newest_first = [s for s in newest_first if int(s["id"]) < int(max_id)]
        return 200, self._headers(), json.dumps(newest_first[:limit])


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def connect(http: responses.RequestsMock, instance: str = "instance_v2.json") -> MastodonNetwork:
    answer(http, "GET", "/api/v1/accounts/verify_credentials", "verify_credentials.json")
    answer(http, "GET", "/api/v2/instance", instance)
    network = MastodonNetwork()
    network.connect(CREDS)
    return network


def attempt(network: MastodonNetwork, post: OutgoingPost, key: str) -> datetime:
    """A first attempt whose answer is lost; returns its time (what the caller stores)."""
    since = datetime.now(UTC)
    with pytest.raises(OutcomeUnknown):
        network.publish(post, idempotency_key=key)
    return since


# -- never twice, never lost ---------------------------------------------------------------------


def test_a_stored_post_whose_answer_was_lost_is_found_and_not_sent_again(http):
    double = Double(http)
    network = connect(http)
    post = OutgoingPost("Nouveau : la promo d'hiver est en ligne")
    double.store_then_lose = 1
    since = attempt(network, post, "k1")
    found = network.reconcile("k1", post=post, since=since)
    assert found is not None and found.post_id == double.statuses[-1]["id"]
    assert double.posts == 1


def test_an_older_status_with_the_same_text_is_not_taken_for_the_new_post(http):
    """Yesterday's identical status is not this post: the post goes out (not lost)."""
    double = Double(http)
    network = connect(http)
    text = "Bonjour à tous, bonne semaine !"
    old = double.add(text, at=double.now() - timedelta(hours=2))
    post = OutgoingPost(text)
    double.lose_before_storing = 1
    since = attempt(network, post, "k2")
    assert network.reconcile("k2", post=post, since=since) is None
    ref = network.publish(post, idempotency_key="k2")
    assert ref.post_id != old["id"]
    assert double.posts == 2
    assert len(double.statuses) == 2  # yesterday's and today's: nothing lost


def test_a_remote_mention_shown_short_is_still_found(http):
    """Sent as @bob@x.social, shown as @bob: found, so not sent twice."""
    double = Double(http)
    network = connect(http)
    post = OutgoingPost("@bob@x.social Merci pour votre retour, nous corrigeons ça. @alice")
    double.store_then_lose = 1
    since = attempt(network, post, "k3")
    assert "@<span>bob</span>" in double.statuses[-1]["content"]
    found = network.reconcile("k3", post=post, since=since)
    assert found is not None and found.post_id == double.statuses[-1]["id"]
    assert double.posts == 1


def test_links_paragraphs_and_entities_compare_as_servers_render_them(http):
    double = Double(http)
    network = connect(http)
    post = OutgoingPost(
        "Soldes & nouveautés <3 : https://porte-voix.example/promo/hiver/2026?utm=masto\n"
        "#Soldes\n\n\nÀ bientôt"
    )
    double.store_then_lose = 1
    since = attempt(network, post, "k4")
    content = double.statuses[-1]["content"]
    assert 'class="ellipsis"' in content and "&amp;" in content and "<br />" in content
    found = network.reconcile("k4", post=post, since=since)
    assert found is not None
    assert double.posts == 1


def test_a_status_recorded_by_another_publication_never_matches(http):
    double = Double(http)
    network = connect(http)
    post = OutgoingPost("Même texte, deux publications")
    since = datetime.now(UTC)
    other = double.add(post.text)  # the other publication's status, after our first attempt
    assert network.reconcile("k5", post=post, since=since, exclude=frozenset({other["id"]})) is None
    found = network.reconcile("k5", post=post, since=since)
    assert found is not None and found.post_id == other["id"]


def test_the_server_clock_behind_ours_is_measured_not_guessed(http):
    """The server runs 90 s late: our status is stamped before ``since`` on its clock."""
    double = Double(http, clock=-timedelta(seconds=90))
    network = connect(http)
    post = OutgoingPost("Horloge en retard")
    double.store_then_lose = 1
    since = attempt(network, post, "k6")
    assert datetime.fromisoformat(double.statuses[-1]["created_at"].replace("Z", "+00:00")) < since
    found = network.reconcile("k6", post=post, since=since)
    assert found is not None and double.posts == 1


def test_the_server_clock_ahead_of_ours_does_not_let_an_older_status_in(http):
    """90 s ahead: a status made a minute before our attempt is stamped after ``since``."""
    double = Double(http, clock=timedelta(seconds=90))
    network = connect(http)
    text = "Horloge en avance"
    since = datetime.now(UTC)
    old = double.add(text, at=since + timedelta(seconds=30))  # = 60 s before since, our clock
    assert network.reconcile("k7", post=OutgoingPost(text), since=since) is None
    assert old["id"] not in {s["id"] for s in double.statuses[1:]}


def test_several_statuses_that_match_go_to_a_person(http):
    double = Double(http)
    network = connect(http)
    post = OutgoingPost("Deux fois le même")
    since = datetime.now(UTC)
    double.add(post.text)
    double.add(post.text)
    with pytest.raises(Ambiguous) as caught:
        network.reconcile("k8", post=post, since=since)
    assert len(caught.value.candidates) == 2
    assert all(
        c.created_at and c.url and c.text == "Deux fois le même" for c in caught.value.candidates
    )
    assert double.posts == 0


def test_a_status_that_is_only_alike_goes_to_a_person(http):
    """The mention points elsewhere: same words, not the same post. Neither sent nor taken."""
    double = Double(http)
    network = connect(http)
    since = datetime.now(UTC)
    double.add("@bob@y.social Merci !")
    with pytest.raises(Ambiguous) as caught:
        network.reconcile("k9", post=OutgoingPost("@bob@x.social Merci !"), since=since)
    assert [c.note for c in caught.value.candidates] == ["the text differs"]


def test_a_scan_that_cannot_reach_the_first_attempt_goes_to_a_person(http):
    double = Double(http)
    network = connect(http)
    since = datetime.now(UTC)
    for number in range(45):  # more than one page of statuses after the first attempt
        double.add(f"Message {number}")
    double.fail_page = 2
    with pytest.raises(Ambiguous) as caught:
        network.reconcile("k10", post=OutgoingPost("Pas encore là"), since=since)
    assert "first attempt" in caught.value.message


def test_paging_back_reaches_an_older_match(http):
    double = Double(http)
    network = connect(http)
    post = OutgoingPost("Tout au fond")
    since = datetime.now(UTC)
    target = double.add(post.text)
    for number in range(85):  # three pages of newer statuses
        double.add(f"Plus récent {number}")
    found = network.reconcile("k11", post=post, since=since)
    assert found is not None and found.post_id == target["id"]


def test_a_thread_is_matched_along_its_reply_chain(http):
    double = Double(http)
    network = connect(http)
    post = OutgoingPost("1/3 Un fil", thread=(ThreadPart("2/3 la suite"), ThreadPart("3/3 fin")))
    since = datetime.now(UTC)
    first = double.add("1/3 Un fil")
    double.add("2/3 la suite")  # same text, but answers nothing: not part of our thread
    second = double.add("2/3 la suite", in_reply_to=first["id"])
    found = network.reconcile("k12", post=post, since=since)
    assert found is not None
    # The thread was cut after part 2: reconcile gives the parts that exist, in order.
    assert found.all_post_ids == (first["id"], second["id"])


def test_a_thread_cut_midway_is_outcome_unknown_and_reconciled(http):
    double = Double(http)
    network = connect(http)
    post = OutgoingPost("Fil 1", thread=(ThreadPart("Fil 2"),))
    since = datetime.now(UTC)
    # Part 1 goes out; part 2's answer is lost after it was stored.
    original = double._post

    def second_lost(request: requests.PreparedRequest) -> Any:
        if double.posts == 1:
            double.store_then_lose = 1
        return original(request)

    http.remove(responses.POST, BASE + "/api/v1/statuses")
    http.add_callback("POST", BASE + "/api/v1/statuses", callback=second_lost)
    with pytest.raises(OutcomeUnknown):
        network.publish(post, idempotency_key="k13")
    found = network.reconcile("k13", post=post, since=since)
    assert found is not None and len(found.all_post_ids) == 2
    assert double.posts == 2


def test_without_the_first_attempt_time_the_last_day_is_read_and_exclude_holds(http):
    double = Double(http)
    network = connect(http)
    text = "Rangée d'avant la mise à jour"
    double.add(text, at=double.now() - timedelta(hours=30))  # out of the 24 h window
    assert network.reconcile("k14", post=OutgoingPost(text)) is None
    recent = double.add(text)
    assert (
        network.reconcile("k14", post=OutgoingPost(text), exclude=frozenset({recent["id"]})) is None
    )
    found = network.reconcile("k14", post=OutgoingPost(text))
    assert found is not None and found.post_id == recent["id"]


def test_without_the_post_only_an_empty_account_is_a_sure_answer(http):
    double = Double(http)
    network = connect(http)
    since = datetime.now(UTC)
    assert network.reconcile("k15", since=since) is None
    double.add("Quelque chose")
    with pytest.raises(Ambiguous) as caught:
        network.reconcile("k15", since=since)
    assert len(caught.value.candidates) == 1


def test_a_content_warning_that_differs_is_not_a_match(http):
    double = Double(http)
    network = connect(http)
    since = datetime.now(UTC)
    double.add("Texte caché", spoiler="Divulgâcheur")
    with pytest.raises(Ambiguous) as caught:
        network.reconcile(
            "k16", post=OutgoingPost("Texte caché", content_warning="Autre"), since=since
        )
    assert caught.value.candidates[0].note == "the content warning differs"
    assert network.reconcile(
        "k16", post=OutgoingPost("Texte caché", content_warning="Divulgâcheur"), since=since
    )


# -- other servers' renderings (recorded) ----------------------------------------------------------

SENT = (
    "@bob@x.social @alice Nouveau : https://porte-voix.example/promo/hiver/2026?utm=masto #Soldes\n"
    "Deuxième ligne\n\nSecond paragraphe & fin"
)


@pytest.mark.parametrize(
    ("fixture", "instance_v2", "instance_v1"),
    [
        ("status_rendered_mastodon.json", "instance_v2.json", None),
        ("status_rendered_pleroma.json", "error_404.json", "pleroma_instance_v1.json"),
        ("status_rendered_gotosocial.json", "gotosocial_instance_v2.json", None),
    ],
)
def test_each_server_rendering_of_the_same_text_is_found(http, fixture, instance_v2, instance_v1):
    answer(http, "GET", "/api/v1/accounts/verify_credentials", "verify_credentials.json")
    answer(http, "GET", "/api/v2/instance", instance_v2)
    if instance_v1:
        answer(http, "GET", "/api/v1/instance", instance_v1)
    network = MastodonNetwork()
    network.connect(CREDS)
    since = datetime.now(UTC) - timedelta(seconds=5)
    status = {**load(fixture)["body"], "created_at": datetime.now(UTC).isoformat()}
    http.add("GET", STATUSES, json=[status])
    found = network.reconcile("k", post=OutgoingPost(SENT), since=since)
    assert found is not None and found.post_id == status["id"]
    # A mention of another bob is not the same post, whatever the server.
    other = SENT.replace("@bob@x.social", "@bob@y.social")
    with pytest.raises(Ambiguous):
        network.reconcile("k", post=OutgoingPost(other), since=since)


def test_the_documented_statuses_answer_gives_the_thread(http):
    """/api/v1/accounts/:id/statuses as documented, stamped after the first attempt."""
    network = connect(http)
    since = datetime.now(UTC) - timedelta(seconds=5)
    now = datetime.now(UTC).isoformat()
    page = [{**status, "created_at": now} for status in load("account_statuses.json")["body"]]
    http.add("GET", STATUSES, json=page)
    post = OutgoingPost(
        "Nouveau : la https://porte-voix.example/promo est en ligne",
        thread=(ThreadPart("la suite"),),
    )
    found = network.reconcile("k", post=post, since=since)
    assert found is not None
    assert found.all_post_ids == ("103254962155278888", "103254962155278999")
    # Stamped before the first attempt (2019, as documented): not this post.
    http.replace("GET", STATUSES, json=load("account_statuses.json")["body"])
    assert network.reconcile("k", post=post, since=since) is None
