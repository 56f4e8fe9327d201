"""The probe: every page and every write, by every role, by an outsider and by anonymous, with
bad input. The pages come from the URLconf, so a new page joins by itself.

For every URL pattern of the project (``portevoix.*`` views), with a member of every role, the
admin of another workspace, and an anonymous visitor, GET and POST:

* nothing answers 500;
* anonymous is sent to the login page (unless the page is public);
* the outsider gets 404 and learns nothing of the workspace;
* a role the page refuses gets 403 on the product's error page (404 for an object its role
  cannot see at all), and its refused request writes nothing to the audit log;
* a read-only page answers POST with 405, a write-only URL answers GET with 405;
* every query parameter the page reads (recorded while it runs) is tried with bad values (a
  date past the year 9999, an id beyond 64 bits, a null byte...): 200 or 400, never 500;
* an id beyond the database's integer range in the path is a 404.

A new pattern must be declared in :data:`PAGES` (who may GET it, who may POST to it); the
probe fails, naming it, until it is. Third-party pages (allauth, the admin) without arguments
are opened too, by anonymous, a member and a staff user: never a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.functional import cached_property
from django.utils.http import urlencode

from portevoix.core import actions as core_actions
from portevoix.core.context_processors import NAVIGATION
from portevoix.core.models import AuditEntry, Member
from portevoix.core.permissions import Role, can
from tests.conftest import ALL_ROLES, Team, make_user

# --- what each page allows ------------------------------------------------------------------

PUBLIC = "public"  # anyone, anonymous included
LOGIN = "login"  # anyone logged in, in no particular workspace
STAFF = "staff"  # staff users only (the ops pages)
ANY = "any member"  # any active member of the workspace
NOT_ALLOWED = "405"  # this method is not served
INBOX = ("inbox.view_all", "inbox.view_assigned")  # whoever works in the inbox


@dataclass(frozen=True)
class Page:
    """Who may GET and who may POST: one of the constants above, an action code, or a tuple
    of action codes of which one is enough. ``hidden``: a role that may not see the object
    gets 404 (the row is outside its ``visible_to``), not 403."""

    get: str | tuple[str, ...]
    post: str | tuple[str, ...]
    owner: str | None = None  # the object is this role's own: every other member gets 404
    hidden: str | None = None


PAGES: dict[str, Page] = {
    "healthz": Page(get=PUBLIC, post=PUBLIC),
    "ops_work": Page(get=STAFF, post=STAFF),
    "home": Page(get=LOGIN, post=LOGIN),
    "set_language": Page(get=NOT_ALLOWED, post=PUBLIC),
    "profile": Page(get=LOGIN, post=LOGIN),
    "workspace_create": Page(get=LOGIN, post=LOGIN),
    "invitation_accept": Page(get=PUBLIC, post=PUBLIC),
    "workspace_home": Page(get=ANY, post=NOT_ALLOWED),
    "team": Page(get="member.view", post=NOT_ALLOWED),
    "member_detail": Page(get="member.view", post="member.change_role", hidden="member.view"),
    "member_deactivate": Page(get=NOT_ALLOWED, post="member.deactivate", hidden="member.view"),
    "member_reactivate": Page(get=NOT_ALLOWED, post="member.deactivate", hidden="member.view"),
    "invitations": Page(get="member.invite", post="member.invite"),
    "invitation_revoke": Page(get=NOT_ALLOWED, post="member.invite", hidden="member.invite"),
    "invitation_resend": Page(get=NOT_ALLOWED, post="member.invite", hidden="member.invite"),
    "roles": Page(get="member.view", post=NOT_ALLOWED),
    "departments": Page(get=ANY, post="department.manage"),
    "department_edit": Page(get="department.manage", post="department.manage"),
    "workspace_settings": Page(get=ANY, post="workspace.settings"),
    "audit_log": Page(get="audit.view", post=NOT_ALLOWED),
    "audit_export": Page(get="audit.view", post=NOT_ALLOWED),
    "channel_list": Page(get="channel.view", post=NOT_ALLOWED),
    "channel_connect_choose": Page(get="channel.manage", post=NOT_ALLOWED),
    "channel_connect": Page(get="channel.manage", post="channel.manage"),
    "channel_oauth_start": Page(get="channel.manage", post="channel.manage"),
    "channel_oauth_callback": Page(get="channel.manage", post="channel.manage"),
    "channel_detail": Page(get="channel.view", post="channel.manage", hidden="channel.view"),
    "channel_check": Page(get=NOT_ALLOWED, post="channel.manage", hidden="channel.view"),
    "channel_quick_post": Page(get="post.create", post="post.create", hidden="channel.view"),
    "inbox": Page(get=("inbox.view_all", "inbox.view_assigned"), post=NOT_ALLOWED),
    "calendar": Page(get="post.view", post=NOT_ALLOWED),
    "attention": Page(get="post.view", post=NOT_ALLOWED),
    "publication_retry": Page(get=NOT_ALLOWED, post="post.resolve", hidden="post.view"),
    "publication_send_late": Page(get=NOT_ALLOWED, post="post.resolve", hidden="post.view"),
    "publication_cancel": Page(get=NOT_ALLOWED, post="post.resolve", hidden="post.view"),
    "publication_mark_published": Page(get=NOT_ALLOWED, post="post.resolve", hidden="post.view"),
    "notifications": Page(get=ANY, post=NOT_ALLOWED),
    "notification_read_all": Page(get=NOT_ALLOWED, post=ANY),
    "notification_preferences": Page(get=ANY, post=ANY),
    # Each person's own notifications: someone else's is a 404, whatever the role.
    "notification_open": Page(get=NOT_ALLOWED, post=ANY, owner="admin"),
    "notification_read": Page(get=NOT_ALLOWED, post=ANY, owner="admin"),
    # Polled by every page; without a membership it answers 286 (htmx stops polling), no data.
    "notification_bell_poll": Page(get=PUBLIC, post=NOT_ALLOWED),
    # The admin's password change is the account's (allauth, with its reauthentication).
    "admin:password_change": Page(get=PUBLIC, post=PUBLIC),
    # One variant per module; see VARIANTS.
    "section": Page(get=ANY, post=NOT_ALLOWED),
    # Webcare: the inbox's people read it; the social team reads the rules, hours, SLA and
    # metrics; admins and managers change them.
    "care_overview": Page(get=INBOX, post="inbox.configure"),
    "care_on_duty": Page(get=INBOX, post=NOT_ALLOWED),
    "care_agent_update": Page(get=NOT_ALLOWED, post="inbox.configure"),
    "care_rules": Page(get="inbox.view_all", post="inbox.configure"),
    "care_rule_try": Page(get="inbox.view_all", post="inbox.view_all"),
    "care_rule_edit": Page(get="inbox.view_all", post="inbox.configure"),
    "care_rule_move": Page(get=NOT_ALLOWED, post="inbox.configure"),
    "care_rule_delete": Page(get=NOT_ALLOWED, post="inbox.configure"),
    "care_vip_add": Page(get=NOT_ALLOWED, post="inbox.configure"),
    "care_vip_remove": Page(get=NOT_ALLOWED, post="inbox.configure"),
    "care_calendars": Page(get="inbox.view_all", post="inbox.configure"),
    "care_calendar": Page(get="inbox.view_all", post="inbox.configure"),
    "care_holiday_remove": Page(get=NOT_ALLOWED, post="inbox.configure"),
    "care_policies": Page(get="inbox.view_all", post="inbox.configure"),
    "care_policy_edit": Page(get="inbox.view_all", post="inbox.configure"),
    "care_rota": Page(get=INBOX, post="inbox.configure"),
    "care_shift_delete": Page(get=NOT_ALLOWED, post="inbox.configure"),
    # Asking or answering a swap: the form or the action says no to someone not concerned.
    "care_swap_request": Page(get=NOT_ALLOWED, post=INBOX),
    "care_swap_answer": Page(get=NOT_ALLOWED, post=INBOX),
    "care_metrics": Page(get="inbox.view_all", post=NOT_ALLOWED),
    "care_correct": Page(get=NOT_ALLOWED, post="inbox.route"),
}

#: Values that broke pages before (issue 8): far dates, huge ids, odd characters.
BAD_VALUES = [
    "9999-12-25",
    "0001-01-01",
    "99999999999999999999",
    "-1",
    "٣",
    "x" * 1000,
    "\x00",
    "' OR 1=1 --",
]
TOO_BIG_ID = 2**63  # one beyond BigAutoField


# --- the project's URL patterns, from the URLconf -------------------------------------------


@dataclass(frozen=True)
class Pattern:
    name: str
    route: str
    module: str
    arguments: tuple[str, ...]


def _walk(
    patterns: list[Any], prefix: str = "", namespace: str = "", outer: tuple[str, ...] = ()
) -> Iterator[Pattern]:
    for entry in patterns:
        own = tuple(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner, outer + own)
        elif isinstance(entry, URLPattern):
            module = getattr(entry.callback, "__module__", "") or ""
            name = entry.name or ""
            full = f"{namespace}:{name}" if namespace and name else name
            yield Pattern(full, prefix + str(entry.pattern), module, outer + own)


ALL_PATTERNS = list(_walk(get_resolver().url_patterns))
PROJECT = [p for p in ALL_PATTERNS if p.module.startswith("portevoix.")]
THIRD_PARTY = [
    p for p in ALL_PATTERNS if not p.module.startswith("portevoix.") and not p.arguments and p.name
]


def test_every_project_page_is_declared() -> None:
    missing = sorted({p.name or p.route for p in PROJECT} - set(PAGES))
    assert not missing, (
        f"new pages {missing}: declare in tests/core/test_probe.py PAGES who may GET and POST "
        "them (and, for an argument the probe cannot fill, how in Sample.kwargs)"
    )
    stale = sorted(set(PAGES) - {p.name for p in PROJECT})
    assert not stale, f"declared pages that no longer exist: {stale}"


# --- the world the probe walks in -------------------------------------------------------------


@dataclass
class World:
    team: Team
    clients: dict[str, Client] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def target(self) -> Member:
        """A member whom the writes may change without changing any prober."""

        def make() -> Member:
            user = make_user("target@acme.test", "Tara Target")
            return Member.objects.create(workspace=self.team.workspace, user=user, role="viewer")

        member: Member = self.once("target", make)
        return member

    @property
    def invitation(self) -> tuple[Any, str]:
        def make() -> tuple[Any, str]:
            return core_actions.invite(
                self.team.workspace, by=self.team["admin"], email="new@acme.test", role="viewer"
            )

        made: tuple[Any, str] = self.once("invitation", make)
        return made

    @property
    def channel(self) -> Any:
        def make() -> Any:
            from portevoix.channels import actions
            from portevoix.sandbox import service

            account = service.create_account("acme-probe", workspace=self.team.workspace)
            return actions.connect_channel(
                self.team.workspace,
                by=self.team["admin"],
                network="sandbox",
                credentials=service.credentials_for(account),
                name="Probe",
            )

        return self.once("channel", make)

    @property
    def publication(self) -> Any:
        """A post that failed: every decision of the attention page applies to it."""

        def make() -> Any:
            import datetime as dt

            from django.utils import timezone

            from portevoix.publishing import actions

            post = actions.schedule_post(
                self.team.workspace,
                by=self.team["admin"],
                text="Probe",
                channels=[self.channel],
                at=timezone.now() + dt.timedelta(hours=1),
            )
            publication = post.publications.get()
            publication.transition("failed", problem="probe")
            return publication

        return self.once("publication", make)

    @property
    def notification(self) -> Any:
        """The admin's own notification (see Page.owner)."""

        def make() -> Any:
            from portevoix.notifications.models import Notification
            from portevoix.publishing.notices import FAILED

            return Notification.objects.create(
                workspace=self.team.workspace, recipient=self.team["admin"], kind=FAILED
            )

        return self.once("notification", make)

    @property
    def care(self) -> dict[str, Any]:
        """Webcare's objects: a rule, a VIP, a calendar with a holiday, a policy, a shift of a
        member who is not a prober with a swap offered to another, a sales conversation."""

        def make() -> dict[str, Any]:
            import datetime as dt

            from django.utils import timezone

            from portevoix.care import actions
            from portevoix.inbox.ingest import ingest
            from portevoix.inbox.models import Conversation
            from portevoix.networks.types import Author, InboundItem, InboundKind

            ws, admin = self.team.workspace, self.team["admin"]
            rota = [
                Member.objects.create(
                    workspace=ws, user=make_user(f"rota{n}@acme.test", f"Rota {n}"), role="content"
                )
                for n in (1, 2)
            ]
            calendar = actions.create_calendar(
                ws, by=admin, name="Bureau", time_zone="Europe/Paris",
                week=actions.parse_week(["09:00-18:00"] * 5 + ["", ""]),
            )  # fmt: skip
            holiday = actions.add_holiday(
                calendar, by=admin, date=dt.date(2030, 12, 25), name="Noël", every_year=True
            )
            start = timezone.now() + dt.timedelta(days=2)
            (shift,) = actions.create_shifts(
                ws, by=admin, member=rota[0], starts_at=start, ends_at=start + dt.timedelta(hours=4)
            )
            item = InboundItem(
                network="sandbox",
                message_id="probe-1",
                kind=InboundKind.COMMENT,
                author=Author(id="probe", handle="probe"),
                text="Combien coûte le coffret ?",
                created_at=timezone.now(),
            )
            ingest(self.channel, [item])
            conversation = Conversation.objects.get(channel=self.channel)
            conversation.department = self.team.department("sales")
            conversation.save(update_fields=["department"])
            return {
                "rule": actions.create_rule(
                    ws, by=admin, name="Prix", condition="intent is pricing",
                    actions={"priority": "high"},
                ),
                "vip": actions.add_vip(ws, by=admin, handle="clara", note=""),
                "calendar": calendar,
                "holiday": holiday,
                "policy": actions.create_policy(ws, by=admin, name="Std", first_response_minutes=60),
                "shift": shift,
                "swap": actions.request_swap(shift, by=rota[0], offered_to=rota[1], message=""),
                "conversation": conversation,
            }  # fmt: skip

        made: dict[str, Any] = self.once("care", make)
        return made

    def kwargs(self, name: str, variant: dict[str, str]) -> dict[str, Any]:
        """The arguments of ``name``'s URL in this world."""
        ws = self.team.workspace.slug
        pk: dict[str, Callable[[], int]] = {
            "member_detail": lambda: self.target.pk,
            "member_deactivate": lambda: self.target.pk,
            "member_reactivate": lambda: self.target.pk,
            "invitation_revoke": lambda: self.invitation[0].pk,
            "invitation_resend": lambda: self.invitation[0].pk,
            "department_edit": lambda: self.team.department("legal").pk,
            "channel_detail": lambda: self.channel.pk,
            "channel_check": lambda: self.channel.pk,
            "channel_quick_post": lambda: self.channel.pk,
            "publication_retry": lambda: self.publication.pk,
            "publication_send_late": lambda: self.publication.pk,
            "publication_cancel": lambda: self.publication.pk,
            "publication_mark_published": lambda: self.publication.pk,
            "notification_open": lambda: self.notification.pk,
            "notification_read": lambda: self.notification.pk,
            "care_agent_update": lambda: self.target.pk,
            "care_rule_edit": lambda: self.care["rule"].pk,
            "care_rule_move": lambda: self.care["rule"].pk,
            "care_rule_delete": lambda: self.care["rule"].pk,
            "care_vip_remove": lambda: self.care["vip"].pk,
            "care_calendar": lambda: self.care["calendar"].pk,
            "care_holiday_remove": lambda: self.care["holiday"].pk,
            "care_policy_edit": lambda: self.care["policy"].pk,
            "care_shift_delete": lambda: self.care["shift"].pk,
            "care_swap_request": lambda: self.care["shift"].pk,
            "care_swap_answer": lambda: self.care["swap"].pk,
            "care_correct": lambda: self.care["conversation"].pk,
        }
        values: dict[str, Callable[[], Any]] = {
            "ws": lambda: ws,
            "workspace": lambda: ws,
            "pk": lambda: pk[name](),
            "token": lambda: self.invitation[1],
            "network": lambda: {"channel_oauth_start": "mastodon"}.get(name, "sandbox"),
        }
        pattern = next(p for p in PROJECT if p.name == name)
        out: dict[str, Any] = {}
        for argument in pattern.arguments:
            if argument in variant:
                out[argument] = variant[argument]
                continue
            assert argument in values, (
                f"the probe cannot fill <{argument}> of {name}: teach World.kwargs how"
            )
            try:
                out[argument] = values[argument]()
            except KeyError:
                pytest.fail(f"the probe has no sample object for {name}: add it to World.kwargs")
        return out


#: Pages with several variants: each section of the navigation, with the action it needs.
VARIANTS: dict[str, list[tuple[dict[str, str], str | tuple[str, ...]]]] = {
    "section": [
        ({"key": key}, action or ANY)
        for key, _, action in NAVIGATION
        if key not in {"team", "settings", "inbox", "calendar", "attention", "channels"}
    ],
}


def _cases() -> Iterator[Any]:
    for pattern in PROJECT:
        page = PAGES.get(pattern.name)
        if page is None:
            continue  # test_every_project_page_is_declared names it
        for variant, action in VARIANTS.get(pattern.name, [({}, page.get)]):
            label = pattern.name + "".join(f"[{v}]" for v in variant.values())
            yield pytest.param(pattern.name, variant, action, id=label)


# --- recording which query parameters a page reads ------------------------------------------


class RecordingQueryDict(QueryDict):
    """A ``request.GET`` that notes every key the page reads."""

    read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        RecordingQueryDict.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        RecordingQueryDict.read.add(key)
        return super().get(key, default)

    def getlist(self, key: str, default: Any = None) -> Any:
        RecordingQueryDict.read.add(key)
        return super().getlist(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            RecordingQueryDict.read.add(key)
        return super().__contains__(key)


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    def get(self: WSGIRequest) -> QueryDict:
        from django.core.handlers.wsgi import get_bytes_from_wsgi

        raw = get_bytes_from_wsgi(self.environ, "QUERY_STRING", "")
        return RecordingQueryDict(raw, encoding=self._encoding)

    prop = cached_property(get)
    prop.__set_name__(WSGIRequest, "GET")
    monkeypatch.setattr(WSGIRequest, "GET", prop)
    RecordingQueryDict.read = set()
    return RecordingQueryDict.read


# --- the expectations --------------------------------------------------------------------------


def _allowed(rule: str | tuple[str, ...], member: Member | None, staff: bool = False) -> bool:
    if rule == NOT_ALLOWED:
        return False
    if rule == PUBLIC:
        return True
    if rule in (LOGIN, STAFF):
        return member is not None and (rule == LOGIN or staff)
    if member is None:
        return False
    if rule == ANY:
        return True
    rules = rule if isinstance(rule, tuple) else (rule,)
    return any(can(member, r) for r in rules)


def _check(
    response: Any,
    *,
    who: str,
    method: str,
    rule: str | tuple[str, ...],
    member: Member | None,
    workspace_page: bool,
    hidden: str | None,
    owner: str | None,
    where: str,
) -> bool:
    """Assert what ``who`` got; True when the request was refused (nothing may be written)."""
    status = response.status_code
    context = f"{method} {where} as {who}: {status}"
    assert status < 500, context
    if rule == NOT_ALLOWED:
        if who == "anonymous" and workspace_page:
            assert status == 302 and "/accounts/login/" in response["Location"], context
        elif who == "outsider" and workspace_page:
            assert status == 404, context
        else:
            assert status == 405, context
        return True
    if who == "anonymous" and rule != PUBLIC:
        assert status == 302 and "/accounts/login/" in response["Location"], context
        return True
    if who == "outsider" and workspace_page:
        assert status == 404, context
        assert b"Acme" not in response.content, context
        return True
    if owner and member is not None and who != owner and _allowed(rule, member):
        assert status == 404, f"{context}: someone else's own object"
        return True
    if _allowed(rule, member, staff=False):
        assert status not in (403, 404, 405), context
        return False
    expected = 404 if hidden and member is not None and not can(member, hidden) else 403
    assert status == expected, context
    if status == 403:
        assert b'data-status="403"' in response.content, f"{context}: not the product's page"
    return True


def _clients(team: Team) -> dict[str, tuple[Client, Member | None]]:
    clients: dict[str, tuple[Client, Member | None]] = {}
    for who, member in [*((r, team[r]) for r in ALL_ROLES), ("outsider", team.outsider)]:
        client = Client()
        client.force_login(member.user, backend="django.contrib.auth.backends.ModelBackend")
        clients[who] = (client, member)
    clients["anonymous"] = (Client(), None)
    return clients


# --- the probe ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "variant", "get_rule"), list(_cases()))
def test_probe(team: Team, recording: set[str], name: str, variant: dict[str, str], get_rule):
    page = PAGES[name]
    world = World(team)
    kwargs = world.kwargs(name, variant)
    url = reverse(name, kwargs=kwargs)
    workspace_page = "ws" in kwargs
    clients = _clients(team)

    # Every role, the outsider and anonymous: GET, then POST (least privileged first, so that
    # the admin's writes come last). Outside a workspace the role plays no part: one member.
    order = ["anonymous", "outsider", *(reversed(ALL_ROLES) if workspace_page else ["admin"])]
    for method, rule in (("GET", get_rule), ("POST", page.post)):
        for who in order:
            client, member = clients[who]
            before = AuditEntry.objects.count()
            response = client.get(url) if method == "GET" else client.post(url, {})
            refused = _check(
                response,
                who=who,
                method=method,
                rule=rule,
                member=member,
                workspace_page=workspace_page,
                hidden=page.hidden,
                owner=page.owner,
                where=url,
            )
            if refused:
                assert AuditEntry.objects.count() == before, f"{method} {url} as {who} wrote"

    # The outsider in their own workspace, asking for this workspace's objects by id.
    if workspace_page and "pk" in kwargs:
        client, _ = clients["outsider"]
        theirs = reverse(name, kwargs={**kwargs, "ws": team.outsider.workspace.slug})
        for method in ("GET", "POST"):
            response = client.get(theirs) if method == "GET" else client.post(theirs, {})
            assert response.status_code in (404, 405), f"{method} {theirs}: cross-workspace id"

    # An id beyond the database's integer range in the path.
    admin, _ = clients["admin"]
    if "pk" in kwargs:
        huge = reverse(name, kwargs={**kwargs, "pk": TOO_BIG_ID})
        assert admin.get(huge).status_code in (404, 405), huge

    # Bad values for every query parameter the page reads.
    if get_rule != NOT_ALLOWED and _allowed(get_rule, team["admin"]):
        recording.clear()
        assert admin.get(url).status_code < 500
        for parameter in sorted(recording):
            for value in BAD_VALUES:
                query = urlencode({parameter: value})
                response = admin.get(f"{url}?{query}")
                where = f"GET {url}?{query}"
                assert response.status_code in (200, 302, 400), f"{where}: {response.status_code}"
                if response.status_code == 400:
                    assert b'data-status="400"' in response.content or b'class="error' in (
                        response.content
                    ), f"{where}: a 400 without its reason"


def test_the_probe_reads_the_query_parameters(team, client_for, recording) -> None:
    """The recorder sees what a page reads; without it the bad-value loop would test nothing."""
    client_for(team["admin"]).get(reverse("calendar", kwargs={"ws": team.workspace.slug}))
    assert {"from", "channel"} <= recording


# --- third-party pages --------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", THIRD_PARTY, ids=[p.name for p in THIRD_PARTY])
def test_third_party_pages_never_fail(team: Team, pattern: Pattern) -> None:
    staff = make_user("staff@acme.test", "Sam Staff")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    url = reverse(pattern.name)
    for user in (None, team["admin"].user, staff):
        client = Client()
        if user is not None:
            client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        response = client.get(url)
        assert response.status_code < 500, (url, user, response.status_code)


def test_the_probe_walks_every_kind_of_page() -> None:
    names = {p.name for p in PROJECT}
    assert {"calendar", "audit_export", "channel_quick_post", "invitation_accept"} <= names
    assert any(p.name.startswith("admin:") for p in THIRD_PARTY)
    assert any(p.name == "account_login" for p in THIRD_PARTY)
    assert Role.ADMIN.value in ALL_ROLES
