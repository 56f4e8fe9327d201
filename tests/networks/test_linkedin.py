"""LinkedIn: recorded answers from LinkedIn's documentation (respx), and the contract suite
against a stateful fake on loopback (``fake_linkedin.py``) that counts the POSTs reaching it."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from portevoix.networks.base import MemoryJournal
from portevoix.networks.errors import (
    Ambiguous,
    AuthExpired,
    InvalidInput,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Transient,
)
from portevoix.networks.linkedin import (
    DEFAULT_VERSION,
    LinkedInNetwork,
    escape_commentary,
    plain_commentary,
)
from portevoix.networks.types import (
    AccountMetric,
    AuthorizationRequest,
    Credentials,
    MediaItem,
    OutgoingPost,
    PublishedRef,
)

from .contract import PNG_1PX, ContractSetup, NetworkContract
from .fake_linkedin import (
    CLIENT_ID,
    CLIENT_SECRET,
    GOOD_TOKEN,
    MEMBER_SUB,
    ORG_ID,
    REFRESH_TOKEN,
    FakeLinkedIn,
)

FIXTURES = Path(__file__).parent / "fixtures" / "linkedin"
API = "https://api.linkedin.com"
AUTH = "https://www.linkedin.com/oauth/v2"
TOKEN = "AQUvlL_DYEzvT2wz1QJiEPeLioeA"
ORG = Credentials({"access_token": TOKEN, "organization_id": "1337"})
POST_URN = "urn:li:share:6844785523593134080"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def answer(name: str, **changes: Any) -> httpx.Response:
    data = load(name)
    body = changes.pop("body", data.get("body"))
    return httpx.Response(
        data["status"],
        headers=data.get("headers") or {},
        json=body if body is not None else None,
    )


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def page(api: respx.MockRouter) -> Iterator[LinkedInNetwork]:
    api.get(f"{API}/rest/organizations/1337").mock(return_value=answer("organization.json"))
    network = LinkedInNetwork(timeout=2)
    network.connect(ORG)
    yield network
    network.close()


# -- connecting --------------------------------------------------------------------------------


def test_connect_a_company_page_sends_the_version_headers(api: respx.MockRouter) -> None:
    route = api.get(f"{API}/rest/organizations/1337").mock(return_value=answer("organization.json"))
    account = LinkedInNetwork().connect(ORG)
    assert account.account_id == "urn:li:organization:1337"
    assert account.handle == "linkedin" and account.display_name == "LinkedIn"
    assert account.url == "https://www.linkedin.com/company/linkedin/"
    sent = route.calls.last.request
    assert sent.headers["LinkedIn-Version"] == DEFAULT_VERSION
    assert sent.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"


def test_the_version_is_configurable_per_channel(api: respx.MockRouter) -> None:
    route = api.get(f"{API}/rest/organizations/1337").mock(return_value=answer("organization.json"))
    LinkedInNetwork().connect(ORG.replace(api_version="202701"))
    assert route.calls.last.request.headers["LinkedIn-Version"] == "202701"


def test_a_sunset_version_says_what_to_do(api: respx.MockRouter) -> None:
    api.get(f"{API}/rest/organizations/1337").mock(return_value=answer("error_426_version.json"))
    with pytest.raises(Permanent) as caught:
        LinkedInNetwork().connect(ORG)
    assert caught.value.code == "version"
    assert "version" in caught.value.message


def test_connect_a_member(api: respx.MockRouter) -> None:
    api.get(f"{API}/v2/userinfo").mock(return_value=answer("userinfo.json"))
    account = LinkedInNetwork().connect(Credentials({"access_token": TOKEN}))
    assert account.account_id == "urn:li:person:782bbtaQ"
    assert account.display_name == "John Doe"


def test_an_expired_token_is_auth_expired(api: respx.MockRouter) -> None:
    api.get(f"{API}/rest/organizations/1337").mock(return_value=answer("error_401_expired.json"))
    with pytest.raises(AuthExpired) as caught:
        LinkedInNetwork().connect(ORG)
    assert TOKEN not in str(caught.value)


def test_a_token_past_its_expiry_is_refused_without_a_call(api: respx.MockRouter) -> None:
    route = api.get(f"{API}/rest/organizations/1337").mock(return_value=answer("organization.json"))
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    with pytest.raises(AuthExpired):
        LinkedInNetwork().connect(ORG.replace(expires_at=past))
    assert not route.called


def test_a_bad_page_number_is_refused() -> None:
    with pytest.raises(InvalidInput):
        LinkedInNetwork().connect(ORG.replace(organization_id="lumiere"))


def test_the_page_may_be_given_by_its_admin_address(api: respx.MockRouter) -> None:
    api.get(f"{API}/rest/organizations/1337").mock(return_value=answer("organization.json"))
    creds = ORG.replace(organization_id="https://www.linkedin.com/company/1337/")
    assert LinkedInNetwork().connect(creds).account_id == "urn:li:organization:1337"


# -- OAuth -------------------------------------------------------------------------------------


def test_begin_authorization_builds_linkedins_url() -> None:
    auth = LinkedInNetwork.begin_authorization(
        "",
        "https://pv.example/cb",
        state="st4te",
        client_id="abc",
        client_secret="shh",
        organization_id="1337",
    )
    parts = urlsplit(auth.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{AUTH}/authorization"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["client_id"] == "abc" and query["state"] == "st4te"
    assert query["redirect_uri"] == "https://pv.example/cb"
    assert "w_organization_social" in query["scope"].split()
    assert "shh" not in auth.url and "shh" not in repr(auth)
    member = LinkedInNetwork.begin_authorization(
        "", "https://pv.example/cb", state="s", client_id="abc", client_secret="shh"
    )
    assert "w_member_social" in parse_qs(urlsplit(member.url).query)["scope"][0].split()


def test_begin_authorization_needs_the_app() -> None:
    with pytest.raises(InvalidInput):
        LinkedInNetwork.begin_authorization("", "https://pv.example/cb", state="s")


def _request(organization_id: str = "1337") -> AuthorizationRequest:
    return LinkedInNetwork.begin_authorization(
        "",
        "https://pv.example/cb",
        state="s",
        client_id="abc",
        client_secret="shh",
        organization_id=organization_id,
    )


def test_complete_authorization_sets_the_expiry(api: respx.MockRouter) -> None:
    route = api.post(f"{AUTH}/accessToken").mock(return_value=answer("token.json"))
    before = datetime.now(UTC)
    credentials = LinkedInNetwork.complete_authorization(_request(), "the-code")
    form = parse_qs(route.calls.last.request.content.decode())
    assert form["grant_type"] == ["authorization_code"] and form["code"] == ["the-code"]
    assert form["client_secret"] == ["shh"]
    assert credentials.get("access_token") == TOKEN
    assert credentials.get("organization_id") == "1337"
    expires = datetime.fromisoformat(credentials.get("expires_at"))
    assert timedelta(days=59) < expires - before <= timedelta(days=60, seconds=5)
    assert "refresh_token" not in credentials


def test_complete_authorization_refused(api: respx.MockRouter) -> None:
    api.post(f"{AUTH}/accessToken").mock(return_value=answer("token_refresh_refused.json"))
    with pytest.raises(AuthExpired) as caught:
        LinkedInNetwork.complete_authorization(_request(), "stale")
    assert "shh" not in caught.value.message


def test_a_partner_token_is_refreshed_and_announced(api: respx.MockRouter) -> None:
    api.post(f"{AUTH}/accessToken").mock(return_value=answer("token_refreshable.json"))
    api.get(f"{API}/rest/organizations/1337").mock(return_value=answer("organization.json"))
    changes: list[Credentials] = []
    soon = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    credentials = ORG.replace(
        expires_at=soon, refresh_token="old-refresh", client_id="abc", client_secret="shh"
    )
    network = LinkedInNetwork(on_credentials_change=changes.append)
    network.connect(credentials)
    assert [c.get("access_token") for c in changes] == ["AQUvlL_DYEzvT2wz1QJiEPeLioeA-new"]
    assert changes[0].get("refresh_token") == "AQWAft_WjYZKwuWXLC5hQlghgTam"
    assert changes[0].get("organization_id") == "1337"
    assert network.credentials.get("access_token").endswith("-new")


def test_a_401_refreshes_once_then_retries(api: respx.MockRouter) -> None:
    api.post(f"{AUTH}/accessToken").mock(return_value=answer("token_refreshable.json"))
    route = api.get(f"{API}/rest/organizations/1337").mock(
        side_effect=[answer("error_401_expired.json"), answer("organization.json")]
    )
    credentials = ORG.replace(refresh_token="r", client_id="abc", client_secret="shh")
    LinkedInNetwork().connect(credentials)
    assert route.call_count == 2
    assert route.calls.last.request.headers["Authorization"].endswith("-new")


# -- publishing --------------------------------------------------------------------------------


def test_publish_text_reads_the_urn_from_x_restli_id(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    route = api.post(f"{API}/rest/posts").mock(return_value=answer("post_created.json"))
    ref = page.publish(OutgoingPost("On recrute ! #emploi (CDI)"), idempotency_key="k1")
    assert ref.post_id == POST_URN
    assert ref.url == f"https://www.linkedin.com/feed/update/{POST_URN}/"
    body = json.loads(route.calls.last.request.content)
    assert body["author"] == "urn:li:organization:1337"
    assert body["commentary"] == "On recrute ! {hashtag|\\#|emploi} \\(CDI\\)"
    assert body["lifecycleState"] == "PUBLISHED" and body["visibility"] == "PUBLIC"
    # The same key through the same client: the post it made, no second POST.
    assert page.publish(OutgoingPost("On recrute ! #emploi (CDI)"), idempotency_key="k1") == ref
    assert route.call_count == 1


def test_publish_an_image_uploads_it_first(api: respx.MockRouter, page: LinkedInNetwork) -> None:
    init = api.post(f"{API}/rest/images", params={"action": "initializeUpload"}).mock(
        return_value=answer("image_initialize.json")
    )
    upload = api.put(url__startswith="https://www.linkedin.com/dms-uploads/").mock(
        return_value=httpx.Response(201)
    )
    post = api.post(f"{API}/rest/posts").mock(return_value=answer("post_created.json"))
    image = MediaItem(PNG_1PX, "image/png", alt_text="Notre équipe", filename="team.png")
    page.publish(OutgoingPost("Bienvenue", media=(image,)), idempotency_key="k")
    assert json.loads(init.calls.last.request.content) == {
        "initializeUploadRequest": {"owner": "urn:li:organization:1337"}
    }
    assert upload.calls.last.request.content == PNG_1PX
    assert json.loads(post.calls.last.request.content)["content"] == {
        "media": {"id": "urn:li:image:C4E10AQFoyyAjHPMQuQ", "altText": "Notre équipe"}
    }


def test_an_image_linkedin_finds_too_large_is_invalid_and_nothing_is_posted(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    api.post(f"{API}/rest/images", params={"action": "initializeUpload"}).mock(
        return_value=answer("image_initialize.json")
    )
    api.put(url__startswith="https://www.linkedin.com/dms-uploads/").mock(
        return_value=answer("error_413_image.json")
    )
    post = api.post(f"{API}/rest/posts").mock(return_value=answer("post_created.json"))
    image = MediaItem(PNG_1PX, "image/png", filename="huge.png")
    with pytest.raises(InvalidInput):
        page.publish(OutgoingPost("Trop grand", media=(image,)), idempotency_key="k")
    assert not post.called


def test_an_image_over_the_limit_is_refused_before_sending(page: LinkedInNetwork) -> None:
    big = MediaItem(b"\0" * (10 * 1000 * 1000 + 1), "image/png", filename="big.png")
    with pytest.raises(InvalidInput) as caught:
        page.publish(OutgoingPost("x", media=(big,)), idempotency_key="k")
    assert "big.png" in caught.value.message


def test_duplicate_content_is_permanent(api: respx.MockRouter, page: LinkedInNetwork) -> None:
    api.post(f"{API}/rest/posts").mock(return_value=answer("error_422_duplicate.json"))
    with pytest.raises(Permanent) as caught:
        page.publish(OutgoingPost("Sample text Post"), idempotency_key="k")
    assert caught.value.code == "duplicate"


def test_an_app_without_the_product_is_told_so(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    api.post(f"{API}/rest/posts").mock(return_value=answer("error_403_not_approved.json"))
    with pytest.raises(Permanent) as caught:
        page.publish(OutgoingPost("Bonjour"), idempotency_key="k")
    assert caught.value.code == "app_not_allowed"
    assert "Community Management" in caught.value.message


def test_rate_limit_resets_at_midnight_utc(api: respx.MockRouter, page: LinkedInNetwork) -> None:
    api.post(f"{API}/rest/posts").mock(return_value=answer("error_429.json"))
    with pytest.raises(RateLimited) as caught:
        page.publish(OutgoingPost("Bonjour"), idempotency_key="k")
    reset = caught.value.reset_at
    assert reset is not None and reset > datetime.now(UTC)
    assert (reset.hour, reset.minute, reset.second) == (0, 0, 0)


def test_retry_after_is_honoured_when_sent(api: respx.MockRouter, page: LinkedInNetwork) -> None:
    data = load("error_429.json")
    api.post(f"{API}/rest/posts").mock(
        return_value=httpx.Response(429, json=data["body"], headers={"Retry-After": "120"})
    )
    with pytest.raises(RateLimited) as caught:
        page.publish(OutgoingPost("Bonjour"), idempotency_key="k")
    assert caught.value.reset_at is not None
    assert caught.value.reset_at - datetime.now(UTC) < timedelta(minutes=3)


def test_a_timeout_after_the_post_was_sent_is_outcome_unknown(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    api.post(f"{API}/rest/posts").mock(side_effect=httpx.ReadTimeout("read timed out"))
    with pytest.raises(OutcomeUnknown):
        page.publish(OutgoingPost("Bonjour"), idempotency_key="k")


def test_a_500_on_publish_is_outcome_unknown(api: respx.MockRouter, page: LinkedInNetwork) -> None:
    api.post(f"{API}/rest/posts").mock(return_value=answer("error_500.json"))
    with pytest.raises(OutcomeUnknown):
        page.publish(OutgoingPost("Bonjour"), idempotency_key="k")


def test_no_connection_is_transient(api: respx.MockRouter, page: LinkedInNetwork) -> None:
    api.post(f"{API}/rest/posts").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(Transient):
        page.publish(OutgoingPost("Bonjour"), idempotency_key="k")


# -- reconcile ---------------------------------------------------------------------------------


def _listed(created: datetime, text: str = "Sample text Post") -> httpx.Response:
    data = load("posts_by_author.json")
    ms = int(created.timestamp() * 1000)
    element = data["body"]["elements"][0]
    element.update(createdAt=ms, publishedAt=ms, lastModifiedAt=ms, commentary=text)
    return httpx.Response(200, json=data["body"])


def test_reconcile_finds_the_post_made_after_the_first_attempt(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    route = api.get(f"{API}/rest/posts").mock(return_value=_listed(since + timedelta(seconds=2)))
    ref = page.reconcile("k", post=OutgoingPost("Sample text Post"), since=since)
    assert ref is not None and ref.post_id == POST_URN
    request = route.calls.last.request
    assert request.url.params["q"] == "author"
    assert request.url.params["author"] == "urn:li:organization:1337"
    assert request.headers["X-RestLi-Method"] == "FINDER"


def test_reconcile_ignores_posts_before_the_first_attempt_and_recorded_ones(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    api.get(f"{API}/rest/posts").mock(return_value=_listed(since - timedelta(minutes=5)))
    assert page.reconcile("k", post=OutgoingPost("Sample text Post"), since=since) is None
    api.get(f"{API}/rest/posts").mock(return_value=_listed(since + timedelta(seconds=1)))
    found = page.reconcile(
        "k2", post=OutgoingPost("Sample text Post"), since=since, exclude=frozenset({POST_URN})
    )
    assert found is None


def test_reconcile_asks_a_person_about_a_lookalike(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    api.get(f"{API}/rest/posts").mock(
        return_value=_listed(since + timedelta(seconds=1), "Sample text Post, edited")
    )
    with pytest.raises(Ambiguous) as caught:
        page.reconcile("k", post=OutgoingPost("Sample text Post"), since=since)
    assert [c.post_id for c in caught.value.candidates] == [POST_URN]


def test_reconcile_reads_escaped_text_back() -> None:
    text = "Rejoignez-nous ! #emploi @Lyon (CDI) 50% *remote* C# a_b ~ [x] <y> | {z} \\"
    assert plain_commentary(escape_commentary(text)) == text


# -- comments and metrics ----------------------------------------------------------------------


def test_fetch_replies_reads_comments(api: respx.MockRouter, page: LinkedInNetwork) -> None:
    route = api.get(url__startswith=f"{API}/rest/socialActions/").mock(
        return_value=answer("comments.json")
    )
    batch = page.fetch_replies(POST_URN)
    assert "urn%3Ali%3Ashare%3A6844785523593134080" in str(route.calls.last.request.url)
    [item] = batch.items
    assert item.text == "Comment on a share"
    assert item.in_reply_to == POST_URN
    assert item.message_id.startswith("urn:li:comment:(")
    assert item.author.id == "urn:li:person:wLmq0kIs4v"
    assert item.created_at == datetime.fromtimestamp(1575244051, UTC)


def test_reply_to_a_comment(api: respx.MockRouter, page: LinkedInNetwork) -> None:
    comment = "urn:li:comment:(urn:li:activity:6844785523593134080,6636062862760562688)"
    route = api.post(url__startswith=f"{API}/rest/socialActions/").mock(
        return_value=answer("comment_created.json")
    )
    ref = page.reply(comment, "Merci !", idempotency_key="r1")
    body = json.loads(route.calls.last.request.content)
    assert body == {
        "actor": "urn:li:organization:1337",
        "message": {"text": "Merci !"},
        "object": "urn:li:activity:6844785523593134080",
        "parentComment": comment,
    }
    assert ref.post_id.endswith(",6636062862760562689)")


def test_page_metrics_from_share_statistics(api: respx.MockRouter, page: LinkedInNetwork) -> None:
    route = api.get(url__startswith=f"{API}/rest/organizationalEntityShareStatistics").mock(
        return_value=answer("share_statistics.json")
    )
    [snap] = page.metrics([PublishedRef("linkedin", POST_URN)])
    assert snap.post_id == POST_URN and snap.views == 0 and snap.likes == 0
    url = str(route.calls.last.request.url)
    assert "shares=List(urn%3Ali%3Ashare%3A6844785523593134080)" in url
    assert "organizationalEntity=urn%3Ali%3Aorganization%3A1337" in url


def test_member_metrics_from_social_metadata(api: respx.MockRouter) -> None:
    api.get(f"{API}/v2/userinfo").mock(return_value=answer("userinfo.json"))
    api.get(url__startswith=f"{API}/rest/socialMetadata/").mock(
        return_value=answer("social_metadata.json")
    )
    network = LinkedInNetwork()
    network.connect(Credentials({"access_token": TOKEN}))
    [snap] = network.metrics([PublishedRef("linkedin", POST_URN)])
    assert (snap.likes, snap.replies, snap.views) == (6, 2, None)


# -- the contract, on the fake -------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeLinkedIn]:
    with FakeLinkedIn() as server:
        yield server


def _fake_credentials(fake: FakeLinkedIn, **extra: str) -> Credentials:
    return Credentials(
        {
            "access_token": GOOD_TOKEN,
            "api_url": fake.base_url,
            "auth_url": fake.base_url + "/oauth/v2",
            **extra,
        }
    )


class TestLinkedInContract(NetworkContract):
    @pytest.fixture
    def contract(self, fake: FakeLinkedIn) -> ContractSetup:
        def make_network(**kwargs: Any) -> LinkedInNetwork:
            return LinkedInNetwork(timeout=kwargs.pop("timeout", 1.0), **kwargs)

        @contextlib.contextmanager
        def lose_next_answer(network: Any) -> Iterator[None]:
            fake.state.hold_next_post = 1.5
            try:
                yield
            finally:
                # The held answer finishes in the server's thread: let it land first.
                time.sleep(0.6)

        @contextlib.contextmanager
        def rate_limit_next(network: Any) -> Iterator[None]:
            fake.state.rate_limit_next = True
            try:
                yield
            finally:
                fake.state.rate_limit_next = False

        return ContractSetup(
            make_network=make_network,
            credentials=_fake_credentials(fake, organization_id=ORG_ID),
            bad_credentials=_fake_credentials(fake, access_token="AQX-revoked-token-999"),
            secrets=(GOOD_TOKEN, "AQX-revoked-token-999"),
            add_comment=lambda ref, text: fake.add_comment(ref.post_id, text),
            lose_next_answer=lose_next_answer,
            rate_limit_next=rate_limit_next,
        )


def test_never_sent_blind_after_an_accepted_write(fake: FakeLinkedIn) -> None:
    """The timeout-after-accept case: reconcile finds the post, one POST reached LinkedIn,
    also through a new client (a restarted worker) that has no memory of the key."""
    credentials = _fake_credentials(fake)
    post = OutgoingPost("Nous recrutons un·e chargé·e de communication (CDI, Lyon) #emploi")
    since = datetime.now(UTC)
    first = LinkedInNetwork(timeout=0.5)
    first.connect(credentials)
    fake.state.hold_next_post = 1.2
    with pytest.raises(OutcomeUnknown):
        first.publish(post, idempotency_key="pv-1")
    time.sleep(1.0)  # the settle time: the held answer lands
    restarted = LinkedInNetwork(timeout=2)
    restarted.connect(credentials)
    found = restarted.reconcile("pv-1", post=post, since=since)
    assert found is not None
    assert restarted.publish(post, idempotency_key="pv-1").post_id == found.post_id
    assert fake.state.post_requests == 1
    [stored] = fake.state.posts
    assert stored["id"] == found.post_id
    assert plain_commentary(stored["commentary"]) == post.text


def test_a_member_channel_on_the_fake(fake: FakeLinkedIn) -> None:
    network = LinkedInNetwork(timeout=2)
    account = network.connect(_fake_credentials(fake))
    assert account.account_id == f"urn:li:person:{MEMBER_SUB}"
    ref = network.publish(OutgoingPost("Bonjour"), idempotency_key="m1")
    fake.add_comment(ref.post_id, "Bravo")
    [item] = network.fetch_inbound(None).items
    answer_ref = network.reply(item, "Merci", idempotency_key="m2")
    assert answer_ref.post_id.startswith("urn:li:comment:(")
    [snap] = network.metrics([ref])
    assert snap.replies == 1  # the comment (our answer is under the comment, not the post)


def test_oauth_against_the_fake_gives_a_refreshable_channel(fake: FakeLinkedIn) -> None:
    fake.state.give_refresh_token = True
    request = AuthorizationRequest(
        url="",
        state="s",
        redirect_uri="http://127.0.0.1/cb",
        instance_url=fake.base_url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        extra={"auth_url": fake.base_url + "/oauth/v2"},
    )
    fake.state.codes["c1"] = MEMBER_SUB
    credentials = LinkedInNetwork.complete_authorization(request, "c1")
    assert credentials.get("refresh_token") == REFRESH_TOKEN
    changes: list[Credentials] = []
    network = LinkedInNetwork(on_credentials_change=changes.append, timeout=2)
    network.connect(credentials)
    fresh = network.refresh_credentials()
    assert changes == [fresh] and fresh.get("access_token") != credentials.get("access_token")
    assert network.verify().account_id == f"urn:li:person:{MEMBER_SUB}"


# -- video (Videos API) -------------------------------------------------------------------------

VIDEO_URN = "urn:li:video:C5F10AQGKQg_6y2a4sQ"
CLIP = MediaItem(b"0123456789", "video/mp4", filename="atelier.mp4")


def _video_routes(api: respx.MockRouter, *, finalize: Any = None) -> dict[str, respx.Route]:
    return {
        "init": api.post(f"{API}/rest/videos", params={"action": "initializeUpload"}).mock(
            return_value=answer("video_initialize.json")
        ),
        "put": api.put(url__startswith="https://www.linkedin.com/dms-uploads/").mock(
            side_effect=[
                answer("video_part_uploaded.json"),
                httpx.Response(200, headers={"etag": "/ambry-video/signedId/part-2"}),
            ]
        ),
        "finalize": api.post(f"{API}/rest/videos", params={"action": "finalizeUpload"}).mock(
            side_effect=finalize or [answer("video_finalized.json")]
        ),
        "status": api.get(f"{API}/rest/videos/{VIDEO_URN.replace(':', '%3A')}").mock(
            return_value=answer("video_available.json")
        ),
    }


def test_publish_a_video_uploads_parts_finalizes_then_posts(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    routes = _video_routes(api)
    post = api.post(f"{API}/rest/posts").mock(return_value=answer("post_created.json"))
    ref = page.publish(OutgoingPost("Notre atelier en vidéo", media=(CLIP,)), idempotency_key="v")
    assert ref.post_id == POST_URN
    assert json.loads(routes["init"].calls.last.request.content) == {
        "initializeUploadRequest": {
            "owner": "urn:li:organization:1337",
            "fileSizeBytes": 10,
            "uploadCaptions": False,
            "uploadThumbnail": False,
        }
    }
    assert [c.request.content for c in routes["put"].calls] == [b"012345", b"6789"]
    assert json.loads(routes["finalize"].calls.last.request.content) == {
        "finalizeUploadRequest": {
            "video": VIDEO_URN,
            "uploadToken": "",
            "uploadedPartIds": [
                "/ambry-video/signedId/AQHVJVy2cz9BIAAAAYB8ZzNJrrF6ehzG",
                "/ambry-video/signedId/part-2",
            ],
        }
    }
    assert json.loads(post.calls.last.request.content)["content"] == {"media": {"id": VIDEO_URN}}
    entry = page.journal.get("v")
    assert entry is not None and entry["post_id"] == POST_URN and entry["video"] == VIDEO_URN


def test_a_lost_post_answer_is_found_by_its_video_and_nothing_is_uploaded_again(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    routes = _video_routes(api)
    post = api.post(f"{API}/rest/posts").mock(side_effect=httpx.ReadTimeout("lost"))
    outgoing = OutgoingPost("Notre atelier en vidéo", media=(CLIP,))
    with pytest.raises(OutcomeUnknown):
        page.publish(outgoing, idempotency_key="v2")
    entry = page.journal.get("v2")
    assert entry is not None and entry["state"] == "sending" and entry["video"] == VIDEO_URN
    api.get(f"{API}/rest/posts").mock(return_value=answer("video_posts_by_author.json"))
    found = page.reconcile("v2", post=outgoing)
    assert found is not None and found.post_id == POST_URN
    # A restarted worker (new client, same journal): the post, no call that writes.
    again = LinkedInNetwork(timeout=2, journal=page.journal)
    api.get(f"{API}/rest/organizations/1337").mock(return_value=answer("organization.json"))
    again.connect(ORG)
    assert again.publish(outgoing, idempotency_key="v2").post_id == POST_URN
    assert routes["init"].call_count == 1 and routes["put"].call_count == 2
    assert routes["finalize"].call_count == 1 and post.call_count == 1


def test_a_lost_post_answer_with_no_post_posts_the_same_video_again(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    routes = _video_routes(api)
    post = api.post(f"{API}/rest/posts").mock(
        side_effect=[httpx.ReadTimeout("lost"), answer("post_created.json")]
    )
    api.get(f"{API}/rest/posts").mock(
        return_value=answer(
            "posts_by_author.json",
            body={"paging": {"start": 0, "count": 10, "links": [], "total": 0}, "elements": []},
        )
    )
    outgoing = OutgoingPost("Notre atelier en vidéo", media=(CLIP,))
    with pytest.raises(OutcomeUnknown):
        page.publish(outgoing, idempotency_key="v3")
    assert page.reconcile("v3", post=outgoing) is None
    assert page.publish(outgoing, idempotency_key="v3").post_id == POST_URN
    assert routes["init"].call_count == 1 and routes["finalize"].call_count == 1
    assert post.call_count == 2
    assert json.loads(post.calls.last.request.content)["content"] == {"media": {"id": VIDEO_URN}}


def test_a_lost_finalize_is_read_back_from_the_videos_status(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    routes = _video_routes(api, finalize=[httpx.ReadTimeout("lost")])
    post = api.post(f"{API}/rest/posts").mock(return_value=answer("post_created.json"))
    outgoing = OutgoingPost("Notre atelier en vidéo", media=(CLIP,))
    with pytest.raises(Transient):
        page.publish(outgoing, idempotency_key="v4")
    entry = page.journal.get("v4")
    assert entry is not None and entry["state"] == "finalizing"
    assert page.reconcile("v4", post=outgoing) is None  # the post was never asked for
    assert page.publish(outgoing, idempotency_key="v4").post_id == POST_URN
    assert routes["init"].call_count == 1 and routes["finalize"].call_count == 1
    assert post.call_count == 1


def test_a_video_still_processing_waits_without_posting(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    routes = _video_routes(api)
    routes["status"].mock(
        return_value=answer("video_available.json", body={"id": VIDEO_URN, "status": "PROCESSING"})
    )
    post = api.post(f"{API}/rest/posts")
    with pytest.raises(Transient) as caught:
        page.publish(OutgoingPost("Vidéo", media=(CLIP,)), idempotency_key="v5")
    assert "processing" in caught.value.message
    assert not post.called


def test_a_video_linkedin_refuses_is_invalid_and_nothing_is_posted(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    api.post(f"{API}/rest/videos", params={"action": "initializeUpload"}).mock(
        return_value=answer("error_400_video_size.json")
    )
    post = api.post(f"{API}/rest/posts")
    with pytest.raises(InvalidInput) as caught:
        page.publish(OutgoingPost("Vidéo", media=(CLIP,)), idempotency_key="v6")
    assert "500MB" in caught.value.message
    assert not post.called


def test_a_video_goes_alone_and_within_500_mb(page: LinkedInNetwork) -> None:
    photo = MediaItem(PNG_1PX, "image/png", filename="a.png")
    assert any("goes alone" in p for p in page.validate(OutgoingPost("x", media=(CLIP, photo))))
    big = MediaItem(b"\0" * (500 * 1000 * 1000 + 1), "video/mp4", filename="long.mp4")
    assert any("long.mp4" in p for p in page.validate(OutgoingPost("x", media=(big,))))


def test_video_on_the_fake_timeout_after_accept_gives_exactly_one_video(
    fake: FakeLinkedIn,
) -> None:
    credentials = _fake_credentials(fake, organization_id=ORG_ID)
    journal = MemoryJournal()
    data = bytes(range(256)) * 10  # three parts of the fake's 1,024 bytes
    post = OutgoingPost(
        f"Une seule vidéo {time.time()}",
        media=(MediaItem(data, "video/mp4", filename="clip.mp4"),),
    )
    before_calls = fake.state.video_calls.copy()
    before_posts = fake.state.post_requests
    first = LinkedInNetwork(timeout=0.5, journal=journal)
    first.connect(credentials)
    fake.state.video_processing_reads = 1
    with pytest.raises(Transient):  # still processing: nothing posted yet
        first.publish(post, idempotency_key="video-once")
    fake.state.video_processing_reads = 0
    fake.state.hold_next_post = 1.2
    with pytest.raises(OutcomeUnknown):
        first.publish(post, idempotency_key="video-once")
    time.sleep(1.0)  # the held answer lands
    restarted = LinkedInNetwork(timeout=2, journal=journal)
    restarted.connect(credentials)
    found = restarted.reconcile("video-once", post=post)
    assert found is not None
    assert restarted.publish(post, idempotency_key="video-once").post_id == found.post_id
    assert fake.state.video_calls - before_calls == {"initialize": 1, "part": 3, "finalize": 1}
    assert fake.state.post_requests - before_posts == 1
    [made] = [p for p in fake.state.posts if p["id"] == found.post_id]
    video = fake.state.videos[made["content"]["media"]["id"]]
    assert video["data"] == data


# -- first comment ------------------------------------------------------------------------------


def test_first_comment_goes_under_the_new_post(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    post = api.post(f"{API}/rest/posts").mock(return_value=answer("post_created.json"))
    comment = api.post(url__startswith=f"{API}/rest/socialActions/").mock(
        return_value=answer("comment_created.json")
    )
    outgoing = OutgoingPost("On recrute", first_comment="Postulez ici : lien en bio")
    ref = page.publish(outgoing, idempotency_key="fc")
    assert ref.post_id == POST_URN
    assert comment.calls.last.request.url.path == (
        "/rest/socialActions/urn:li:share:6844785523593134080/comments"
    )
    assert json.loads(comment.calls.last.request.content) == {
        "actor": "urn:li:organization:1337",
        "message": {"text": "Postulez ici : lien en bio"},
        "object": POST_URN,
    }
    entry = page.journal.get("fc")
    assert entry is not None and entry["comment_state"] == "done" and entry["comment_id"]
    assert page.publish(outgoing, idempotency_key="fc") == ref
    assert post.call_count == 1 and comment.call_count == 1


def test_a_failed_first_comment_is_added_later_without_posting_again(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    post = api.post(f"{API}/rest/posts").mock(return_value=answer("post_created.json"))
    comment = api.post(url__startswith=f"{API}/rest/socialActions/").mock(
        side_effect=[answer("error_500.json"), answer("comment_created.json")]
    )
    listing = api.get(url__startswith=f"{API}/rest/socialActions/").mock(
        return_value=httpx.Response(200, json={"elements": [], "paging": {"count": 100}})
    )
    outgoing = OutgoingPost("On recrute", first_comment="Postulez ici")
    with pytest.raises(OutcomeUnknown) as caught:
        page.publish(outgoing, idempotency_key="fc2")
    assert "first comment" in caught.value.message
    # A restarted worker with the channel's journal: the comment, not the post.
    again = LinkedInNetwork(timeout=2, journal=page.journal)
    api.get(f"{API}/rest/organizations/1337").mock(return_value=answer("organization.json"))
    again.connect(ORG)
    assert again.publish(outgoing, idempotency_key="fc2").post_id == POST_URN
    assert post.call_count == 1 and comment.call_count == 2 and listing.call_count == 1
    assert again.reconcile("fc2", post=outgoing) is not None


def test_first_comment_on_the_fake_after_a_lost_comment_answer(fake: FakeLinkedIn) -> None:
    credentials = _fake_credentials(fake, organization_id=ORG_ID)
    network = LinkedInNetwork(timeout=2, journal=MemoryJournal())
    network.connect(credentials)
    outgoing = OutgoingPost(f"Offre {time.time()}", first_comment="Le lien est ici")
    ref = network.publish(outgoing, idempotency_key="fc3")
    assert [c["message"]["text"] for c in fake.state.comments[ref.post_id]] == ["Le lien est ici"]
    # The comment was made but its answer lost: the journal says "sending"; publishing again
    # finds it among the post's comments and adds none.
    entry = dict(network.journal.get("fc3") or {})
    network.journal.put("fc3", {**entry, "comment_state": "sending", "comment_id": ""})
    network._memory = type(network._memory)()
    assert network.publish(outgoing, idempotency_key="fc3").post_id == ref.post_id
    assert len(fake.state.comments[ref.post_id]) == 1


def test_a_finalize_that_never_arrived_is_sent_again_without_uploading(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    routes = _video_routes(
        api, finalize=[httpx.ConnectError("down"), answer("video_finalized.json")]
    )
    routes["status"].mock(
        side_effect=[
            answer("video_available.json", body={"id": VIDEO_URN, "status": "WAITING_UPLOAD"}),
            answer("video_available.json"),
        ]
    )
    post = api.post(f"{API}/rest/posts").mock(return_value=answer("post_created.json"))
    outgoing = OutgoingPost("Notre atelier en vidéo", media=(CLIP,))
    with pytest.raises(Transient):
        page.publish(outgoing, idempotency_key="v7")
    assert page.publish(outgoing, idempotency_key="v7").post_id == POST_URN
    assert routes["init"].call_count == 1 and routes["put"].call_count == 2
    assert routes["finalize"].call_count == 2 and post.call_count == 1


# -- account metrics ----------------------------------------------------------------------------


def test_a_page_reads_its_followers_and_the_page_views_of_whole_days(
    api: respx.MockRouter, page: LinkedInNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    noon = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    monkeypatch.setattr("portevoix.networks.linkedin._utc_now", lambda: noon)
    sizes = api.get(f"{API}/rest/networkSizes/urn%3Ali%3Aorganization%3A1337").mock(
        return_value=answer("network_sizes.json")
    )
    stats = api.get(f"{API}/rest/organizationPageStatistics").mock(
        return_value=answer("page_statistics.json")
    )
    figures = page.account_metrics(datetime(2026, 11, 29, 6, 0, tzinfo=UTC))
    assert (figures.followers, figures.profile_visits) == (372691, 112 + 95)
    assert sizes.calls.last.request.url.params["edgeType"] == "COMPANY_FOLLOWED_BY_MEMBER"
    asked = str(stats.calls.last.request.url)
    assert "timeIntervals=(timeRange:(start:1795910400000,end:1796083200000)" in asked
    assert "timeGranularityType:DAY" in asked
    assert page.offered_account_metrics() == frozenset(AccountMetric)


def test_page_views_refused_are_not_offered_the_followers_still_are(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    api.get(f"{API}/rest/networkSizes/urn%3Ali%3Aorganization%3A1337").mock(
        return_value=answer("network_sizes.json")
    )
    api.get(f"{API}/rest/organizationPageStatistics").mock(
        return_value=answer("error_403_not_approved.json")
    )
    figures = page.account_metrics(datetime.now(UTC) - timedelta(days=2))
    assert (figures.followers, figures.profile_visits) == (372691, None)


def test_a_member_reads_its_followers_and_offers_no_page_views(api: respx.MockRouter) -> None:
    api.get(f"{API}/v2/userinfo").mock(return_value=answer("userinfo.json"))
    route = api.get(f"{API}/rest/memberFollowersCount").mock(
        return_value=answer("member_followers.json")
    )
    member = LinkedInNetwork()
    member.connect(Credentials({"access_token": TOKEN}))
    figures = member.account_metrics(datetime.now(UTC) - timedelta(days=2))
    assert (figures.followers, figures.profile_visits) == (5012, None)
    assert route.calls.last.request.url.params["q"] == "me"
    assert member.offered_account_metrics() == {AccountMetric.FOLLOWERS}


def test_account_metrics_with_an_expired_token_asks_for_a_reconnect(
    api: respx.MockRouter, page: LinkedInNetwork
) -> None:
    api.get(f"{API}/rest/networkSizes/urn%3Ali%3Aorganization%3A1337").mock(
        return_value=answer("error_401_expired.json")
    )
    with pytest.raises(AuthExpired):
        page.account_metrics(datetime.now(UTC) - timedelta(days=2))
