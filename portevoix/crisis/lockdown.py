"""Lockdown (issue 12 §5): take access away fast, and know how to take a hijacked account back.

In one place, from the incident: deactivate a member (``core.actions.deactivate_member``:
their sessions end), end a member's sessions without deactivating them, rotate a sandbox
channel's token or send the others to their reconnect form, and disconnect a channel
(``channels.actions.disconnect_channel``). Each is audited and noted on the timeline.

Each channel records its **credential custody** (:class:`ChannelCustody`): who holds its
login on the network itself, its recovery e-mail or phone and who holds its second factor;
the recovery address and the notes are encrypted at rest (``core.crypto``, MultiFernet like
the channels' credentials) and shown only to those who manage channels. The lockdown page
shows each network's account-recovery steps beside it (:data:`RECOVERY`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from portevoix.channels.models import Channel
from portevoix.core import audit
from portevoix.core.actions import ActionRefused
from portevoix.core.crypto import SecretUnreadable, decrypt_text, encrypt_text
from portevoix.core.models import Member
from portevoix.core.permissions import can, require
from portevoix.core.sentences import Sentence

from .models import ChannelCustody, Incident, TimelineEntry, TimelineKind

MAX_RECOVERY = 200
MAX_NOTES = 2000


# --- each network's recovery steps ----------------------------------------------------------


@dataclass(frozen=True)
class Recovery:
    network: str
    steps: tuple[Any, ...]
    #: (label, url) of the network's own help pages.
    links: tuple[tuple[Any, str], ...]


_META_STEPS = (
    gettext_lazy(
        "If you can still log in: change the password, turn on two-factor authentication and "
        "log out the sessions you do not know (Settings → Accounts Centre → Password and "
        "security → Where you're logged in)."
    ),
    gettext_lazy(
        "If you cannot: open the network's hacked-account page from a device that logged in "
        "before, and have the recovery e-mail or phone below at hand; the network sends a "
        "security code there, or asks for a video selfie or an ID."
    ),
    gettext_lazy(
        "Check in Meta Business Suite (Business settings → People and Pages) who has access "
        "to the Page or the Instagram account, and remove anyone you do not know."
    ),
    gettext_lazy(
        "Check that the recovery e-mail and phone are still yours; remove the apps and "
        "partners you did not add."
    ),
)

RECOVERY: dict[str, Recovery] = {
    "facebook": Recovery(
        "facebook",
        _META_STEPS,
        (
            (gettext_lazy("Facebook: secure a hacked account"), "https://www.facebook.com/hacked"),
            (
                gettext_lazy("Facebook help: hacked and fake accounts"),
                "https://www.facebook.com/help/hacked",
            ),
        ),
    ),
    "instagram": Recovery(
        "instagram",
        _META_STEPS,
        (
            (gettext_lazy("Instagram: my account was hacked"), "https://www.instagram.com/hacked/"),
            (gettext_lazy("Facebook: secure a hacked account"), "https://www.facebook.com/hacked"),
        ),
    ),
    "linkedin": Recovery(
        "linkedin",
        (
            gettext_lazy(
                "The Page is held by its admins' personal LinkedIn accounts: the admin whose "
                "account was taken resets its password (Forgot password, to the recovery "
                "e-mail below) and turns on two-step verification."
            ),
            gettext_lazy(
                "Another super admin of the Page removes the hijacked admin at once (Page → "
                "Admin tools → Manage admins)."
            ),
            gettext_lazy(
                "If the e-mail was changed too, report the hacked account to LinkedIn with the "
                "form below; LinkedIn checks the identity of the person."
            ),
        ),
        (
            (
                gettext_lazy("LinkedIn: report a hacked account"),
                "https://www.linkedin.com/help/linkedin/ask/TS-RHA",
            ),
            (
                gettext_lazy("LinkedIn: reset your password"),
                "https://www.linkedin.com/checkpoint/rp/request-password-reset",
            ),
        ),
    ),
    "x": Recovery(
        "x",
        (
            gettext_lazy(
                "If you can log in: change the password, revoke the connected apps you do not "
                "know (Settings → Security and account access → Apps and sessions) and log "
                "out the other sessions."
            ),
            gettext_lazy(
                "If you cannot: request a password reset to the recovery e-mail or phone "
                "below; if they were changed, fill in X's hacked-account form."
            ),
            gettext_lazy("Turn on two-factor authentication again and delete what was posted."),
        ),
        (
            (
                gettext_lazy("X help: my account was hacked"),
                "https://help.x.com/en/safety-and-security/x-account-hacked",
            ),
            (gettext_lazy("X: hacked account form"), "https://help.x.com/forms/hacked"),
        ),
    ),
    "youtube": Recovery(
        "youtube",
        (
            gettext_lazy(
                "The channel belongs to a Google account: recover that account first (Google "
                "account recovery, with the recovery e-mail or phone below)."
            ),
            gettext_lazy(
                "Then follow YouTube's steps for a hijacked channel: it can restore the "
                "channel and undo the changes made to it."
            ),
            gettext_lazy(
                "Check the channel's permissions (YouTube Studio → Settings → Permissions) "
                "and remove anyone you do not know."
            ),
        ),
        (
            (
                gettext_lazy("YouTube help: recover a hijacked channel"),
                "https://support.google.com/youtube/answer/76187",
            ),
            (
                gettext_lazy("Google account recovery"),
                "https://accounts.google.com/signin/recovery",
            ),
        ),
    ),
    "tiktok": Recovery(
        "tiktok",
        (
            gettext_lazy(
                "If you can log in: change the password, and remove the devices you do not "
                "know (Settings and privacy → Security → Your devices)."
            ),
            gettext_lazy(
                "If you cannot: reset the password with the recovery e-mail or phone below, "
                "else report the account from the app (Log in → Need help? / Report a "
                "problem) and answer TikTok's checks."
            ),
            gettext_lazy("Turn on 2-step verification again."),
        ),
        (
            (
                gettext_lazy("TikTok help: my account was hacked"),
                "https://support.tiktok.com/en/log-in-troubleshoot/log-in/my-account-has-been-hacked",
            ),
        ),
    ),
    "bluesky": Recovery(
        "bluesky",
        (
            gettext_lazy(
                "Reset the password (Forgot password): the code goes to the account's e-mail "
                "(the recovery address below). Every session ends when the password changes."
            ),
            gettext_lazy(
                "Delete the app passwords you do not know (Settings → Privacy and security → "
                "App passwords) — Porte-voix's included, then reconnect the channel with a new "
                "one."
            ),
            gettext_lazy(
                "On a self-hosted server (PDS), its operator can reset the account; else "
                "write to Bluesky's support."
            ),
        ),
        (
            (gettext_lazy("Bluesky: support"), "https://bsky.social/about/support"),
            (gettext_lazy("Bluesky: app passwords"), "https://bsky.app/settings/app-passwords"),
        ),
    ),
    "mastodon": Recovery(
        "mastodon",
        (
            gettext_lazy(
                "Reset the password on the account's own server (link below): the link goes "
                "to the account's e-mail (the recovery address below)."
            ),
            gettext_lazy(
                "Revoke the authorised applications you do not know (Preferences → Account → "
                "Authorised apps) and end the other sessions (Preferences → Account → "
                "Sessions)."
            ),
            gettext_lazy(
                "If the e-mail was changed, write to the server's moderators (its About "
                "page): only they can give the account back."
            ),
        ),
        ((gettext_lazy("Mastodon user guide"), "https://docs.joinmastodon.org/user/signup/"),),
    ),
}


#: For a network with no steps of its own here (a channel entered by hand: Snapchat,
#: Pinterest…): what holds on every network, in order.
GENERAL = Recovery(
    "",
    (
        gettext_lazy(
            "If someone in the team is still logged in: change the password at once, log out "
            "every other session and turn on two-factor authentication."
        ),
        gettext_lazy(
            'If nobody is: use the network\'s "forgot password" or "hacked account" page '
            "with the recovery e-mail or phone recorded below, from a device that logged in "
            "before."
        ),
        gettext_lazy(
            "If the recovery e-mail or phone was changed too: contact the network's support "
            "as the company, with proof that the account is yours (its name, the invoices of "
            "its ads, the company's registration)."
        ),
        gettext_lazy(
            "Once it is back: check the recovery e-mail and phone, remove the apps and people "
            "you did not add, and reconnect the channel here."
        ),
    ),
    (),
)


def recovery_for(channel: Channel) -> dict[str, Any] | None:
    """The network's recovery steps and links (Mastodon's point at the channel's server); the
    general steps for a network without its own here (the sandbox needs none)."""
    if channel.network == "sandbox":
        return None
    found = RECOVERY.get(channel.network)
    if found is None:
        links = [(_("The account's page"), channel.account_url)] if channel.account_url else []
        return {"steps": [str(s) for s in GENERAL.steps], "links": links}
    links = [(str(label), url) for label, url in found.links]
    if channel.network == "mastodon" and channel.account_url:
        host = urlparse(channel.account_url).netloc
        if host:
            links = [
                (
                    _("Reset the password on %(server)s") % {"server": host},
                    f"https://{host}/auth/password/new",
                ),
                (_("%(server)s: its moderators") % {"server": host}, f"https://{host}/about"),
                *links,
            ]
    return {"steps": [str(s) for s in found.steps], "links": links}


# --- credential custody ---------------------------------------------------------------------


def _read(token: str) -> str:
    if not token:
        return ""
    try:
        return decrypt_text(token, what="this channel's recovery data")
    except SecretUnreadable:
        return _("(unreadable: encrypted with a key that is no longer configured)")


def custody_of(channel: Channel, member: Member) -> dict[str, Any] | None:
    """The channel's custody as ``member`` may read it: the sensitive parts only for those
    who manage channels (None: nothing recorded)."""
    row = (
        ChannelCustody.objects.filter(channel=channel)
        .select_related("login_holder__user", "second_factor_holder__user", "updated_by__user")
        .first()
    )
    if row is None:
        return None
    full = can(member, "channel.manage")
    return {
        "row": row,
        "login_holder": row.login_holder.user.display_name
        if row.login_holder
        else row.login_holder_other,
        "second_factor_holder": (
            row.second_factor_holder.user.display_name if row.second_factor_holder else ""
        ),
        "second_factor_method": row.second_factor_method,
        "recovery": _read(row.recovery_encrypted) if full else "",
        "notes": _read(row.notes_encrypted) if full else "",
        "full": full,
        "updated_at": row.updated_at,
        "updated_by": row.updated_by.user.display_name if row.updated_by else "",
    }


def _holder(channel: Channel, member: Member | None, field: str) -> Member | None:
    if member is None:
        return None
    if member.workspace_id != channel.workspace_id:
        raise ActionRefused(_("Choose a member of this workspace."), field=field)
    return member


@transaction.atomic
def save_custody(
    channel: Channel,
    *,
    by: Member,
    login_holder: Member | None = None,
    login_holder_other: str = "",
    recovery: str = "",
    second_factor_holder: Member | None = None,
    second_factor_method: str = "",
    notes: str = "",
) -> ChannelCustody:
    """Record who holds the channel's login, its recovery address and its second factor."""
    require(by, "channel.manage")
    if by.workspace_id != channel.workspace_id:
        raise Http404("not found")
    if channel.workspace.archived_at is not None:
        raise ActionRefused(_("This workspace is archived."), code="archived")
    login_holder = _holder(channel, login_holder, "login_holder")
    second_factor_holder = _holder(channel, second_factor_holder, "second_factor_holder")
    login_holder_other = login_holder_other.strip()
    recovery = recovery.strip()
    notes = notes.strip()
    second_factor_method = second_factor_method.strip()
    if len(login_holder_other) > 200:
        raise ActionRefused(_("At most 200 characters."), field="login_holder_other")
    if login_holder is not None and login_holder_other:
        # One holder: saying both kept the member and silently dropped the name written.
        raise ActionRefused(
            _("Choose a member or name someone outside the team, not both."),
            field="login_holder_other",
        )
    if len(recovery) > MAX_RECOVERY:
        raise ActionRefused(_("At most 200 characters."), field="recovery")
    if len(second_factor_method) > 120:
        raise ActionRefused(_("At most 120 characters."), field="second_factor_method")
    if len(notes) > MAX_NOTES:
        raise ActionRefused(_("At most 2,000 characters."), field="notes")
    if recovery and "@" not in recovery and sum(ch.isdigit() for ch in recovery) < 6:
        raise ActionRefused(
            _("Give an e-mail address or a phone number (with its country code)."),
            field="recovery",
        )
    row, created = ChannelCustody.objects.select_for_update().get_or_create(channel=channel)
    before = {
        "login_holder": str(row.login_holder.user) if row.login_holder else row.login_holder_other,
        "second_factor_holder": str(row.second_factor_holder.user)
        if row.second_factor_holder
        else "",
        "second_factor_method": row.second_factor_method,
        "recovery_set": bool(row.recovery_encrypted),
    }
    row.login_holder = login_holder
    row.login_holder_other = "" if login_holder else login_holder_other
    row.recovery_encrypted = encrypt_text(recovery) if recovery else ""
    row.second_factor_holder = second_factor_holder
    row.second_factor_method = second_factor_method
    row.notes_encrypted = encrypt_text(notes) if notes else ""
    row.updated_by = by
    row.updated_at = timezone.now()
    row.save()
    audit.record(
        "channel.custody",
        workspace=channel.workspace,
        actor=by.user,
        obj=channel,
        # The recovery address and notes are secrets: the log says they changed, not what.
        before=None if created else before,
        after={
            "login_holder": str(login_holder.user) if login_holder else row.login_holder_other,
            "second_factor_holder": str(second_factor_holder.user) if second_factor_holder else "",
            "second_factor_method": second_factor_method,
            "recovery_set": bool(recovery),
        },
    )
    return row


# --- the lockdown actions -------------------------------------------------------------------


def _lock_open(incident: Incident, by: Member) -> Incident:
    if by.workspace_id != incident.workspace_id:
        raise Http404("not found")
    require(by, "crisis.view")
    locked: Incident = (
        Incident.objects.select_for_update().select_related("workspace").get(pk=incident.pk)
    )
    if locked.closed_at is not None:
        raise ActionRefused(_("This incident is closed."))
    return locked


def _note(incident: Incident, by: Member, text: Sentence) -> None:
    """A lockdown step on the timeline, stored as a sentence: read in each reader's language
    (the incident's page, the report, the API), not frozen in the workspace's."""
    TimelineEntry.objects.create(
        incident=incident,
        kind=TimelineKind.LOCKDOWN,
        detail=text.dumps(),
        actor=str(by.user.display_name)[:200],
    )


def _target(incident: Incident, member: Member) -> Member:
    if member.workspace_id != incident.workspace_id:
        raise Http404("not found")
    return member


@transaction.atomic
def deactivate(incident: Incident, *, by: Member, member: Member) -> Member:
    """Deactivate a member from the lockdown (core's action: their sessions end)."""
    from portevoix.core.actions import deactivate_member

    incident = _lock_open(incident, by)
    member = _target(incident, member)
    if member.pk == by.pk:
        raise ActionRefused(_("You cannot lock yourself out."))
    if not member.is_active:
        raise ActionRefused(_("This member is already deactivated."))
    deactivate_member(member, by=by)
    _note(
        incident,
        by,
        Sentence(
            gettext_noop("%(name)s deactivated; their sessions ended"),
            {"name": str(member.user.display_name)},
        ),
    )
    return member


@transaction.atomic
def end_member_sessions(incident: Incident, *, by: Member, member: Member) -> Member:
    """Log a member out everywhere (a stolen laptop) without deactivating them."""
    from portevoix.core.actions import end_sessions

    incident = _lock_open(incident, by)
    require(by, "member.deactivate")
    member = _target(incident, member)
    user = member.user
    audit.record(
        "member.end_sessions",
        workspace=incident.workspace,
        actor=by.user,
        obj=member,
        after={"incident": incident.pk},
    )
    transaction.on_commit(lambda: end_sessions(user))
    _note(
        incident,
        by,
        Sentence(gettext_noop("%(name)s's sessions ended"), {"name": str(user.display_name)}),
    )
    return member


def _channel(incident: Incident, channel: Channel) -> Channel:
    if channel.workspace_id != incident.workspace_id:
        raise Http404("not found")
    return channel


@transaction.atomic
def rotate(incident: Incident, *, by: Member, channel: Channel) -> Channel:
    """New credentials for a channel. The sandbox issues a new token itself; for a real
    network the new credentials come from the network (the channel's reconnect form), so
    this refuses and says where to go."""
    from portevoix.channels.actions import reconnect_channel

    incident = _lock_open(incident, by)
    require(by, "channel.manage")
    channel = _channel(incident, channel)
    if not channel.is_sandbox:
        raise ActionRefused(
            _(
                "%(channel)s: change the password on the network first, then reconnect the "
                "channel with the new credentials on its page."
            )
            % {"channel": channel.name},
            code="on_the_network",
        )
    from portevoix.sandbox import service
    from portevoix.sandbox.models import SandboxAccount

    account = SandboxAccount.objects.filter(handle=channel.handle).first()
    if account is None:
        raise ActionRefused(_("This sandbox account no longer exists."))
    service.rotate_token(account)
    reconnect_channel(channel, by=by, credentials=service.credentials_for(account))
    _note(
        incident,
        by,
        Sentence(gettext_noop("%(channel)s: credentials rotated"), {"channel": channel.name}),
    )
    return channel


@transaction.atomic
def disconnect(incident: Incident, *, by: Member, channel: Channel) -> Channel:
    """Forget a channel's credentials at once (channels' action; its history stays)."""
    from portevoix.channels.actions import disconnect_channel

    incident = _lock_open(incident, by)
    require(by, "channel.manage")
    channel = _channel(incident, channel)
    disconnect_channel(channel, by=by)
    _note(
        incident,
        by,
        Sentence(gettext_noop("%(channel)s disconnected"), {"channel": channel.name}),
    )
    return channel
