"""Server-drawn charts and PDF reports (portevoix/reports, ADR 1201)."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest
from django.utils import translation

from portevoix.reports import charts, pdf

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(str(svg))


def test_nice_ticks_cover_the_range_with_round_steps():
    assert charts.nice_ticks(0, 97) == [0, 25, 50, 75, 100]
    assert charts.nice_ticks(3, 3) == [3, 3.25, 3.5, 3.75, 4]
    ticks = charts.nice_ticks(-12, 1234)
    assert ticks[0] <= -12 and ticks[-1] >= 1234
    steps = {round(b - a, 6) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1


def test_line_chart_draws_each_series_its_own_way_and_says_its_figures():
    series = [
        charts.Series("Bluesky", [1, 5, None, 7]),
        charts.Series("Mastodon", [2, 2, 3, 4]),
    ]
    with translation.override("en"):
        svg = charts.line_chart(["Mon", "Tue", "Wed", "Thu"], series, title="Mentions")
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Mentions"
    desc = root.find(f"{SVG}desc").text
    assert "Bluesky: from 1 to 7, lowest 1, highest 7" in desc
    lines = root.findall(f"{SVG}polyline")
    # Bluesky has a gap: two segments (the second with one point draws none); Mastodon one.
    assert len(lines) == 2
    dashes = {line.get("stroke-dasharray") for line in lines}
    assert len(dashes) == 2  # not colour alone
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Bluesky (7)" in texts and "Mastodon (4)" in texts


def test_labels_are_escaped():
    svg = charts.line_chart(
        ["<b>x</b>"], [charts.Series("<script>alert(1)</script>", [1])], title="a & b"
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    parse(svg)  # still well-formed XML


def test_empty_chart_says_so():
    with translation.override("fr"):
        svg = charts.line_chart(["a", "b"], [charts.Series("s", [None, None])], title="t")
    assert "Aucune donnée pour cette période." in svg


def test_mismatched_series_is_an_error():
    with pytest.raises(ValueError, match="has 1 values for 2"):
        charts.line_chart(["a", "b"], [charts.Series("s", [1])], title="t")


def test_numbers_follow_the_language():
    with translation.override("fr"):
        assert charts.fmt(1234.5) == "1\u202f234" or charts.fmt(1234.5).replace(
            "\xa0", " "
        ).replace("\u202f", " ") in {"1 234", "1 235"}
        assert charts.fmt(12.25, 2) == "12,25"
    with translation.override("en"):
        assert charts.fmt(12.25, 2) == "12.25"
        assert charts.fmt(None) == "–"


def test_bar_chart_and_heatmap_write_their_values():
    bars = parse(charts.bar_chart(["A", "B"], [3, 9], title="Share", unit="%"))
    assert [t.text for t in bars.iter(f"{SVG}text")].count("9 %") == 1
    grid = parse(
        charts.heatmap(["Mon", "Tue"], ["9h", "12h"], [[1, None], [4, 2]], title="Best time")
    )
    titles = [t.text for t in grid.iter(f"{SVG}title")]
    assert "Tue 9h: 4" in titles and "Mon 12h: –" in titles
    with translation.override("en"):
        desc = (
            parse(charts.heatmap(["Mon"], ["9h", "12h"], [[1, 6]], title="t"))
            .find(f"{SVG}desc")
            .text
        )
    assert desc == "Highest: 6 on Mon at 12h."


def test_csv_has_raw_numbers():
    text = charts.to_csv("day", ["d1", "d2"], [charts.Series("a", [1.5, None])])
    assert text.splitlines() == ["day,a", "d1,1.5", "d2,"]


REPORT = """{% extends "reports/pdf_base.html" %}{% load i18n %}
{% block body %}<h2>{% translate "Volume" %}</h2>
{% include "reports/_line_chart.html" with svg=figure.svg caption=figure.caption x_header=figure.x_header series=figure.series rows=figure.rows open_table=True %}
{% endblock %}"""


def test_pdf_renders_a_report_in_the_readers_language():
    from django.template import engines

    template = engines["django"].from_string(REPORT)
    context = {
        "report_title": "Rapport",
        "workspace_name": "Lumière",
        "generated_at": None,
        "figure": charts.figure(
            "jour", ["1", "2"], [charts.Series("Mentions", [3, 4])], title="Volume"
        ),
    }
    html = pdf.render_html(template, context, language="fr")
    assert 'lang="fr"' in html and "Les chiffres de ce graphique" in html
    data = pdf.render_pdf(template, context, language="fr")
    assert data.startswith(b"%PDF-")
    from weasyprint import HTML

    document = HTML(string=html, url_fetcher=pdf.fetcher(), base_url=pdf.STATIC_PREFIX).render()
    assert len(document.pages) == 1


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/x.png", "file:///etc/passwd", "https://example.org/a.css"],
)
def test_reports_never_fetch_outside_the_project(url):
    with pytest.raises(pdf.RefusedFetch):
        pdf.fetcher().fetch(url)


def test_reports_may_use_static_files_and_data_urls():
    response = pdf.fetcher().fetch("static:css/portevoix.css")
    assert response.read()
    assert pdf.fetcher().fetch("data:text/plain,hi").read() == b"hi"


def test_an_outside_image_in_a_report_is_not_fetched():
    from weasyprint import HTML

    calls = []
    inner = pdf.fetcher()

    class Watching(type(inner)):
        def fetch(self, url, headers=None):
            calls.append(url)
            return super().fetch(url, headers)

    # WeasyPrint logs a refused resource and goes on: the PDF is made, nothing was fetched.
    HTML(
        string='<p>x</p><img src="http://127.0.0.1:9/track.png">',
        url_fetcher=Watching(),
        base_url=pdf.STATIC_PREFIX,
    ).write_pdf()
    assert calls == ["http://127.0.0.1:9/track.png"]


def test_stacked_bars_stack_each_series_with_its_own_fill_and_say_the_totals():
    with translation.override("en"):
        svg = charts.stacked_bar_chart(
            ["Mon", "Tue", "<b>Wed</b>"],
            [
                charts.Series("negative", [2, 0, 1]),
                charts.Series("neutral", [3, 4, None]),
                charts.Series("positive", [5, 1, 0]),
            ],
            title="Volume",
        )
    root = parse(svg)
    desc = root.find(f"{SVG}desc").text
    assert "from the bottom: negative, neutral, positive" in desc
    assert "negative: 3" in desc and "neutral: 7" in desc and "Highest: 10 (Mon)" in desc
    # One rect per non-zero segment (plus one legend swatch per series), and a total per bar.
    segments = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert [r.find(f"{SVG}title").text for r in segments] == [
        "Mon, negative: 2", "Mon, neutral: 3", "Mon, positive: 5",
        "Tue, neutral: 4", "Tue, positive: 1", "<b>Wed</b>, negative: 1",
    ]  # fmt: skip
    # Stacked: each segment of a bar starts where the one below it ends.
    mon = segments[:3]
    for below, above in itertools.pairwise(mon):
        assert float(above.get("y")) + float(above.get("height")) == pytest.approx(
            float(below.get("y")), abs=0.11
        )
    # Not by colour alone: the second and third series are patterns, the first is solid.
    fills = {r.get("fill") for r in segments}
    assert any(f.startswith("url(#") for f in fills) and any(f.startswith("#") for f in fills)
    assert len(root.findall(f".//{SVG}pattern")) == 2
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "10" in texts and "5" in texts  # the totals above the bars
    assert "<b>" not in str(svg).replace("&lt;b&gt;", "")  # labels are escaped


def test_stacked_bars_without_data_say_so_and_refuse_mismatched_series():
    with translation.override("en"):
        empty = charts.stacked_bar_chart(["a"], [charts.Series("x", [None])], title="T")
    assert "No data for this period." in str(empty)
    with pytest.raises(ValueError):
        charts.stacked_bar_chart(["a", "b"], [charts.Series("x", [1])], title="T")


def test_stacked_bars_label_the_last_day_apart_from_the_others_and_inside_the_chart():
    """A month of days: the newest day is labelled, no two labels touch (the listening page
    wrote 02/12/2026 over 04/12/2026), and the last one ends inside the chart."""
    days = [f"{d:02d}/11/2026" for d in range(1, 31)] + ["01/12/2026"]
    with translation.override("en"):
        svg = charts.stacked_bar_chart(
            days, [charts.Series("mentions", [5] * len(days))], title="Volume", width=640
        )
    root = parse(svg)
    labels = [t for t in root.iter(f"{SVG}text") if t.text in days]
    assert labels[-1].text == "01/12/2026"  # the newest day
    assert 7 <= len(labels) <= 11
    centres = [float(t.get("x")) for t in labels if t.get("text-anchor") == "middle"]
    step = (640 - 48 - 10) / len(days)
    assert all(b - a >= 3 * step - 0.2 for a, b in itertools.pairwise(centres))
    last = labels[-1]
    assert last.get("text-anchor") == "end" and float(last.get("x")) <= 640
    # The one before it is far enough not to run under it (about 55 px wide each).
    assert float(last.get("x")) - 55 >= float(labels[-2].get("x")) + 27


def test_a_pdf_margin_text_is_escaped_for_css_not_javascript() -> None:
    """The page margins' texts are CSS strings: ``escapejs`` wrote "post\\u002Dincident" there
    (JavaScript's escape, printed as is by WeasyPrint); a CSS escape is read back."""
    from pathlib import Path

    from portevoix.reports.templatetags.pdf import css_string

    assert css_string("Rapport post-incident") == "Rapport post-incident"
    assert css_string('Dupont "& fils" \\ <b>') == "Dupont \\22 & fils\\22  \\5C  \\3C b\\3E "
    base = Path(__file__).resolve().parents[2] / "portevoix/reports/templates/reports/pdf_base.html"
    assert "escapejs" not in base.read_text()
