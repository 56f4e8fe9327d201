"""The kinds of notification publishing sends (registered when the app is ready).

Every kind's body is ``publishing/notifications/publication.txt`` (or ``channel.txt``),
written from the parameters :mod:`portevoix.publishing.events` stores: the channel's name, the
post's first words, when it was due, and the network's reason (``problem``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portevoix.notifications.kinds import Delivery, Kind, register

PUBLICATION_TEMPLATE = "publishing/notifications/publication.txt"

FAILED = "publication.failed"
HELD = "publication.held"
WAITING_RECONNECT = "publication.waiting_reconnect"
NEEDS_CHECK = "publication.needs_check"
TEAM = "publication.team"
CHANNEL_RECONNECT = "channel.needs_reconnect"
MANUAL_DUE = "manual.post_due"

#: The author's kind for each state a publication can need a person in.
FOR_AUTHOR = {
    "rejected": FAILED,
    "failed": FAILED,
    "held": HELD,
    "waiting_reconnect": WAITING_RECONNECT,
    "needs_check": NEEDS_CHECK,
}


def _failed(params: Mapping[str, Any]) -> str:
    if params.get("state") == "rejected":
        return gettext("%(channel)s refused your post") % {"channel": params.get("channel", "")}
    return gettext("Your post could not be published on %(channel)s") % {
        "channel": params.get("channel", "")
    }


def _held(params: Mapping[str, Any]) -> str:
    return gettext("Your post for %(channel)s is held: it is late") % {
        "channel": params.get("channel", "")
    }


def _waiting(params: Mapping[str, Any]) -> str:
    return gettext("Your post waits for %(channel)s to be reconnected") % {
        "channel": params.get("channel", "")
    }


def _needs_check(params: Mapping[str, Any]) -> str:
    return gettext("Did your post go out on %(channel)s? Porte-voix needs you to check") % {
        "channel": params.get("channel", "")
    }


def _team(params: Mapping[str, Any]) -> str:
    values = {"channel": params.get("channel", ""), "author": params.get("author", "")}
    if params.get("state") == "needs_check":
        return gettext("A post on %(channel)s needs a check: did it go out?") % values
    if params.get("state") == "held":
        return gettext("A post on %(channel)s is held: it is late") % values
    return gettext("A post on %(channel)s was not published") % values


def _channel(params: Mapping[str, Any]) -> str:
    return gettext("%(channel)s needs to be reconnected") % {"channel": params.get("channel", "")}


def _manual_due(params: Mapping[str, Any]) -> str:
    return gettext("Time to publish by hand on %(channel)s") % {
        "channel": params.get("channel", "")
    }


KINDS = (
    Kind(
        code=MANUAL_DUE,
        label=_("A post of a manual channel you own is due"),
        help=_(
            "Porte-voix does not publish on manual channels: at the post's time, its text and "
            "media to copy, and where to say it is out."
        ),
        title=_manual_due,
        template="publishing/notifications/manual_due.txt",
        default=Delivery.BOTH,
        audience="post.view",
    ),
    Kind(
        code=FAILED,
        label=_("A post of yours was not published"),
        help=_("The network refused it, or it kept failing until it was too late."),
        title=_failed,
        template=PUBLICATION_TEMPLATE,
        default=Delivery.BOTH,
    ),
    Kind(
        code=HELD,
        label=_("A post of yours is held because it is late"),
        help=_("Later than the workspace's lateness limit: someone sends it late or cancels it."),
        title=_held,
        template=PUBLICATION_TEMPLATE,
        default=Delivery.BOTH,
    ),
    Kind(
        code=WAITING_RECONNECT,
        label=_("A post of yours waits for its channel to be reconnected"),
        help=_("The network refused the channel's access; the post goes out once it is back."),
        title=_waiting,
        template=PUBLICATION_TEMPLATE,
        default=Delivery.BOTH,
    ),
    Kind(
        code=NEEDS_CHECK,
        label=_("A post of yours may or may not have gone out"),
        help=_("Porte-voix could not tell whether the network took it: someone looks."),
        title=_needs_check,
        template=PUBLICATION_TEMPLATE,
        default=Delivery.BOTH,
    ),
    Kind(
        code=TEAM,
        label=_("Someone else's post needs a decision"),
        help=_(
            "Posts whose outcome must be checked on the network, and failed posts whose "
            "author cannot decide."
        ),
        title=_team,
        template=PUBLICATION_TEMPLATE,
        default=Delivery.APP,
        audience="post.resolve",
    ),
    Kind(
        code=CHANNEL_RECONNECT,
        label=_("A channel needs to be reconnected"),
        help=_("The network refused its access: posts wait and nothing comes in until then."),
        title=_channel,
        template="publishing/notifications/channel.txt",
        default=Delivery.BOTH,
        audience="channel.manage",
    ),
)


def register_kinds() -> None:
    for kind in KINDS:
        register(kind)
