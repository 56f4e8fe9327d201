"""Shared fixtures: a workspace with a member of every role, and an outsider.

Like Healthchecks' ``BaseTestCase``: every view test can prove both who may and who may not.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client

from portevoix.core import actions
from portevoix.core.models import Department, Member, User, Workspace
from portevoix.core.permissions import Role

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls
# from a thread with a running loop unless told that this is deliberate.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct-horse-battery-staple"


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


@pytest.fixture
def client_for(team: Team) -> Callable[[Member | None], Client]:
    def make(member: Member | None) -> Client:
        client = Client()
        if member is not None:
            client.force_login(member.user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return make


ALL_ROLES = [r.value for r in Role]


@pytest.fixture(autouse=True)
def _plain_static_files(settings) -> None:
    """Tests serve static files from the source tree, without a collectstatic manifest,
    and hash passwords cheaply (each test creates a dozen accounts)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
