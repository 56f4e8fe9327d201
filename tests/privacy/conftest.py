from tests.inbox.conftest import _english, channel, conversations  # noqa: F401
