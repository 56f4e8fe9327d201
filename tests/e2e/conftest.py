"""Browser tests: Debian's chromium driven by Playwright against Django's live server.

Every test under ``tests/e2e`` is marked ``e2e``. Every browser context a test opens is
watched: a JavaScript error, a console error or a failed request to the live server fails
the test (see :class:`Watch`); a test that expects an error status says so with
:meth:`Watch.expect_status`.

The live server shares the test database through ``transactional_db``, so the fixtures here
build their data under it (``tests.conftest.team`` uses ``db``, which the server thread
cannot see).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Response, expect

from tests.conftest import PASSWORD, Team, make_team

HERE = Path(__file__).parent
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000

# Chromium from Debian, never a downloaded browser; no background traffic to the internet.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: the marker must be there before ``-m e2e`` / ``-m "not e2e"`` deselects.
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


# --- the database the live server shares ------------------------------------------------


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """On SQLite, a database file (WAL, busy timeout) rather than Django's shared in-memory
    one: a page that loads images while it autosaves makes concurrent requests, and the
    shared cache answers those with "table is locked" at once, which production never does."""
    from django.conf import settings

    default = settings.DATABASES["default"]
    if "sqlite" in default["ENGINE"]:
        path = tmp_path_factory.mktemp("e2e-db") / "test.sqlite3"
        default.setdefault("TEST", {})["NAME"] = str(path)


#: The demo as the first test that asked for it loaded it: its snapshot and its result.
_DEMO: dict[str, Any] = {}


@pytest.fixture
def demo_site(
    transactional_db: None,
    live_server: Any,
    settings: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Any:
    """The demo (``portevoix.core.demo.load()``) in the database the live server shares.

    On SQLite it is loaded once per run and copied back for every later test from a snapshot
    of the database file (SQLite's backup API): the same rows, ids and sequences, in well
    under a second instead of the 20 to 35 s a load takes (a month of posts, a day of
    messages, the weekly reports' PDFs). What a test changes is gone when the next one
    starts, as after a load. The demo's dates are those of the first load, minutes before:
    what the demo shows relative to now is unchanged at that scale.
    """
    import sqlite3
    from contextlib import closing

    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from portevoix.core import demo

    settings.PORTEVOIX_BASE_URL = live_server.url
    if connection.vendor != "sqlite":
        return demo.load()
    connection.ensure_connection()
    raw = connection.connection
    if "result" in _DEMO:
        with closing(sqlite3.connect(_DEMO["path"])) as snapshot:
            snapshot.backup(raw)
        # The flush after the last test re-created the content types under other ids.
        ContentType.objects.clear_cache()
        return _DEMO["result"]
    result = demo.load()
    path = tmp_path_factory.mktemp("demo-snapshot") / "demo.sqlite3"
    with closing(sqlite3.connect(path)) as snapshot:
        raw.backup(snapshot)
    _DEMO.update(path=path, result=result)
    return result


# --- pytest-playwright configuration -----------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url(live_server: Any) -> str:
    """Relative URLs in page.goto() go to the live server (replaces pytest-playwright's)."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # A French browser: French is the product's default language, and the tests prove the
    # switch to English rather than rely on the browser's Accept-Language.
    return {**browser_context_args, "locale": "fr-FR", "timezone_id": "Europe/Paris"}


# --- watching pages -----------------------------------------------------------------------


def is_local(url: str) -> bool:
    return (urlparse(url).hostname or "") in LOCAL_HOSTS or url.startswith(
        ("data:", "about:", "blob:")
    )


@dataclass
class Watch:
    """Everything that went wrong in one browser context, as readable lines."""

    name: str
    problems: list[str] = field(default_factory=list)
    expecting: set[int] = field(default_factory=set)  # error statuses allowed right now
    answered: set[int] = field(default_factory=set)  # expected error statuses that came

    def attach(self, context: BrowserContext) -> None:
        context.on("console", self._console)
        context.on("weberror", lambda e: self.problems.append(f"JavaScript error: {e.error}"))
        context.on("requestfailed", self._request_failed)
        context.on("response", self._response)
        context.on("request", self._request)

    @contextlib.contextmanager
    def expect_status(self, status: int) -> Iterator[None]:
        """Allow responses with this error status while the block runs."""
        self.expecting.add(status)
        try:
            yield
        finally:
            self.expecting.discard(status)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # Chromium logs every error status it receives ("Failed to load resource: the server
        # responded with a status of 400"), sometimes after the response event.
        found = re.search(r"status of (\d{3})", message.text)
        if found and int(found.group(1)) in self.expecting | self.answered:
            return
        self.problems.append(f"console error: {message.text} ({message.location})")

    def _request(self, request: Any) -> None:
        if not is_local(request.url):
            self.problems.append(f"request to a non-local address: {request.url}")

    def _request_failed(self, request: Any) -> None:
        if is_local(request.url):
            if request.url.endswith("/favicon.svg") and "ERR_ABORTED" in str(request.failure):
                # Chromium cancels its own favicon fetch when the page navigates on; the
                # icon itself is checked by test_static_assets_load.
                return
            self.problems.append(f"request failed: {request.url} {request.failure}")

    def _response(self, response: Response) -> None:
        if not is_local(response.url) or response.status < 400:
            return
        if response.status in self.expecting:
            self.answered.add(response.status)
            return
        self.problems.append(f"HTTP {response.status}: {response.url}")

    def check(self) -> None:
        assert not self.problems, f"{self.name}: " + "; ".join(self.problems)


def watch_of(page_or_context: Page | BrowserContext) -> Watch:
    context = page_or_context.context if isinstance(page_or_context, Page) else page_or_context
    watch = getattr(context, "_portevoix_watch", None)
    assert watch is not None, "this context was not opened through the browse fixture"
    return watch


@dataclass
class Browse:
    """Opens watched browser contexts and pages: one context per person in a test."""

    make_context: Callable[..., BrowserContext]
    watches: list[Watch] = field(default_factory=list)

    def context(self, name: str = "browser", **kwargs: Any) -> BrowserContext:
        # Set here, not in browser_context_args: pytest-playwright does not merge those.
        context = self.make_context(**{"viewport": DESKTOP, **kwargs})
        context.set_default_timeout(TIMEOUT_MS)
        watch = Watch(name)
        watch.attach(context)
        context._portevoix_watch = watch  # type: ignore[attr-defined]
        self.watches.append(watch)
        return context

    def page(self, name: str = "browser", **kwargs: Any) -> Page:
        return self.context(name, **kwargs).new_page()

    def check(self) -> None:
        for watch in self.watches:
            watch.check()


@pytest.fixture
def browse(new_context: Callable[..., BrowserContext]) -> Iterator[Browse]:
    browse = Browse(new_context)
    yield browse
    browse.check()


@pytest.fixture
def context(browse: Browse) -> BrowserContext:
    """pytest-playwright's ``context`` (and so ``page``), watched."""
    return browse.context("page")


def visit(page: Page, path: str, *, status: int = 200) -> Response:
    """Open ``path``: it must answer ``status``, and nothing may have gone wrong so far."""
    allow = watch_of(page).expect_status(status) if status >= 400 else contextlib.nullcontext()
    with allow:
        response = page.goto(path, wait_until="load")
    assert response is not None, path
    assert response.status == status, f"{path}: HTTP {response.status}"
    watch_of(page).check()
    return response


# --- people and data ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_login_limits(request: pytest.FixtureRequest) -> None:
    """Each test starts with allauth's login throttle at zero.

    The throttle counts in the database cache, a table the flush between tests leaves alone,
    and every browser logs in from 127.0.0.1: without this, the suite's own logins add up to
    the 30 a minute the settings allow one address, and a fast run is refused (HTTP 429) in
    whichever test comes after. The throttle itself is tested in tests/core/test_security.py."""
    if "live_server" not in request.fixturenames:
        return
    request.getfixturevalue("transactional_db")
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def live_team(transactional_db: None, live_server: Any, settings: Any) -> Team:
    """``tests.conftest.team`` for the live server: committed, so the server thread sees it.

    Invitation links point at the live server."""
    settings.PORTEVOIX_BASE_URL = live_server.url
    return make_team()


def login(page: Page, email: str, password: str = PASSWORD) -> None:
    """Log in through the real form; leaves the page where the login redirected."""
    visit(page, "/accounts/login/")
    form = page.locator("main form:has(input[name=login])")
    form.locator("input[name=login]").fill(email)
    form.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def logout(page: Page) -> None:
    page.locator(".usermenu summary").click()
    with page.expect_navigation():
        page.locator("form[action*='logout'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
