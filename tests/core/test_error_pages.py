"""400, 403, 404 and 500 are pages of the product: translated, with the navigation when the
person is logged in, with the reason; a refusal is one line in the log, not a traceback."""

from __future__ import annotations

import io
import logging

import pytest
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import path, reverse
from django.utils import translation

from portevoix import urls as project_urls
from portevoix.core import errors
from portevoix.core.actions import ActionRefused
from portevoix.core.logs import OneLineRefusals
from portevoix.core.models import Member

# This module is also the URLconf of its tests: the project's pages, plus three that fail.


def _crash(request: HttpRequest) -> HttpResponse:
    raise OperationalError("the database went away")


def _refuse(request: HttpRequest) -> HttpResponse:
    raise ActionRefused("La dernière administratrice ne peut pas partir.", code="last_admin")


def _deny(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


urlpatterns = [
    path("test/crash/", _crash),
    path("test/refuse/", _refuse),
    path("test/deny/", _deny),
    *project_urls.urlpatterns,
]
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500

pytestmark = pytest.mark.urls(__name__)


def client_in(language: str, client: Client | None = None, member: Member | None = None) -> Client:
    """A client in ``language``: the browser's choice before login, the account's after."""
    client = client or Client()
    client.cookies["django_language"] = language
    if member is not None:
        member.user.language = language
        member.user.save(update_fields=["language"])
    return client


def is_product_page(html: str, status: int) -> bool:
    return f'data-status="{status}"' in html and "Porte-voix" in html and "portevoix.css" in html


# --- 403 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "title", "reason"),
    [
        ("en", "You cannot do this here", "Your role does not allow this: See the team."),
        ("fr", "Vous ne pouvez pas faire cela ici", "Votre rôle ne le permet pas"),
    ],
)
def test_403_says_why_with_the_navigation(team, client_for, language, title, reason):
    client = client_in(language, client_for(team["agent"]), team["agent"])
    response = client.get(reverse("team", kwargs={"ws": "acme"}))
    assert response.status_code == 403
    html = response.content.decode()
    assert is_product_page(html, 403)
    assert title in html and reason in html
    assert "nav-inbox" in html  # the agent's navigation, in the agent's workspace
    assert f'lang="{language}"' in html
    assert "403 Forbidden" not in html


def test_403_without_a_message_still_says_something(team, client_for):
    response = client_in("en", client_for(team["viewer"]), team["viewer"]).get("/test/deny/")
    assert response.status_code == 403
    assert "Your role does not allow this page." in response.content.decode()


# --- 404 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "title"), [("en", "Page not found"), ("fr", "Page introuvable")]
)
def test_404_for_an_outsider_shows_their_own_navigation_and_nothing_of_the_other(
    team, client_for, language, title
):
    client = client_in(language, client_for(team.outsider), team.outsider)
    response = client.get(reverse("team", kwargs={"ws": "acme"}))
    assert response.status_code == 404
    html = response.content.decode()
    assert is_product_page(html, 404) and title in html
    assert "Other" in html and "nav-team" in html  # the outsider's own workspace
    assert "Acme" not in html


@pytest.mark.parametrize(
    ("language", "title"), [("en", "Page not found"), ("fr", "Page introuvable")]
)
def test_404_for_anonymous_is_the_entrance_page(db, language, title):
    response = client_in(language).get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert is_product_page(html, 404) and title in html and "entrance" in html


# --- 400 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["This request cannot be handled", "“from”", "between 1970 and 2200"]),
        (
            "fr",
            ["Cette demande ne peut pas être traitée", "«\u00a0from\u00a0»", "entre 1970 et 2200"],
        ),
    ],
)
def test_400_names_the_parameter_and_the_rule(team, client_for, language, words):
    client = client_in(language, client_for(team["viewer"]), team["viewer"])
    response = client.get(reverse("calendar", kwargs={"ws": "acme"}), {"from": "9999-12-25"})
    assert response.status_code == 400
    html = response.content.decode()
    assert is_product_page(html, 400) and "nav-calendar" in html
    for word in words:
        assert word in html


def test_an_action_refused_that_a_view_let_through_is_a_400_with_its_reason(team, client_for):
    response = client_for(team["admin"]).get("/test/refuse/")
    assert response.status_code == 400
    html = response.content.decode()
    assert is_product_page(html, 400) and "La dernière administratrice ne peut pas partir." in html


def test_a_form_without_its_csrf_token_is_a_product_page(team):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team["admin"].user, backend="django.contrib.auth.backends.ModelBackend")
    client_in("en", client, team["admin"])
    response = client.post(reverse("workspace_settings", kwargs={"ws": "acme"}), {"name": "X"})
    assert response.status_code == 403
    html = response.content.decode()
    assert is_product_page(html, 403) and "This form has expired" in html
    team.workspace.refresh_from_db()
    assert team.workspace.name == "Acme"


# --- 500 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "title"),
    [("en", "Something went wrong on our side"), ("fr", "Une erreur s’est produite de notre côté")],
)
def test_500_is_a_product_page(db, language, title):
    client = client_in(language, Client(raise_request_exception=False))
    response = client.get("/test/crash/")
    assert response.status_code == 500
    html = response.content.decode()
    assert is_product_page(html, 500) and title in html
    assert "the database went away" not in html  # no internals on the page


def test_500_renders_with_the_database_down(django_db_blocker):
    request = RequestFactory().get("/w/acme/")
    with django_db_blocker.block(), translation.override("fr"):
        response = errors.server_error(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert is_product_page(html, 500) and "de notre côté" in html


# --- logs ---------------------------------------------------------------------------------


def test_a_refusal_is_logged_in_one_line_with_its_reason(team, client_for, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    client_in("fr", client_for(team["viewer"]), team["viewer"]).get(
        reverse("invitations", kwargs={"ws": "acme"})
    )
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1
    record = records[0]
    assert record.exc_info is None and record.exc_text is None
    line = record.getMessage()
    assert "\n" not in line and "/w/acme/team/invitations/" in line
    assert "Votre rôle ne le permet pas" in line


def test_the_console_handler_writes_refusals_in_one_line(team, client_for):
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, OneLineRefusals) for f in h.filters)
    )
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    old = handler.setStream(stream)
    try:
        client_in("en", client_for(team["viewer"]), team["viewer"]).get(
            reverse("audit_log", kwargs={"ws": "acme"})
        )
        client_for(team["admin"]).get("/test/refuse/")
    finally:
        handler.setStream(old)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert "Forbidden" in lines[0] and "Read and export the audit log" in lines[0]
    assert "Refused (last_admin)" in lines[1] and "ne peut pas partir" in lines[1]
    assert "Traceback" not in stream.getvalue()


def test_a_server_error_keeps_its_traceback(db, caplog):
    caplog.set_level(logging.ERROR, logger="django.request")
    Client(raise_request_exception=False).get("/test/crash/")
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is not None


@pytest.mark.parametrize("role", ["creative", "viewer", "ambassador"])
def test_the_inbox_and_webcare_refusals_say_which_right_is_missing(team, client_for, role):
    """The inbox, webcare's pages and the worker's overview answered a bare "you cannot do
    this here" to a role without the right: they now name it, like every other refusal."""
    client = client_in("en", client_for(team[role]), team[role])
    for name in ("inbox", "care_rules"):
        response = client.get(reverse(name, kwargs={"ws": "acme"}))
        assert response.status_code == 403, name
        html = response.content.decode()
        assert is_product_page(html, 403) and "Your role does not allow this: " in html, name
    worker = client.get(reverse("ops_work"))
    assert worker.status_code == 403
    assert "Only the operators of this installation" in worker.content.decode()
