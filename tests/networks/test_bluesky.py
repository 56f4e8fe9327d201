"""Bluesky module against the real reference servers (@atproto/dev-env: PLC, PDS, App View).

Every test here talks to the servers started by the ``bluesky_devenv`` fixture on loopback;
nothing is mocked except the two faults a server cannot be asked for (an answer lost after
the write, an address that answers HTML), which are made by a real loopback transport or
server.
"""

from __future__ import annotations

import contextlib
import http.server
import re
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from atproto import Client, models

from portevoix.networks.bluesky import BlueskyNetwork, grapheme_length, record_key
from portevoix.networks.errors import (
    AuthExpired,
    NetworkError,
    OutcomeUnknown,
    RateLimited,
    Transient,
    Unsupported,
)
from portevoix.networks.types import (
    Credentials,
    InboundKind,
    MediaItem,
    OutgoingPost,
    PublishedRef,
    ThreadPart,
)

from .conftest import DevEnv, eventually
from .contract import PNG_1PX, ContractSetup, NetworkContract

pytestmark = [pytest.mark.bluesky, pytest.mark.xdist_group("bluesky")]

TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


# -- pure functions (still marked: the module is about the servers) -------------------------


def test_record_key_is_a_stable_tid_per_key_and_part() -> None:
    key = "post-42:channel-7"
    assert record_key(key) == record_key(key, 0)
    assert TID.match(record_key(key))
    keys = {record_key(key, n) for n in range(10)} | {record_key("post-43:channel-7")}
    assert len(keys) == 11


def test_grapheme_length_counts_what_people_see() -> None:
    assert grapheme_length("abc") == 3
    assert grapheme_length("e\u0301") == 1  # e + combining acute
    assert grapheme_length("👍🏽") == 1
    assert grapheme_length("👨‍👩‍👧") == 1
    assert grapheme_length("🇫🇷") == 1  # a flag: two regional indicators, one grapheme


# -- helpers ---------------------------------------------------------------------------------


class LossyTransport(httpx.HTTPTransport):
    """A real transport that can drop the answer of the next write after the server took it."""

    def __init__(self) -> None:
        super().__init__()
        self.lose_next_write = False
        self.rate_limit_next = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.rate_limit_next:
            # What the PDS answers once a bucket is empty (its rate limiter's headers).
            self.rate_limit_next = False
            reset = str(int(datetime.now(UTC).timestamp()) + 300)
            return httpx.Response(
                429,
                json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                headers={
                    "ratelimit-limit": "5000",
                    "ratelimit-remaining": "0",
                    "ratelimit-reset": reset,
                },
                request=request,
            )
        response = super().handle_request(request)
        if self.lose_next_write and request.url.path.endswith("com.atproto.repo.putRecord"):
            self.lose_next_write = False
            response.read()
            response.close()
            raise httpx.ReadTimeout("answer lost on purpose", request=request)
        return response


@pytest.fixture(scope="module")
def sessions(bluesky_devenv: DevEnv) -> dict[str, str]:
    """One session per account for the whole module: createSession is rate-limited (30/5 min)."""
    result: dict[str, str] = {}
    for name in ("brand", "customer", "fan"):
        account = bluesky_devenv.account(name)
        network = BlueskyNetwork()
        network.connect(
            Credentials(
                {
                    "pds_url": bluesky_devenv.pds_url,
                    "handle": account["handle"],
                    "app_password": account["app_password"],
                }
            )
        )
        result[name] = network.credentials.get("session")
        network.close()
    return result


def creds(devenv: DevEnv, sessions: dict[str, str], name: str) -> Credentials:
    account = devenv.account(name)
    return Credentials(
        {
            "pds_url": devenv.pds_url,
            "handle": account["handle"],
            "app_password": account["app_password"],
            "session": sessions[name],
        }
    )


def connected(devenv: DevEnv, sessions: dict[str, str], name: str, **kwargs: Any) -> BlueskyNetwork:
    network = BlueskyNetwork(**kwargs)
    network.connect(creds(devenv, sessions, name))
    return network


def raw_client(devenv: DevEnv, sessions: dict[str, str], name: str) -> Client:
    client = Client(base_url=devenv.pds_url)
    client.login(session_string=sessions[name])
    return client


def indexed(network: BlueskyNetwork, ref: PublishedRef) -> None:
    """Wait until the App View knows the post (replies to unknown posts notify nobody)."""
    eventually(lambda: network.metrics([ref]), timeout=40)


def _key() -> str:
    return f"test-{uuid.uuid4().hex}"


# -- the contract ----------------------------------------------------------------------------


class TestBlueskyContract(NetworkContract):
    @pytest.fixture
    def contract(self, bluesky_devenv: DevEnv, sessions: dict[str, str]) -> ContractSetup:
        transport = LossyTransport()
        good = creds(bluesky_devenv, sessions, "brand")
        bad = Credentials(
            {
                "pds_url": bluesky_devenv.pds_url,
                "handle": "brand.test",
                "app_password": "wrong-pass-word",
            }
        )
        customer = connected(bluesky_devenv, sessions, "customer")

        def make_network(**kwargs: Any) -> BlueskyNetwork:
            return BlueskyNetwork(transport=transport, **kwargs)

        def add_comment(ref: PublishedRef, text: str) -> None:
            indexed(customer, ref)
            customer.reply(ref.post_id, text, idempotency_key=_key())

        @contextlib.contextmanager
        def lose_next_answer(network: Any) -> Iterator[None]:
            transport.lose_next_write = True
            try:
                yield
            finally:
                transport.lose_next_write = False

        @contextlib.contextmanager
        def rate_limit_next(network: Any) -> Iterator[None]:
            transport.rate_limit_next = True
            try:
                yield
            finally:
                transport.rate_limit_next = False

        return ContractSetup(
            make_network=make_network,
            credentials=good,
            bad_credentials=bad,
            secrets=(good.get("app_password"), good.get("session"), "wrong-pass-word"),
            add_comment=add_comment,
            lose_next_answer=lose_next_answer,
            rate_limit_next=rate_limit_next,
            eventually=lambda probe: eventually(probe, timeout=40),
        )


# -- Bluesky specifics -----------------------------------------------------------------------


def test_login_with_app_password_hands_out_a_session(bluesky_devenv: DevEnv) -> None:
    account = bluesky_devenv.account("customer")
    changes: list[Credentials] = []
    network = BlueskyNetwork(on_credentials_change=changes.append)
    info = network.connect(
        Credentials(
            {
                "pds_url": bluesky_devenv.pds_url,
                "handle": "@" + account["handle"],
                "app_password": account["app_password"],
            }
        )
    )
    assert info.account_id == account["did"]
    assert info.handle == account["handle"]
    assert changes and changes[-1].get("session")
    assert changes[-1].get("app_password") == account["app_password"]

    # The session alone is enough next time: no new createSession.
    again = BlueskyNetwork()
    assert (
        again.connect(
            Credentials({"pds_url": bluesky_devenv.pds_url, "session": changes[-1].get("session")})
        ).account_id
        == account["did"]
    )


def test_refresh_gives_a_new_session(bluesky_devenv: DevEnv, sessions: dict[str, str]) -> None:
    changes: list[Credentials] = []
    network = BlueskyNetwork(on_credentials_change=changes.append)
    network.connect(creds(bluesky_devenv, sessions, "fan"))
    before = network.credentials.get("session")
    after = network.refresh_credentials().get("session")
    assert after and after != before
    assert changes[-1].get("session") == after
    # The refreshed session works.
    network.publish(OutgoingPost("après le rafraîchissement"), idempotency_key=_key())


def test_revoked_app_password_raises_auth_expired(bluesky_devenv: DevEnv) -> None:
    account = bluesky_devenv.account("fan")
    owner = Client(base_url=bluesky_devenv.pds_url)
    owner.login(account["handle"], account["password"], fetch_bsky_profile=False)
    name = f"revoked-{uuid.uuid4().hex[:6]}"
    created = owner.com.atproto.server.create_app_password(
        models.ComAtprotoServerCreateAppPassword.Data(name=name)
    )
    credentials = Credentials(
        {
            "pds_url": bluesky_devenv.pds_url,
            "handle": account["handle"],
            "app_password": created.password,
        }
    )
    BlueskyNetwork().connect(credentials)
    owner.com.atproto.server.revoke_app_password(
        models.ComAtprotoServerRevokeAppPassword.Data(name=name)
    )
    with pytest.raises(AuthExpired) as caught:
        BlueskyNetwork().connect(credentials)
    assert created.password not in str(caught.value)
    assert "reconnect" in caught.value.message


def test_images_keep_their_alt_text(bluesky_devenv: DevEnv, sessions: dict[str, str]) -> None:
    network = connected(bluesky_devenv, sessions, "brand")
    post = OutgoingPost(
        "Deux images",
        media=(
            MediaItem(PNG_1PX, "image/png", alt_text="Le logo", filename="a.png"),
            MediaItem(PNG_1PX, "image/png", alt_text="L'équipe", filename="b.png"),
        ),
        language="fr",
    )
    ref = network.publish(post, idempotency_key=_key())
    client = raw_client(bluesky_devenv, sessions, "brand")
    rkey = ref.post_id.rsplit("/", 1)[1]
    record = client.com.atproto.repo.get_record(
        models.ComAtprotoRepoGetRecord.Params(
            repo=network.account.account_id, collection="app.bsky.feed.post", rkey=rkey
        )
    ).value
    assert [image.alt for image in record.embed.images] == ["Le logo", "L'équipe"]
    assert record.langs == ["fr"]


def test_thread_parts_chain_to_the_root(bluesky_devenv: DevEnv, sessions: dict[str, str]) -> None:
    network = connected(bluesky_devenv, sessions, "brand")
    key = _key()
    ref = network.publish(
        OutgoingPost("1/3", thread=(ThreadPart("2/3"), ThreadPart("3/3"))), idempotency_key=key
    )
    client = raw_client(bluesky_devenv, sessions, "brand")
    last = ref.thread[-1].post_id.rsplit("/", 1)[1]
    record = client.com.atproto.repo.get_record(
        models.ComAtprotoRepoGetRecord.Params(
            repo=network.account.account_id, collection="app.bsky.feed.post", rkey=last
        )
    ).value
    assert record.reply.root.uri == ref.post_id
    assert record.reply.parent.uri == ref.thread[0].post_id
    assert ref.thread[-1].post_id.endswith(record_key(key, 2))


def test_cut_thread_is_completed_by_publishing_again(
    bluesky_devenv: DevEnv, sessions: dict[str, str]
) -> None:
    transport = LossyTransport()
    network = BlueskyNetwork(transport=transport)
    network.connect(creds(bluesky_devenv, sessions, "brand"))
    key = _key()
    post = OutgoingPost("A", thread=(ThreadPart("B"),))
    network.publish(OutgoingPost("A"), idempotency_key=key)  # part 0 only, as if cut
    partial_ref = network.reconcile(key, post=post)
    assert partial_ref is not None and partial_ref.thread == ()
    full = network.publish(post, idempotency_key=key)
    assert full.post_id == partial_ref.post_id and len(full.thread) == 1


def test_mentions_replies_and_quotes_come_in(
    bluesky_devenv: DevEnv, sessions: dict[str, str]
) -> None:
    brand = connected(bluesky_devenv, sessions, "brand")
    fan = connected(bluesky_devenv, sessions, "fan")
    start = brand.fetch_inbound(None)
    ref = brand.publish(OutgoingPost("Notre nouveauté"), idempotency_key=_key())
    indexed(brand, ref)
    tag = uuid.uuid4().hex[:8]
    fan.publish(OutgoingPost(f"Bravo @brand.test {tag}"), idempotency_key=_key())
    fan.reply(ref.post_id, f"Super {tag}", idempotency_key=_key())
    client = raw_client(bluesky_devenv, sessions, "fan")
    strong = models.ComAtprotoRepoStrongRef.Main(uri=ref.post_id, cid=ref.extra["cid"])
    client.send_post(f"Regardez {tag}", embed=models.AppBskyEmbedRecord.Main(record=strong))

    def all_three() -> dict[InboundKind, Any] | None:
        batch = brand.fetch_inbound(start.next_cursor)
        kinds = {item.kind: item for item in batch.items if tag in item.text}
        return kinds if len(kinds) == 3 else None

    kinds = eventually(all_three, timeout=40)
    assert kinds[InboundKind.COMMENT].in_reply_to == ref.post_id
    assert kinds[InboundKind.COMMENT].thread_id == ref.post_id
    assert kinds[InboundKind.QUOTE].in_reply_to == ref.post_id
    assert kinds[InboundKind.MENTION].author.handle == "fan.test"
    for item in kinds.values():
        assert item.author.id == bluesky_devenv.account("fan")["did"]
        assert item.created_at.tzinfo is not None

    # The cursor moves on: nothing older comes back.
    latest = brand.fetch_inbound(start.next_cursor)
    later = brand.fetch_inbound(latest.next_cursor)
    seen = {item.message_id for item in later.items}
    assert not (seen - {item.message_id for item in latest.items})


def test_metrics_count_likes_reposts_replies_and_quotes(
    bluesky_devenv: DevEnv, sessions: dict[str, str]
) -> None:
    brand = connected(bluesky_devenv, sessions, "brand")
    ref = brand.publish(OutgoingPost("À liker"), idempotency_key=_key())
    indexed(brand, ref)
    fan = raw_client(bluesky_devenv, sessions, "fan")
    fan.like(ref.post_id, ref.extra["cid"])
    fan.repost(ref.post_id, ref.extra["cid"])
    strong = models.ComAtprotoRepoStrongRef.Main(uri=ref.post_id, cid=ref.extra["cid"])
    fan.send_post("citation", embed=models.AppBskyEmbedRecord.Main(record=strong))
    fan.send_post("réponse", reply_to=models.AppBskyFeedPost.ReplyRef(parent=strong, root=strong))

    def counted() -> Any:
        snap = brand.metrics([ref])[0]
        return (
            snap if (snap.likes, snap.reposts, snap.quotes, snap.replies) == (1, 1, 1, 1) else None
        )

    snap = eventually(counted, timeout=40)
    assert snap.views is None


def test_account_metrics_count_a_new_follower(
    bluesky_devenv: DevEnv, sessions: dict[str, str]
) -> None:
    """The App View of the dev-env counts the follows: the brand's followers go up by one."""
    brand = connected(bluesky_devenv, sessions, "brand")
    since = datetime.now(UTC)
    before = brand.account_metrics(since).followers
    assert before is not None and brand.account_metrics(since).profile_visits is None
    follower = raw_client(bluesky_devenv, sessions, "customer")
    follow = follower.follow(brand.account.account_id)

    def counted() -> int | None:
        figures = brand.account_metrics(since)
        return figures.followers if figures.followers == before + 1 else None

    try:
        assert eventually(counted, timeout=40) == before + 1
    finally:
        follower.unfollow(follow.uri)


def test_private_reply_is_unsupported(bluesky_devenv: DevEnv, sessions: dict[str, str]) -> None:
    brand = connected(bluesky_devenv, sessions, "brand")
    with pytest.raises(Unsupported):
        brand.reply("at://x/app.bsky.feed.post/y", "psst", idempotency_key=_key(), private=True)


def test_rate_limit_headers_give_reset_at(bluesky_devenv: DevEnv) -> None:
    """createSession allows 30 tries per 5 minutes per account: the 31st is refused."""
    raised: RateLimited | None = None
    for _ in range(40):
        try:
            BlueskyNetwork().connect(
                Credentials(
                    {
                        "pds_url": bluesky_devenv.pds_url,
                        "handle": "nobody-here.test",
                        "app_password": "bad",
                    }
                )
            )
        except RateLimited as error:
            raised = error
            break
        except NetworkError:
            continue
    assert raised is not None, "the PDS never rate-limited createSession"
    assert raised.reset_at is not None and raised.reset_at.tzinfo is not None
    assert raised.retryable


def test_unreachable_address_is_a_clear_transient_error() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(Transient) as caught:
        BlueskyNetwork(timeout=2).connect(
            Credentials(
                {"pds_url": f"http://127.0.0.1:{port}", "handle": "a.test", "app_password": "x"}
            )
        )
    assert "address" in caught.value.message


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", b"<html><body>Welcome to nginx!</body></html>"),
        ("application/json", b"{not json"),
    ],
)
def test_an_address_answering_html_or_bad_json_is_a_typed_error(
    content_type: str, body: bytes
) -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(NetworkError) as caught:
            BlueskyNetwork(timeout=5).connect(
                Credentials(
                    {
                        "pds_url": f"http://127.0.0.1:{server.server_address[1]}",
                        "handle": "a.test",
                        "app_password": "secret-app-password",
                    }
                )
            )
        assert not isinstance(caught.value, OutcomeUnknown)
        assert "secret-app-password" not in str(caught.value)
    finally:
        server.shutdown()
        server.server_close()


def _tampered(session: str) -> str:
    handle, did, access, refresh, pds = session.split(":::")
    flip = {"A": "B", "B": "A"}

    def spoil(jwt: str) -> str:
        head, _, signature = jwt.rpartition(".")
        return f"{head}.{''.join(flip.get(c, 'A') for c in signature[:6])}{signature[6:]}"

    return ":::".join([handle, did, spoil(access), spoil(refresh), pds])


def test_a_refused_session_falls_back_to_the_app_password(
    bluesky_devenv: DevEnv, sessions: dict[str, str]
) -> None:
    changes: list[Credentials] = []
    stale = creds(bluesky_devenv, sessions, "customer").replace(
        session=_tampered(sessions["customer"])
    )
    network = BlueskyNetwork(on_credentials_change=changes.append)
    assert network.connect(stale).handle == "customer.test"
    assert changes[-1].get("session") != stale.get("session")
    network.publish(OutgoingPost("de nouveau connecté"), idempotency_key=_key())

    alone = Credentials({"pds_url": bluesky_devenv.pds_url, "session": stale.get("session")})
    with pytest.raises(AuthExpired):
        BlueskyNetwork().connect(alone)


def test_rate_limit_headers_are_honoured_before_the_429(bluesky_devenv: DevEnv) -> None:
    """After the PDS says no attempt remains, the next one is refused here, unsent."""
    network = BlueskyNetwork()
    credentials = Credentials(
        {"pds_url": bluesky_devenv.pds_url, "handle": "budget-probe.test", "app_password": "bad"}
    )
    refused: RateLimited | None = None
    attempts = 0
    for attempts in range(1, 41):  # noqa: B007 - the count is checked below
        try:
            network.connect(credentials)
        except RateLimited as error:
            refused = error
            break
        except NetworkError:
            continue
    assert refused is not None
    assert refused.code == "budget", "the 429 came first: RateLimit-Remaining was not read"
    assert attempts == 31  # 30 allowed per 5 minutes, the 31st never left
    assert refused.reset_at is not None and refused.reset_at > datetime.now(UTC)


# -- resume: the worker binds without a call ----------------------------------------------------


class CountingTransport(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []
        self.fail_path: str | None = None
        self.fail_after = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.rsplit("/", 1)[-1]
        if path == self.fail_path:
            if self.fail_after <= 0:
                self.fail_path = None
                raise httpx.ConnectError("refused before sending", request=request)
            self.fail_after -= 1
        self.paths.append(path)
        return super().handle_request(request)


def test_resume_binds_from_the_stored_session_without_a_call(
    bluesky_devenv: DevEnv, sessions: dict[str, str]
) -> None:
    account = connected(bluesky_devenv, sessions, "brand").account
    transport = CountingTransport()
    network = BlueskyNetwork(transport=transport)
    network.resume(creds(bluesky_devenv, sessions, "brand"), account)
    assert transport.paths == []
    ref = network.publish(OutgoingPost("Repris sans appel"), idempotency_key=_key())
    assert ref.post_id.startswith(f"at://{account.account_id}/")
    assert "com.atproto.server.getSession" not in transport.paths
    assert "com.atproto.server.createSession" not in transport.paths


def test_a_resumed_session_the_server_refuses_signs_in_again_once(
    bluesky_devenv: DevEnv, sessions: dict[str, str]
) -> None:
    account = connected(bluesky_devenv, sessions, "fan").account
    changes: list[Credentials] = []
    transport = CountingTransport()
    network = BlueskyNetwork(transport=transport, on_credentials_change=changes.append)
    stale = creds(bluesky_devenv, sessions, "fan").replace(session=_tampered(sessions["fan"]))
    network.resume(stale, account)
    network.publish(OutgoingPost("Session renouvelée"), idempotency_key=_key())
    assert transport.paths.count("com.atproto.server.createSession") == 1
    assert changes and changes[-1].get("session") != stale.get("session")


def test_a_resumed_session_with_a_revoked_app_password_is_auth_expired(
    bluesky_devenv: DevEnv, sessions: dict[str, str]
) -> None:
    account = connected(bluesky_devenv, sessions, "fan").account
    stale = creds(bluesky_devenv, sessions, "fan").replace(
        session=_tampered(sessions["fan"]), app_password="revoked-pass-word"
    )
    network = BlueskyNetwork()
    network.resume(stale, account)
    with pytest.raises(AuthExpired):
        network.publish(OutgoingPost("Refusé"), idempotency_key=_key())


def test_a_failure_after_a_part_was_written_is_outcome_unknown(
    bluesky_devenv: DevEnv, sessions: dict[str, str]
) -> None:
    """Part 1 is written; reading before part 2 fails before sending: still not 'nothing'."""
    transport = CountingTransport()
    network = BlueskyNetwork(transport=transport)
    network.connect(creds(bluesky_devenv, sessions, "brand"))
    key = _key()
    post = OutgoingPost("Premier", thread=(ThreadPart("Second"),))
    transport.fail_path = "com.atproto.repo.getRecord"
    transport.fail_after = 1  # the check before part 1 passes, the one before part 2 fails
    with pytest.raises(OutcomeUnknown) as caught:
        network.publish(post, idempotency_key=key)
    assert "1 part" in caught.value.message
    found = network.reconcile(key, post=post, since=datetime.now(UTC))
    assert found is not None and found.thread == ()
    full = network.publish(post, idempotency_key=key)
    assert full.post_id == found.post_id and len(full.thread) == 1
    assert transport.paths.count("com.atproto.repo.putRecord") == 2


def test_reconcile_does_not_take_a_post_another_publication_recorded(
    bluesky_devenv: DevEnv, sessions: dict[str, str]
) -> None:
    from portevoix.networks.errors import Ambiguous

    network = connected(bluesky_devenv, sessions, "brand")
    key = _key()
    post = OutgoingPost("Déjà à quelqu'un")
    ref = network.publish(post, idempotency_key=key)
    assert network.reconcile(key, post=post, since=datetime.now(UTC)) is not None
    with pytest.raises(Ambiguous) as caught:
        network.reconcile(key, post=post, exclude=frozenset({ref.post_id}))
    assert caught.value.candidates[0].post_id == ref.post_id


def test_the_address_guard_refuses_the_loopback_server_in_production(
    bluesky_devenv: DevEnv,
) -> None:
    from portevoix.networks.http import AddressGuard

    account = bluesky_devenv.account("brand")
    credentials = Credentials(
        {
            "pds_url": bluesky_devenv.pds_url,
            "handle": account["handle"],
            "app_password": account["app_password"],
        }
    )
    with pytest.raises(Transient) as caught:
        BlueskyNetwork(guard=AddressGuard(allow_private=False)).connect(credentials)
    closed = Credentials({**credentials.as_dict(), "pds_url": "http://127.0.0.1:9"})
    with pytest.raises(Transient) as closed_port:
        BlueskyNetwork(guard=AddressGuard(allow_private=True)).connect(closed)
    assert (caught.value.message, caught.value.code) == (
        closed_port.value.message,
        closed_port.value.code,
    )
