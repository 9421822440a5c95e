"""CSV export that spreadsheets cannot turn into formulas (CSV/formula injection).

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK("http://evil", "click")``).
Every CSV sendwell writes goes through :func:`neutralize`, which prefixes such cells with
an apostrophe (OWASP's advice), so the text is shown rather than executed.

Limit: a neutralized cell read back by a program shows the apostrophe; numbers like
``-5`` get one too, which is the price of never guessing wrong.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_TRIGGERS) else text


class SafeWriter:
    """A ``csv.writer`` whose every cell is neutralized."""

    def __init__(self, fh: IO[str]) -> None:
        self._writer = csv.writer(fh)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralize(v) for v in row])
