"""The leaderboard (绩效之窗) as a table for export: the very rows of the JSON leaderboard, one
column per catalog item, headers and labels in English or Chinese."""

from __future__ import annotations

from typing import Any, Sequence

from api.exports import Column, HeaderLanguage
from api.schemas.scores import LeaderboardRow
from scoring import Catalog, Grading

__all__ = ["leaderboard_table"]

HEAD = [Column("rank", "Rank", "排名"), Column("unit_code", "Unit code", "单位代码"), Column("unit_name", "Unit", "单位"),
        Column("total", "Total", "总分")]
TAIL = [
    Column("grade", "Grade", "等级"),
    Column("passed", "Passed", "是否合格"),
    Column("accountability", "Below accountability line", "低于问责线"),
    Column("commended", "Commended", "表彰"),
    Column("flagged", "Flagged", "末位"),
    Column("vetoed", "Veto", "一票否决"),
    Column("warning_level", "Warning level", "预警等级"),
    Column("warnings", "Warnings", "预警项数"),
]
WARNING_ZH = {"watch": "关注", "warning": "警告", "serious_warning": "严重警告"}


def leaderboard_table(catalog: Catalog, grading: Grading, item_codes: Sequence[str], rows: Sequence[LeaderboardRow],
                      lang: HeaderLanguage) -> tuple[list[Column], list[dict[str, Any]]]:
    """Columns (an item's header is its name) and rows; figures are the rows' own floats, a
    grade its band's name in the language asked for (the JSON leaderboard gives its code)."""
    items = {item.code: item for item in catalog.items}
    grades = {band.code: band.name if lang == "zh" else band.name_en for band in grading.bands}
    columns = list(HEAD)
    for code in item_codes:
        item = items.get(code)
        columns.append(Column(f"item.{code}", item.name_en if item else code, item.name if item else code))
    columns += TAIL
    table = []
    for row in rows:
        level = row.warning_level
        table.append({
            "rank": row.rank, "unit_code": row.unit_code, "unit_name": row.unit_name, "total": row.total,
            **{f"item.{i.code}": i.score for i in row.items},
            "grade": grades.get(row.grade, row.grade) if row.grade is not None else None, "passed": row.passed, "accountability": row.accountability, "commended": row.commended,
            "flagged": row.flagged, "vetoed": row.vetoed,
            "warning_level": WARNING_ZH[level] if lang == "zh" and level is not None else level, "warnings": row.warnings,
        })
    return columns, table
