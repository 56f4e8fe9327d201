"""French and English are complete: a visible string that is not translated fails here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "portevoix"
LANGS = ("fr", "en")

# Words that are the same in every language (brand, language codes) or deliberately in the
# other language (the "switch to English" button is written in English on purpose).
ALLOWED_LITERALS = {
    "Porte-voix",
    "EN",
    "FR",
    "Switch to English",
    "Passer en français",
    "☰",
    "→",
    "←",
    "✓",
    "—",
    "·",
    "*",
}


def _catalog(lang: str, base: Path = PACKAGE) -> polib.POFile:
    return polib.pofile(str(base / "locale" / lang / "LC_MESSAGES" / "django.po"))


@pytest.mark.parametrize("lang", LANGS)
def test_catalog_is_complete(lang: str) -> None:
    catalog = _catalog(lang)
    untranslated = [e.msgid for e in catalog.untranslated_entries()]
    fuzzy = [e.msgid for e in catalog.fuzzy_entries()]
    assert not untranslated, f"{lang}: untranslated {untranslated[:10]}"
    assert not fuzzy, f"{lang}: fuzzy {fuzzy[:10]}"


@pytest.mark.parametrize("lang", LANGS)
def test_compiled_catalog_is_up_to_date(lang: str) -> None:
    folder = PACKAGE / "locale" / lang / "LC_MESSAGES"
    compiled = polib.mofile(str(folder / "django.mo"))
    source = {
        (e.msgid, e.msgstr) for e in _catalog(lang).translated_entries() if not e.msgid_plural
    }
    have = {(e.msgid, e.msgstr) for e in compiled if not e.msgid_plural}
    assert source <= have, "run: ./dev manage compilemessages"


def test_every_marked_string_is_in_the_catalogs(tmp_path: Path) -> None:
    """Extract the strings again from a copy of the code and compare with the catalogs."""
    if shutil.which("xgettext") is None:
        pytest.fail("xgettext is missing: apt-get install gettext (./dev test installs it)")
    copy = tmp_path / "src"
    shutil.copytree(
        PACKAGE,
        copy / "portevoix",
        ignore=shutil.ignore_patterns("__pycache__", "static", "*.npy", "*.jsonl", "data"),
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(copy),
        "DJANGO_SETTINGS_MODULE": "portevoix.settings",
        "PORTEVOIX_DATA_DIR": str(tmp_path / "var"),
    }
    subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "--no-location",
            "--no-obsolete",
            *[f"-l={lang}" for lang in LANGS],
        ],
        cwd=copy / "portevoix",
        env=env,
        check=True,
        capture_output=True,
    )
    for lang in LANGS:
        fresh = {e.msgid for e in _catalog(lang, copy / "portevoix")}
        committed = {e.msgid for e in _catalog(lang)}
        missing = sorted(fresh - committed)
        assert not missing, f"{lang}: not in the catalog: {missing[:10]} (run makemessages)"


def _our_templates() -> list[Path]:
    roots = [PACKAGE / "templates", *PACKAGE.glob("*/templates")]
    return sorted(p for root in roots for p in root.rglob("*") if p.suffix in {".html", ".txt"})


VISIBLE_ATTRS = re.compile(r'\b(?:title|aria-label|placeholder|alt)="([^"{]*)"')


def _raw_text(source: str) -> list[str]:
    text = re.sub(r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}", " ", source, flags=re.S)
    text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", " ", text, flags=re.S)
    text = re.sub(r"{#.*?#}", " ", text, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"{%.*?%}|{{.*?}}", " ", text, flags=re.S)
    found = [v for v in VISIBLE_ATTRS.findall(text) if v.strip()]
    text = re.sub(r"<[^>]*>", " ", text, flags=re.S)
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    for chunk in re.split(r"\s{2,}|\n", text):
        chunk = chunk.strip()
        if chunk and re.search(r"[^\W\d_]", chunk):
            found.append(chunk)
    return [f for f in found if f.strip() not in ALLOWED_LITERALS and _has_words(f)]


def _has_words(chunk: str) -> bool:
    words = re.findall(r"[^\W\d_][\w'’-]*", chunk)
    return any(w not in ALLOWED_LITERALS for w in words)


@pytest.mark.parametrize("template", _our_templates(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_templates_have_no_untranslated_text(template: Path) -> None:
    literals = _raw_text(template.read_text(encoding="utf-8"))
    assert not literals, f"wrap in {{% translate %}}: {literals}"


def test_the_checker_catches_raw_text() -> None:
    assert _raw_text("<p>Hello team</p>") == ["Hello team"]
    assert _raw_text('<input placeholder="Search here">') == ["Search here"]
    assert _raw_text("<p>{% translate 'Hello' %} {{ name }}</p>") == []
    assert _raw_text("{% blocktranslate %}Hi {{ x }}{% endblocktranslate %}") == []


@pytest.mark.parametrize("lang", LANGS)
def test_pages_render_in_each_language(team, client_for, lang: str) -> None:
    # Once logged in, the account's language decides (the switch in the top bar saves it).
    team["admin"].user.language = lang
    team["admin"].user.save(update_fields=["language"])
    client = client_for(team["admin"])
    expected = {"fr": ("Équipe", "Réglages"), "en": ("Team", "Settings")}[lang]
    for name in ("workspace_home", "team", "roles", "departments", "invitations", "audit_log"):
        html = client.get(reverse(name, kwargs={"ws": team.workspace.slug})).content.decode()
        assert f'<html lang="{lang}">' in html
        for word in expected:
            assert word in html, (lang, name, word)


def test_language_switch_is_remembered_on_the_account(team, client_for) -> None:
    member = team["content"]
    client = client_for(member)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/w/acme/team/"})
    assert response.status_code == 302 and response["Location"] == "/w/acme/team/"
    member.user.refresh_from_db()
    assert member.user.language == "en"
    assert client.post(reverse("set_language"), {"language": "xx"}).status_code == 400
    fresh = client_for(member)  # a new browser: no cookie, the account's language applies
    assert '<html lang="en">' in fresh.get("/w/acme/team/").content.decode()


def test_french_double_punctuation_never_starts_a_line() -> None:
    """French puts a space before ? ! : ; and », and after «: a non-breaking one, or the mark
    can wrap onto a line of its own (« peuvent-ils être affectés / ? Prévenir la direction »,
    « Raison / : le canal est déconnecté »)."""
    loose = [
        text
        for entry in _catalog("fr")
        for text in [entry.msgstr, *entry.msgstr_plural.values()]
        if re.search(r"\S [?!:;»]|« ", text)
    ]
    assert not loose, loose[:5]
    for mark in ("\u00a0?", "\u00a0:", "\u00a0;", "«\u00a0", "\u00a0»"):
        assert any(mark in e.msgstr for e in _catalog("fr")), mark  # the rule has cases


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en", "06/12/2026 09:27 · 17:05"), ("fr", "06/12/2026 09:27 · 17:05")],
)
def test_dates_read_day_first_on_a_24_hour_clock_in_both_languages(
    lang: str, expected: str
) -> None:
    """English pages mixed Django's American ``12/06/2026 9:27 a.m.`` with the product's own
    ``H:i`` labels; both languages now show the same day order and clock."""
    import datetime as dt

    from django.utils import formats, translation

    morning = dt.datetime(2026, 12, 6, 9, 27)
    evening = dt.time(17, 5)
    with translation.override(lang):
        shown = (
            f"{formats.date_format(morning, 'SHORT_DATETIME_FORMAT')} · "
            f"{formats.time_format(evening)}"
        )
    assert shown == expected


@pytest.mark.parametrize(
    ("count", "expected"), [(1, "1 publication retenue."), (2, "2 publications retenues.")]
)
def test_counts_agree_with_their_noun_instead_of_saying_s(
    team, client_for, count, expected
) -> None:
    """ "2 publication(s) retenue(s)" read like a form letter: the number chooses the form."""
    from portevoix.crisis import actions
    from tests.publishing.approvals_helpers import schedule, second_channel

    channel = second_channel(team)
    for n in range(count):
        schedule(team, team["manager"], [channel], text=f"Publication {n}")
    incident = actions.open_incident(team.workspace, by=team["manager"], title="Crise")
    client = client_for(team["manager"])
    client.cookies["django_language"] = "fr"
    response = client.post(
        reverse("crisis_incident_pause", kwargs={"ws": team.workspace.slug, "pk": incident.pk}),
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert any(m.endswith(expected) for m in shown), shown
    assert not any("(s)" in m for m in shown)
    # The timeline's entry too, stored once and read in each reader's language.
    from django.utils import translation

    from portevoix.core.sentences import render

    entry = incident.timeline.get(kind="paused")
    with translation.override("fr"):
        assert render(entry.detail).endswith(expected.rstrip(".")), render(entry.detail)
    with translation.override("en"):
        assert render(entry.detail).endswith("1 post held" if count == 1 else f"{count} posts held")
