"""HTML templates printed to PDF with WeasyPrint (ADR 1201).

A report is a Django template extending ``reports/pdf_base.html`` (A4, the workspace and the
title in the header, page numbers in the footer), rendered in the reader's language. Charts
are the SVG of :mod:`portevoix.reports.charts`, inline, so a PDF needs no browser and no
JavaScript.

WeasyPrint fetches what a document links to. Reports contain text that came from outside
(messages, campaign names), escaped but still text we do not control, so the fetcher here
refuses everything but ``data:`` URLs and the project's own static files: a report never
makes the server call an address (no SSRF through a PDF).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import translation

STATIC_PREFIX = "static:"


class RefusedFetch(ValueError):
    """A report linked to something outside the project's static files."""


def fetcher() -> Any:
    """WeasyPrint's fetcher, narrowed to ``data:`` URLs and the project's static files."""
    import mimetypes

    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class ProjectOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith(STATIC_PREFIX):
                found = finders.find(url.removeprefix(STATIC_PREFIX).lstrip("/"))
                if isinstance(found, str):
                    path = Path(found)
                    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(
                        url, path.read_bytes(), headers={"Content-Type": kind}
                    )
            raise RefusedFetch(
                f"a report may only use data: URLs and static files, not {url[:80]!r}"
            )

    return ProjectOnly(allowed_protocols=("data", "static"), allow_redirects=False)


def render_html(template: str | Any, context: dict[str, Any], *, language: str) -> str:
    """``template`` is a template's name, or a template object (``engine.from_string``)."""
    with translation.override(language):
        full = {**context, "pdf_language": language}
        if isinstance(template, str):
            return render_to_string(template, full)
        return str(template.render(full))


def render_pdf(template: str | Any, context: dict[str, Any], *, language: str) -> bytes:
    """The template rendered in ``language`` and printed to PDF bytes."""
    from weasyprint import HTML

    html = render_html(template, context, language=language)
    document = HTML(string=html, base_url=STATIC_PREFIX, url_fetcher=fetcher())
    result = document.write_pdf()
    assert result is not None  # write_pdf() without a target returns the bytes
    return bytes(result)
