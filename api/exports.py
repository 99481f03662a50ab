"""Tables to CSV or XLSX for printing and archiving, with English or Chinese headers."""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Literal, Sequence
from urllib.parse import quote

from litestar import Response

__all__ = ["Column", "EXPORT_MEDIA_TYPES", "ExportFormat", "HeaderLanguage", "export_response"]

ExportFormat = Literal["csv", "xlsx"]
HeaderLanguage = Literal["en", "zh"]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_MEDIA_TYPES = ["text/csv", XLSX_TYPE]


class Column:
    """One exported column: key in the row dict and its header in each language."""

    __slots__ = ("key", "en", "zh")

    def __init__(self, key: str, en: str, zh: str) -> None:
        self.key, self.en, self.zh = key, en, zh


def _cell(value: Any, lang: HeaderLanguage) -> Any:
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value)
    if isinstance(value, bool):
        if lang == "zh":
            return "是" if value else "否"
        return "yes" if value else "no"
    return value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: Any) -> Any:
    """Text that Excel would run as a formula (``=HYPERLINK(...)`` in a note or a unit's
    name, CSV injection) gets a leading apostrophe, which Excel shows as plain text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _disposition(name: str) -> str:
    """An attachment named ``name``: plain ASCII for old clients, the exact (maybe Chinese)
    name in ``filename*`` (RFC 6266), since a header cannot carry raw non-Latin-1 text."""
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def _csv(headers: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # Headers too: a leaderboard's item columns are named after the catalog's items.
    writer.writerow([_csv_text(h) for h in headers])
    writer.writerows([_csv_text(v) for v in row] for row in rows)
    # The BOM makes Excel read the file as UTF-8 (Chinese text) instead of the ANSI code page.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx(headers: list[str], rows: list[list[Any]], title: str) -> bytes:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    # Write-only: rows stream to the file instead of living as cell objects (an audit
    # export may hold 100,000 rows).
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    header = []
    for text in headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"  # always text: item names come from the catalog (see _xlsx_cell)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if value is None or isinstance(value, (int, float)):
        return value
    text = str(value)
    if not text.startswith("="):
        return text
    # openpyxl stores text starting with "=" as a formula, which Excel would run: keep it text.
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    return cell


def export_response(columns: Sequence[Column], rows: Sequence[dict[str, Any]], *, fmt: ExportFormat,
                    lang: HeaderLanguage, filename: str, title: str = "export") -> Response[bytes]:
    """A download response holding ``rows`` as CSV or XLSX."""
    headers = [c.zh if lang == "zh" else c.en for c in columns]
    table = [[_cell(r.get(c.key), lang) for c in columns] for r in rows]
    if fmt == "csv":
        content, media_type = _csv(headers, table), "text/csv"  # Litestar adds "; charset=utf-8" to text types
    else:
        content, media_type = _xlsx(headers, table, title), XLSX_TYPE
    return Response(content=content, media_type=media_type,
                    headers={"Content-Disposition": _disposition(f"{filename}.{fmt}")})
