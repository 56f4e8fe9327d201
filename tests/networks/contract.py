"""The contract every network module must pass.

Use it by subclassing ``NetworkContract`` in a test module and providing a ``contract``
fixture that returns a ``ContractSetup``::

    class TestMastodonContract(NetworkContract):
        @pytest.fixture
        def contract(self, mastodon_mock) -> ContractSetup:
            return ContractSetup(make_network=..., credentials=..., ...)

What a backend cannot do (make another account answer, lose an answer, answer 429) is left
``None`` and the tests that need it are skipped with the reason; everything else runs. The
sandbox network (database-backed) plugs in the same way.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portevoix.networks import registry
from portevoix.networks.base import Network
from portevoix.networks.errors import (
    AuthExpired,
    InvalidInput,
    NetworkError,
    OutcomeUnknown,
    RateLimited,
    Unsupported,
)
from portevoix.networks.types import (
    AccountInfo,
    AccountMetric,
    Capability,
    Credentials,
    InboundBatch,
    InboundItem,
    MediaItem,
    OutgoingPost,
    PublishedRef,
    ThreadPart,
)

# The smallest valid PNG (1x1), for image posts.
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@dataclass
class ContractSetup:
    #: Builds a fresh, unconnected instance; keyword arguments go to the constructor.
    make_network: Callable[..., Network]
    credentials: Credentials
    #: Credentials of the same shape that the network refuses.
    bad_credentials: Credentials
    #: Secret values that must never show in a log record, an exception or a repr.
    secrets: tuple[str, ...]
    #: Another account answers ``ref`` publicly with ``text``.
    add_comment: Callable[[PublishedRef, str], None] | None = None
    #: The next write reaches the network but its answer is lost (a timeout after sending).
    lose_next_answer: Callable[[Network], contextlib.AbstractContextManager[None]] | None = None
    #: The next call is refused with a rate limit.
    rate_limit_next: Callable[[Network], contextlib.AbstractContextManager[None]] | None = None
    #: Poll until the probe returns something truthy (asynchronous indexing).
    eventually: Callable[[Callable[[], Any]], Any] = field(default=lambda probe: probe())


def _key() -> str:
    return f"contract-{uuid.uuid4().hex}"


class NetworkContract:
    """Subclass me (as ``Test...``) and provide a ``contract`` fixture."""

    #: Media every post of a media-only network carries (Instagram takes no text alone).
    required_media: tuple[MediaItem, ...] = ()
    #: The type of the image the image test publishes (Instagram takes JPEG only).
    image_mime_type: str = "image/png"

    def post(self, text: str, **kwargs: Any) -> OutgoingPost:
        """A post of ``text``, with ``required_media`` when the network needs some."""
        if self.required_media and "media" not in kwargs:
            kwargs["media"] = self.required_media
        return OutgoingPost(text, **kwargs)

    @pytest.fixture
    def contract(self) -> ContractSetup:  # pragma: no cover - always overridden
        raise NotImplementedError

    @pytest.fixture
    def network(self, contract: ContractSetup) -> Iterator[Network]:
        network = contract.make_network()
        network.connect(contract.credentials)
        yield network
        network.close()

    # -- what the network says about itself -------------------------------------------------

    def test_declares_itself(self, network: Network) -> None:
        cls = type(network)
        assert cls.name and cls.name == cls.name.lower()
        assert registry.get(cls.name) is cls
        assert cls.label
        assert isinstance(cls.capabilities, frozenset)
        assert all(isinstance(c, Capability) for c in cls.capabilities)
        assert Capability.TEXT in cls.capabilities
        assert cls.limits.max_text_length > 0
        if Capability.IMAGES in cls.capabilities:
            assert cls.limits.max_images > 0

    def test_connect_returns_the_account(self, contract: ContractSetup) -> None:
        network = contract.make_network()
        account = network.connect(contract.credentials)
        assert isinstance(account, AccountInfo)
        assert account.network == type(network).name
        assert account.account_id and account.handle
        assert network.verify().account_id == account.account_id

    def test_refused_credentials_raise_auth_expired(self, contract: ContractSetup) -> None:
        with pytest.raises(AuthExpired) as caught:
            contract.make_network().connect(contract.bad_credentials)
        assert caught.value.message

    def test_calls_before_connect_raise_auth_expired(self, contract: ContractSetup) -> None:
        with pytest.raises(AuthExpired):
            contract.make_network().publish(self.post("hello"), idempotency_key=_key())

    # -- publishing ---------------------------------------------------------------------------

    def test_publish_text(self, network: Network) -> None:
        ref = network.publish(self.post("Bonjour depuis Porte-voix"), idempotency_key=_key())
        assert isinstance(ref, PublishedRef)
        assert ref.network == network.name
        assert ref.post_id
        if ref.published_at is not None:
            assert ref.published_at.tzinfo is not None

    def test_same_key_never_posts_twice(self, network: Network) -> None:
        key = _key()
        post = self.post("Une seule fois, même si on réessaie")
        first = network.publish(post, idempotency_key=key)
        second = network.publish(post, idempotency_key=key)
        assert second.post_id == first.post_id

    def test_reconcile_finds_the_post_and_nothing_else(self, network: Network) -> None:
        key = _key()
        post = self.post("À retrouver après un doute")
        ref = network.publish(post, idempotency_key=key)
        found = network.reconcile(key, post=post)
        assert found is not None and found.post_id == ref.post_id
        # Some networks can only look a post up by its content (Mastodon after the hour):
        # what was never published is never found.
        never = self.post(f"Jamais publié {uuid.uuid4().hex}")
        assert network.reconcile(_key(), post=never) is None

    def test_too_long_text_is_refused_before_sending(self, network: Network) -> None:
        post = self.post("x" * (network.limits.max_text_length + 1))
        problems = network.validate(post)
        assert problems and all(isinstance(p, str) and p for p in problems)
        key = _key()
        with pytest.raises(InvalidInput):
            network.publish(post, idempotency_key=key)
        assert network.reconcile(key, post=post) is None

    def test_valid_post_has_no_problems(self, network: Network) -> None:
        assert network.validate(self.post("Court et simple")) == []

    def test_image_with_alt_text(self, network: Network) -> None:
        if Capability.IMAGES not in network.capabilities:
            pytest.skip("no images on this network")
        post = OutgoingPost(
            "Avec une image",
            media=(
                MediaItem(
                    PNG_1PX,
                    self.image_mime_type,
                    alt_text="Un pixel transparent",
                    filename="p.png",
                ),
            ),
        )
        assert network.validate(post) == []
        ref = network.publish(post, idempotency_key=_key())
        assert ref.post_id

    def test_image_too_large_is_refused_before_sending(self, network: Network) -> None:
        limit = network.limits.max_image_bytes
        if Capability.IMAGES not in network.capabilities or limit is None:
            pytest.skip("no image size limit")
        big = MediaItem(PNG_1PX + b"\0" * limit, "image/png", alt_text="big", filename="big.png")
        post = OutgoingPost("Trop lourd", media=(big,))
        assert any("big.png" in problem for problem in network.validate(post))
        key = _key()
        with pytest.raises(InvalidInput):
            network.publish(post, idempotency_key=key)
        assert network.reconcile(key, post=post) is None

    def test_too_many_images_is_refused(self, network: Network) -> None:
        if Capability.IMAGES not in network.capabilities:
            pytest.skip("no images on this network")
        media = tuple(
            MediaItem(PNG_1PX, "image/png", alt_text=f"{n}", filename=f"{n}.png")
            for n in range(network.limits.max_images + 1)
        )
        assert network.validate(OutgoingPost("Trop d'images", media=media))

    def test_thread(self, network: Network) -> None:
        if Capability.THREADS not in network.capabilities:
            pytest.skip("no threads on this network")
        key = _key()
        post = OutgoingPost(
            "1/3 Un fil", thread=(ThreadPart("2/3 la suite"), ThreadPart("3/3 la fin"))
        )
        ref = network.publish(post, idempotency_key=key)
        assert len(ref.thread) == 2
        assert len(set(ref.all_post_ids)) == 3
        again = network.publish(post, idempotency_key=key)
        assert again.all_post_ids == ref.all_post_ids

    def test_reply_to_a_post(self, network: Network) -> None:
        if Capability.REPLY_PUBLIC not in network.capabilities:
            pytest.skip("no public replies")
        ref = network.publish(self.post("Question ?"), idempotency_key=_key())
        answer = network.reply(ref.post_id, "Réponse.", idempotency_key=_key())
        assert answer.post_id and answer.post_id != ref.post_id

    # -- capabilities that are not there ------------------------------------------------------

    def test_missing_capabilities_raise_unsupported(self, network: Network) -> None:
        calls: dict[Capability, Callable[[], object]] = {
            Capability.REPLY_PRIVATE: lambda: network.reply(
                "0", "x", idempotency_key=_key(), private=True
            ),
            Capability.METRICS: lambda: network.metrics([]),
            Capability.ACCOUNT_METRICS: lambda: network.account_metrics(datetime.now(UTC)),
            Capability.HIDE_COMMENT: lambda: network.hide_comment("0"),
            Capability.DELETE_COMMENT: lambda: network.delete_comment("0"),
            Capability.LISTEN_SEARCH: lambda: network.search("porte-voix"),
            Capability.READ_COMMENTS: lambda: network.fetch_replies("0"),
        }
        for capability, call in calls.items():
            if capability in network.capabilities:
                continue
            with pytest.raises(Unsupported):
                call()
        if Capability.THREADS not in network.capabilities:
            post = OutgoingPost("a", thread=(ThreadPart("b"),))
            assert network.validate(post)

    # -- inbound and metrics ------------------------------------------------------------------

    def test_fetch_inbound_shape(self, network: Network) -> None:
        if not {Capability.READ_COMMENTS, Capability.READ_MENTIONS} & network.capabilities:
            pytest.skip("nothing to read")
        batch = network.fetch_inbound(None)
        assert isinstance(batch, InboundBatch)
        for item in batch.items:
            _check_item(item, network)
        again = network.fetch_inbound(batch.next_cursor)
        assert isinstance(again, InboundBatch)

    def test_a_comment_comes_in_once_per_id(
        self, contract: ContractSetup, network: Network
    ) -> None:
        if contract.add_comment is None:
            pytest.skip("this backend cannot make another account answer")
        if Capability.READ_COMMENTS not in network.capabilities:
            pytest.skip("cannot read comments")
        ref = network.publish(self.post("Des questions ?"), idempotency_key=_key())
        before = network.fetch_inbound(None)
        text = f"Oui, une question {uuid.uuid4().hex[:8]}"
        contract.add_comment(ref, text)

        def arrived() -> InboundItem | None:
            batch = network.fetch_inbound(before.next_cursor)
            return next((i for i in batch.items if text in i.text), None)

        item: InboundItem = contract.eventually(arrived)
        _check_item(item, network)
        assert item.in_reply_to == ref.post_id
        thread = network.fetch_replies(ref.post_id)
        assert [i.message_id for i in thread.items if text in i.text] == [item.message_id]

    def test_metrics(self, contract: ContractSetup, network: Network) -> None:
        if Capability.METRICS not in network.capabilities:
            pytest.skip("no metrics")
        ref = network.publish(self.post("À mesurer"), idempotency_key=_key())
        snapshots = contract.eventually(lambda: network.metrics([ref]))
        assert [s.post_id for s in snapshots] == [ref.post_id]
        snap = snapshots[0]
        assert snap.taken_at.tzinfo is not None
        assert snap.likes is not None and snap.likes >= 0

    def test_account_metrics(self, contract: ContractSetup, network: Network) -> None:
        if Capability.ACCOUNT_METRICS not in network.capabilities:
            pytest.skip("no account metrics")
        since = datetime.now(UTC) - timedelta(days=1)
        figures = network.account_metrics(since)
        assert figures.network == network.name
        assert figures.taken_at.tzinfo is not None and figures.taken_at >= since
        assert figures.since == since
        offered = network.offered_account_metrics()
        assert offered, "ACCOUNT_METRICS without a figure in account_metrics_offered"
        assert offered <= type(network).account_metrics_offered
        values = {
            AccountMetric.FOLLOWERS: figures.followers,
            AccountMetric.PROFILE_VISITS: figures.profile_visits,
        }
        for metric, value in values.items():
            if metric in offered:
                assert value is not None and value >= 0, f"{metric} is offered: it must be read"
            else:
                assert value is None, f"{metric} is not offered: it must stay None"

    def test_account_metrics_offered_only_with_the_capability(self, network: Network) -> None:
        offered = type(network).account_metrics_offered
        assert all(isinstance(m, AccountMetric) for m in offered)
        assert bool(offered) == (Capability.ACCOUNT_METRICS in network.capabilities)

    # -- failures -----------------------------------------------------------------------------

    def test_lost_answer_is_outcome_unknown_then_reconciled(self, contract: ContractSetup) -> None:
        if contract.lose_next_answer is None:
            pytest.skip("this backend cannot lose an answer")
        network = contract.make_network()
        network.connect(contract.credentials)
        key = _key()
        post = self.post("Publié, mais la réponse s'est perdue")
        with pytest.raises(OutcomeUnknown), contract.lose_next_answer(network):
            network.publish(post, idempotency_key=key)
        found = network.reconcile(key, post=post)
        assert found is not None, "the post was accepted: reconcile must find it"
        assert network.publish(post, idempotency_key=key).post_id == found.post_id

    def test_rate_limit_gives_reset_time(self, contract: ContractSetup) -> None:
        if contract.rate_limit_next is None:
            pytest.skip("this backend cannot rate-limit on demand")
        network = contract.make_network()
        network.connect(contract.credentials)
        with pytest.raises(RateLimited) as caught, contract.rate_limit_next(network):
            network.publish(self.post("Trop vite"), idempotency_key=_key())
        reset_at = caught.value.reset_at
        assert reset_at is not None and reset_at.tzinfo is not None
        assert caught.value.retryable

    def test_credentials_never_leak(
        self, contract: ContractSetup, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        texts: list[str] = []
        changes: list[Credentials] = []
        network = contract.make_network(on_credentials_change=changes.append)
        network.connect(contract.credentials)
        network.publish(self.post("Rien de secret ici"), idempotency_key=_key())
        texts += [repr(network), repr(contract.credentials), str(contract.credentials)]
        texts += [repr(c) for c in changes]
        with contextlib.suppress(NetworkError):
            contract.make_network().connect(contract.bad_credentials)
        try:
            contract.make_network().connect(contract.bad_credentials)
        except NetworkError as error:
            texts += [str(error), repr(error), error.message, error.code]
        texts += [record.getMessage() for record in caplog.records]
        texts += [str(record.args) for record in caplog.records]
        blob = "\n".join(texts)
        for secret in contract.secrets:
            assert secret and secret not in blob


def _check_item(item: InboundItem, network: Network) -> None:
    assert item.network == network.name
    assert item.message_id
    assert item.created_at.tzinfo is not None and item.created_at.utcoffset() == UTC.utcoffset(
        datetime.now(UTC)
    )
    assert item.author.id
