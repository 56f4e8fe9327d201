"""Shared fixtures: a workspace with a member of every role, and an outsider.

Like Healthchecks' ``BaseTestCase``: every view test can prove both who may and who may not.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from portevoix.core import actions
from portevoix.core.models import Department, Member, User, Workspace
from portevoix.core.permissions import Role
from tests import migrated

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls
# from a thread with a running loop unless told that this is deliberate.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct-horse-battery-staple"
#: Every test hashes passwords cheaply (``_plain_static_files``): a dozen accounts per test.
CHEAP_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

#: The fixtures through which a test reaches the database of the run: the in-process test
#: database, or (``file_db``, the worker's process tests) a database the fixture makes on the
#: same engine. A test that reaches it another way (a subprocess given
#: ``PORTEVOIX_DATABASE_URL``) says so with ``@pytest.mark.database``.
ENGINE_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "live_server",
        "file_db",
    }
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``no_database`` every test that cannot reach the database of the run, so that the
    PostgreSQL run (``./dev pg``) leaves out what the SQLite run already proved: their result
    cannot depend on the engine (pytest-django refuses database access to a test without a
    database fixture; their subprocesses run on their own SQLite file)."""
    for item in items:
        if item.get_closest_marker("django_db") or item.get_closest_marker("database"):
            continue
        if set(getattr(item, "fixturenames", ())) & ENGINE_FIXTURES:
            continue
        item.add_marker(pytest.mark.no_database)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller (or a run without xdist) drops the run's PostgreSQL template."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    if os.environ.get("PYTEST_XDIST_WORKER") or factory is None:
        return
    migrated.drop_postgres_template(
        migrated.run_root(factory.getbasetemp()), os.environ.get("PORTEVOIX_DATABASE_URL", "")
    )


@pytest.fixture(scope="session")
def run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder every process of the run shares (where the migrated database is kept)."""
    return migrated.run_root(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def django_db_setup(
    request: pytest.FixtureRequest,
    django_test_environment: None,
    django_db_blocker: Any,
    django_db_modify_db_settings: None,
    django_db_use_migrations: bool,
    django_db_keepdb: bool,
    django_db_createdb: bool,
    run_root: Path,
) -> Iterator[None]:
    """pytest-django's ``django_db_setup``, with the test database started from the run's
    migrated copy (``tests/migrated.py``) rather than migrated from nothing on every worker.
    ``--reuse-db`` and ``--no-migrations`` work as they do in pytest-django, without the copy."""
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _disable_migrations, _get_databases_for_setup

    keepdb = django_db_keepdb and not django_db_createdb
    if not django_db_use_migrations:
        _disable_migrations()
    copied = django_db_use_migrations and not keepdb
    start_from = migrated.test_databases(run_root) if copied else contextlib.nullcontext()
    aliases, serialized_aliases = _get_databases_for_setup(request.session.items)
    with django_db_blocker.unblock(), start_from:
        config = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            aliases=aliases,
            serialized_aliases=serialized_aliases,
            keepdb=keepdb,
        )
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            if stray := migrated.end_stray_sessions():
                warnings.warn(f"sessions left open at the end: {stray}", stacklevel=1)
            teardown_databases(config, verbosity=request.config.option.verbose)


@dataclass
class Team:
    workspace: Workspace
    members: dict[str, Member]
    outsider: Member  # admin of another workspace

    def __getitem__(self, role: str) -> Member:
        return self.members[role]

    def department(self, code: str) -> Department:
        return Department.objects.get(workspace=self.workspace, code=code)


def make_user(email: str, name: str = "") -> User:
    return User.objects.create_user(email, PASSWORD, full_name=name or email.split("@")[0])


def make_team(slug: str = "acme") -> Team:
    admin_user = make_user(f"admin@{slug}.test", "Ada Admin")
    workspace = actions.create_workspace(name=slug.title(), slug=slug, creator=admin_user)
    admin = Member.objects.get(workspace=workspace, user=admin_user)
    members = {Role.ADMIN.value: admin}
    for role in Role:
        if role == Role.ADMIN:
            continue
        department = (
            Department.objects.get(workspace=workspace, code="sales")
            if role == Role.AGENT
            else None
        )
        user = make_user(f"{role.value}@{slug}.test", f"{role.label}")
        members[role.value] = Member.objects.create(
            workspace=workspace, user=user, role=role, department=department
        )
    other_user = make_user(f"admin@other-{slug}.test", "Otto Outsider")
    other = actions.create_workspace(name="Other", slug=f"other-{slug}", creator=other_user)
    outsider = Member.objects.get(workspace=other, user=other_user)
    return Team(workspace=workspace, members=members, outsider=outsider)


@pytest.fixture
def team(db: None) -> Team:
    return make_team()


def signed_in(user: User) -> Client:
    """A client logged in as ``user``. Staff also get what /admin/ and /ops/ require: an
    authenticator, and a session that gave its code (StaffTwoFactorMiddleware)."""
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    if user.is_staff:
        from allauth.account.internal.flows.login import (
            _AUTHENTICATION_METHODS_USER_SESSION_KEY,
            AUTHENTICATION_METHODS_SESSION_KEY,
        )
        from allauth.mfa.models import Authenticator
        from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

        if not Authenticator.objects.filter(user=user, type="totp").exists():
            TOTP.activate(user, generate_totp_secret())
        session = client.session
        session[AUTHENTICATION_METHODS_SESSION_KEY] = [
            {"method": "mfa", "at": time.time(), "type": "totp"}
        ]
        session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
        session.save()
    return client


@pytest.fixture
def client_for(team: Team) -> Callable[[Member | None], Client]:
    def make(member: Member | None) -> Client:
        return Client() if member is None else signed_in(member.user)

    return make


ALL_ROLES = [r.value for r in Role]


@pytest.fixture(autouse=True, scope="session")
def _static_files_listed_once() -> Iterator[None]:
    """WhiteNoise lists and stats every static file (``WHITENOISE_USE_FINDERS``) each time
    its middleware is made, and Django's test ``Client`` makes the middleware chain anew for
    every client: a fifth of the probe's time went there (a dozen clients per test). The
    listing of the process's first middleware is given to the later ones, which then serve
    exactly what production's single middleware serves; the files do not change in a run."""
    from whitenoise.middleware import WhiteNoiseMiddleware

    real = WhiteNoiseMiddleware.add_files_from_finders
    listed: dict[tuple[object, ...], dict[str, Any]] = {}

    def add_files_from_finders(self: WhiteNoiseMiddleware) -> None:
        from django.conf import settings

        key = (
            self.static_prefix,
            self.max_age,
            self.charset,
            self.allow_all_origins,
            tuple(map(str, settings.STATICFILES_DIRS)),
        )
        if key not in listed:
            before = dict(self.files)
            real(self)
            listed[key] = {url: f for url, f in self.files.items() if before.get(url) is not f}
        self.files.update(listed[key])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WhiteNoiseMiddleware, "add_files_from_finders", add_files_from_finders)
        yield


@pytest.fixture(autouse=True)
def _plain_static_files(settings) -> None:
    """Tests serve static files from the source tree, without a collectstatic manifest,
    and hash passwords cheaply (each test creates a dozen accounts)."""
    settings.PASSWORD_HASHERS = CHEAP_HASHERS
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


# TikTok's required choices are tested through the API, the CLI and the import on one channel.
from tests.publishing.tiktok_rows import film, tiktok_channel  # noqa: E402, F401
