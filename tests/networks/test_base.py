"""The interface itself: data classes, errors, registry, compose-time validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import ClassVar

import pytest

from portevoix.networks import registry
from portevoix.networks.base import Network
from portevoix.networks.errors import (
    AuthExpired,
    InvalidInput,
    NetworkError,
    NotFound,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Transient,
    Unsupported,
)
from portevoix.networks.types import (
    AccountInfo,
    Author,
    AuthorizationRequest,
    Capability,
    Credentials,
    InboundItem,
    InboundKind,
    Limits,
    MediaItem,
    MetricSnapshot,
    OutgoingPost,
    PublishedRef,
    ThreadPart,
    Visibility,
    jsonable,
)


class TinyNetwork(Network):
    """A network that only says hello: what a module gets for free from the base."""

    name: ClassVar[str] = "tiny-test"
    label: ClassVar[str] = "Tiny"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.TEXT, Capability.IMAGES})
    limits: ClassVar[Limits] = Limits(max_text_length=10, max_images=1, max_image_bytes=100)

    def connect(self, credentials: Credentials) -> AccountInfo:
        if credentials.get("token") != "ok":
            raise AuthExpired("refused", network=self.name)
        return self._bind(credentials, AccountInfo(self.name, "1", "tiny"))

    def publish(self, post: OutgoingPost, *, idempotency_key: str) -> PublishedRef:
        self.ensure_valid(post)
        return PublishedRef(self.name, idempotency_key)

    def reconcile(
        self, idempotency_key: str, *, post: OutgoingPost | None = None, since=None, exclude=()
    ) -> PublishedRef | None:
        return None


def test_credentials_hide_their_values() -> None:
    creds = Credentials({"access_token": "s3cr3t", "instance_url": "https://x.example"})
    assert "s3cr3t" not in repr(creds) and "s3cr3t" not in str(creds) and "s3cr3t" not in f"{creds}"
    assert "access_token" in repr(creds)
    assert creds.get("access_token") == "s3cr3t"
    assert creds.replace(access_token=None).as_dict() == {"instance_url": "https://x.example"}
    with pytest.raises(TypeError):
        creds.values["x"] = "y"  # type: ignore[index]
    with pytest.raises(TypeError):
        jsonable(creds)
    request = AuthorizationRequest(url="u", state="s", redirect_uri="r", client_secret="cs-secret")
    assert "cs-secret" not in repr(request)


def test_datetimes_must_be_aware_and_become_utc() -> None:
    with pytest.raises(ValueError, match="naive"):
        InboundItem("n", "1", InboundKind.DM, Author("a", "a"), "t", datetime(2026, 1, 1))
    paris = timezone(timedelta(hours=1))
    item = InboundItem(
        "n", "1", InboundKind.DM, Author("a", "a"), "t", datetime(2026, 1, 1, 1, tzinfo=paris)
    )
    assert item.created_at == datetime(2026, 1, 1, tzinfo=UTC) and item.created_at.tzinfo is UTC
    with pytest.raises(ValueError):
        RateLimited("slow", reset_at=datetime(2026, 1, 1))
    snap = MetricSnapshot("n", "1", datetime(2026, 1, 1, tzinfo=paris), likes=1)
    assert snap.taken_at.tzinfo is UTC


def test_error_hierarchy_tells_the_publisher_what_to_do() -> None:
    assert issubclass(InvalidInput, Permanent) and issubclass(NotFound, Permanent)
    for cls in (AuthExpired, Permanent, Transient, OutcomeUnknown, Unsupported, RateLimited):
        assert issubclass(cls, NetworkError)
    assert RateLimited("x", reset_at=None).retryable and Transient("x").retryable
    assert not OutcomeUnknown("x").retryable and not Permanent("x").retryable
    error = Permanent("Texte trop long.", network="mastodon", code="422")
    assert str(error) == "Texte trop long." and error.code == "422"


def test_registry() -> None:
    assert registry.get("bluesky").name == "bluesky"
    assert registry.get("mastodon").label == "Mastodon"
    names = [cls.name for cls in registry.all_networks()]
    assert {"bluesky", "mastodon"} <= set(names) and names == sorted(names)
    with pytest.raises(NotFound):
        registry.get("myspace")
    registry.register(TinyNetwork)
    try:
        assert registry.get("tiny-test") is TinyNetwork
        with pytest.raises(ValueError, match="already registered"):
            registry.register(type("Other", (TinyNetwork,), {}))
    finally:
        registry.unregister("tiny-test")


def test_base_validation_speaks_to_the_author() -> None:
    network = TinyNetwork()
    assert network.validate(OutgoingPost("court")) == []
    problems = network.validate(OutgoingPost("beaucoup trop long"))
    assert problems == ["the text is 18 characters long; Tiny allows 10."]
    assert network.validate(OutgoingPost("")) == ["the text is empty."]
    assert "Tiny does not take threads." in network.validate(
        OutgoingPost("a", thread=(ThreadPart("b"),))
    )
    assert "Tiny does not take content warnings." in network.validate(
        OutgoingPost("a", content_warning="cw")
    )
    assert "Tiny only publishes public posts." in network.validate(
        OutgoingPost("a", visibility=Visibility.DIRECT)
    )
    big = MediaItem(b"\0" * 101, "image/png", filename="big.png")
    assert network.validate(OutgoingPost("a", media=(big,))) == [
        "big.png is 101 bytes; Tiny takes images up to 100 bytes."
    ]
    pdf = MediaItem(b"%PDF", "application/pdf", filename="doc.pdf")
    assert network.validate(OutgoingPost("a", media=(pdf,))) == [
        "doc.pdf: application/pdf files cannot be published."
    ]
    video = MediaItem(b"\0", "video/mp4", filename="v.mp4")
    assert "Tiny does not take videos here." in network.validate(OutgoingPost("a", media=(video,)))


def test_base_refuses_what_is_not_offered() -> None:
    network = TinyNetwork()
    with pytest.raises(AuthExpired):
        network.connect(Credentials({"token": "no"}))
    with pytest.raises(AuthExpired):
        _ = network.account
    network.connect(Credentials({"token": "ok"}))
    with pytest.raises(InvalidInput):
        network.publish(OutgoingPost("x" * 11), idempotency_key="k")
    for call in (
        lambda: network.fetch_inbound(None),
        lambda: network.fetch_replies("1"),
        lambda: network.reply("1", "x", idempotency_key="k"),
        lambda: network.reply("1", "x", idempotency_key="k", private=True),
        lambda: network.metrics([]),
        lambda: network.search("x"),
        lambda: network.hide_comment("1"),
        lambda: network.delete_comment("1"),
        lambda: network.delete(PublishedRef("tiny-test", "1")),
        lambda: network.refresh_credentials(),
        lambda: TinyNetwork.begin_authorization("https://x", "https://y", state="s"),
    ):
        with pytest.raises(Unsupported):
            call()


def test_jsonable_refs() -> None:
    ref = PublishedRef(
        "bluesky",
        "at://did/app.bsky.feed.post/1",
        published_at=datetime(2026, 1, 1, tzinfo=UTC),
        thread=(PublishedRef("bluesky", "at://did/app.bsky.feed.post/2"),),
        extra={"cid": "bafy"},
    )
    data = jsonable(ref)
    assert data["post_id"] == "at://did/app.bsky.feed.post/1"
    assert data["published_at"] == "2026-01-01T00:00:00+00:00"
    assert data["thread"][0]["post_id"].endswith("/2")
    assert data["extra"] == {"cid": "bafy"}
    assert ref.all_post_ids == ("at://did/app.bsky.feed.post/1", "at://did/app.bsky.feed.post/2")
