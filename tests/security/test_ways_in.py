"""The only ways in without a login are the ones docs/ways-in.md lists.

Every URL of the product is requested without a session, by GET and by POST; whatever does not
send the visitor to the login page (or answer 404/405 like a missing page) is a way in, and
must be in the document's table, by URL name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "ways-in.md"
SAMPLE = {
    "ws": "acme",
    "pk": "1",
    "media": "1",
    "network": "sandbox",
    "token": "not-a-real-token",
    "key": "not-a-real-key",
    "uidb36": "1",
}


def _patterns(resolver: URLResolver, namespace: str = "", groups: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    """(URL name, the names of its arguments) for every named URL."""
    for pattern in resolver.url_patterns:
        own = tuple(pattern.pattern.regex.groupindex)
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern, pattern.namespace or namespace, groups + own)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield (f"{namespace}:" if namespace else "") + pattern.name, groups + own


def _url(name: str, groups: tuple[str, ...]) -> str:
    return reverse(name, kwargs={k: SAMPLE.get(k, "x") for k in groups})


def documented() -> set[str]:
    """The URL names in the second column of the table under "What exists today"."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## What exists today", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 3:
            names.update(re.findall(r"`([a-z_:-]+)`", cells[2]))
    return names


def _is_closed(response, login: str) -> bool:
    if response.status_code in {404, 405}:
        return True
    if response.status_code in {301, 302}:
        return response["Location"].startswith(login)
    return False


def open_without_login() -> dict[str, list[str]]:
    login = reverse("account_login")
    found: dict[str, list[str]] = {}
    for name, groups in _patterns(get_resolver()):
        if name.startswith("admin:"):
            continue  # the admin as a whole: see test_the_admin_is_closed
        url = _url(name, groups)
        for method in ("get", "post"):
            response = getattr(Client(), method)(url)
            if not _is_closed(response, login):
                found.setdefault(name, []).append(f"{method.upper()} {response.status_code}")
    return found


def test_every_way_in_without_a_login_is_documented(team) -> None:
    found = open_without_login()
    missing = sorted(set(found) - documented())
    assert not missing, f"open without a login but not in docs/ways-in.md: {missing} {found}"


def test_the_document_names_only_urls_that_exist() -> None:
    names = {name for name, _ in _patterns(get_resolver())}
    assert documented(), "docs/ways-in.md has no table of URL names"
    assert documented() <= names, sorted(documented() - names)


def test_the_admin_is_closed(team) -> None:
    login = reverse("account_login")
    for url in ("/admin/", "/admin/core/workspace/", "/admin/login/", "/ops/work/"):
        response = Client().get(url)
        assert response.status_code == 302, url
        target = response["Location"]
        if target.startswith("/admin/login/"):
            target = Client().get(target)["Location"]
        assert target.startswith(login), url


def test_the_short_link_redirect_opens_only_what_the_product_stored(team) -> None:
    """``/l/<code>`` is open without a login (docs/ways-in.md): it sends to the target stored
    with the code and nowhere else, and a code nobody made is a missing page."""
    from portevoix.roi.models import ShortLink
    from portevoix.roi.shortlinks import new_code

    assert "roi_short_link" in documented()
    link = ShortLink.objects.create(
        workspace=team.workspace, code=new_code(), target="https://shop.example/soldes"
    )
    browser = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"
    response = Client().get(f"/l/{link.code}?to=https://evil.example/", HTTP_USER_AGENT=browser)
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example/soldes"
    assert Client().get("/l/" + "B" * 12, HTTP_USER_AGENT=browser).status_code == 404
    assert Client().post(f"/l/{link.code}").status_code == 405
