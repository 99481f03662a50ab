"""Reading an imported table: the first sheet of an XLSX, or a CSV, as header and rows of text.

Cells are read as a Chinese Excel shows them (numbers with their leading zeros, percentages in
percent points, merged cells down their range), CSV as Excel on Chinese Windows saves it
(UTF-8 with or without BOM, else GB18030). What the cells mean is the importer's business
(api.importing); here a file either reads whole or raises ``ValueError`` saying why.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from datetime import date, datetime
from typing import Any

__all__ = ["MAX_ROWS", "XLSX_MAGIC", "read_table"]

XLSX_MAGIC = b"PK\x03\x04"


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        # Spreadsheets store 1001 as 1001.0; codes and tiers must not become "1001.0".
        return str(int(value))
    # NFC, as the API's bodies are (api.schemas.common.to_nfc): one code, one spelling.
    text = unicodedata.normalize("NFC", str(value).strip())
    return text or None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Chinese Windows saves CSV as GBK; GB18030 is its superset.
        return data.decode("gb18030")


def _shown(cell: Any) -> Any:
    """An XLSX cell's value as Excel shows it, where the two differ in what they mean: a
    number formatted with zeros (000123, a code typed with its leading zeros) and a
    percentage (88.5 for 88.5 %, as rates are given in percent points)."""
    value, shape = cell.value, getattr(cell, "number_format", None) or "General"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if _ZEROS.fullmatch(shape) and float(value).is_integer():
            return str(int(value)).zfill(len(shape))
        if shape.endswith("%"):
            return round(value * 100, 9)
    return value


_ZEROS = re.compile(r"0+")
MAX_ROWS = 500_000
"""Rows an imported table may hold. The byte limit alone does not bound an XLSX: a 1 MB
workbook can expand to millions of rows, gigabytes once read."""


def _limited(rows: Any) -> list[list[str | None]]:
    read: list[list[str | None]] = []
    for row in rows:
        if len(read) > MAX_ROWS:  # the header and MAX_ROWS rows
            raise ValueError(f"more than {MAX_ROWS:,} rows: split the file")
        read.append([_cell_text(v) for v in row])
    return read


_UNCACHED = re.compile(rb'<c r="([A-Z]+[0-9]+)"[^>]*>\s*<f(?:[^>]*/>|[^>]*>.*?</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>', re.S)


def _uncached_formulas(xml: bytes) -> list[str]:
    """Cells of the sheet holding a formula but no saved result (written by a program, never
    opened in Excel): openpyxl reads them as empty."""
    return [m.decode() for m in _UNCACHED.findall(xml)] if b"<f" in xml else []


_MERGED = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


def _fill_merged(xml: bytes, rows: list[list[str | None]]) -> None:
    """Give every cell below the first of a merged range the first cell's value.

    Chinese registers merge a column's cells over the rows they share (one 所属单位 over
    its entities); openpyxl's streaming reader sees only the first cell, so the others
    would read as empty: refused as missing, or clearing stored values. Only the range's
    first column is filled, down the rows that were read: a merge across columns (a header
    over two columns) leaves the other columns empty as before, and no range, however
    large, adds a row or a column.
    """
    if b"mergeCell" not in xml or not rows:
        return
    from openpyxl.utils.cell import range_boundaries

    width = len(rows[0])
    for ref in set(_MERGED.findall(xml)):
        column, first_row, _, last_row = range_boundaries(ref.decode())
        if column > width or first_row > len(rows) or column > len(rows[first_row - 1]):
            continue
        value = rows[first_row - 1][column - 1]
        for row in rows[first_row : min(last_row, len(rows))]:
            if len(row) < column:
                row.extend([None] * (column - len(row)))
            row[column - 1] = value


def read_table(data: bytes) -> tuple[list[str], list[tuple[int, list[str | None]]]]:
    """Header and ``(row_number, cells)`` of the first sheet of an XLSX or a CSV file.

    The format is sniffed from the bytes. Row numbers are the spreadsheet's (header = 1);
    blank rows are skipped. Raises ``ValueError`` for an unreadable file.
    """
    if data.startswith(b"--") and b"content-disposition: form-data" in data[:2048].lower():
        raise ValueError("the body is a multipart form: send the file's own bytes as the body "
                         "(curl --data-binary @FILE, not -F)")
    if data.startswith(XLSX_MAGIC):
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken zip or sheet
            raise ValueError(f"not a readable XLSX file ({type(exc).__name__})") from None
        try:
            sheet = book.worksheets[0]
            # Some writers (streaming ones) leave a wrong <dimension>: trusting it drops rows and columns.
            sheet.reset_dimensions()
            rows = _limited([_shown(cell) for cell in row] for row in sheet.iter_rows())
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                xml = archive.read(sheet._worksheet_path)
        finally:
            book.close()
        uncached = _uncached_formulas(xml)
        _fill_merged(xml, rows)
        if uncached:
            # Read as empty, they would clear stored values or look like missing ones.
            raise ValueError(f"cells {', '.join(uncached[:5])}{' …' if len(uncached) > 5 else ''} hold formulas "
                             "with no saved value: open and save the file in Excel, or paste the values")
    else:
        if b"\x00" in data[:4096]:
            raise ValueError("not a CSV or XLSX file")
        try:
            rows = _limited(csv.reader(io.StringIO(_decode(data))))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ValueError(f"not a readable CSV file: {exc}") from None
    if not rows or not any(rows[0]):
        raise ValueError("the file is empty: the first row must name the columns")
    header = [(h or "").strip().lower() for h in rows[0]]
    body = [(n, r) for n, r in enumerate(rows[1:], start=2) if any(c is not None for c in r)]
    return header, body
