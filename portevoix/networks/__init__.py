"""Social networks behind one interface (plain Python: no Django in this package).

See ``docs/networks.md``. In short::

    from portevoix.networks import registry
    from portevoix.networks.types import Credentials, OutgoingPost

    network = registry.get("mastodon")()
    network.connect(Credentials({"instance_url": "...", "access_token": "..."}))
    ref = network.publish(OutgoingPost("Bonjour"), idempotency_key="post-1:channel-2")
"""

from .base import Network
from .errors import (
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
from .registry import all_networks, get, register
from .types import (
    AccountInfo,
    AccountMetric,
    AccountMetrics,
    Author,
    AuthorizationRequest,
    Capability,
    Credentials,
    InboundBatch,
    InboundItem,
    InboundKind,
    Limits,
    MediaItem,
    MetricSnapshot,
    OutgoingPost,
    PublishedRef,
    ThreadPart,
    Visibility,
)

__all__ = [
    "AccountInfo",
    "AccountMetric",
    "AccountMetrics",
    "AuthExpired",
    "Author",
    "AuthorizationRequest",
    "Capability",
    "Credentials",
    "InboundBatch",
    "InboundItem",
    "InboundKind",
    "InvalidInput",
    "Limits",
    "MediaItem",
    "MetricSnapshot",
    "Network",
    "NetworkError",
    "NotFound",
    "OutcomeUnknown",
    "OutgoingPost",
    "Permanent",
    "PublishedRef",
    "RateLimited",
    "ThreadPart",
    "Transient",
    "Unsupported",
    "Visibility",
    "all_networks",
    "get",
    "register",
]
