"""Small builders shared by the scoring tests."""

from __future__ import annotations

import textwrap

from scoring import Finding, Measurement, Unit, decode_catalog

HEADER = """\
code: test
version: 1
name: 测试目录
name_en: Test catalog
"""


def catalog(body: str, header: str = HEADER):
    """A checked catalog from a YAML body appended to a standard header."""
    return decode_catalog(header + textwrap.dedent(body))


def finding(id: str, indicator: str, unit: str = "u1", **kw) -> Finding:
    return Finding(id=id, unit=unit, indicator=indicator, **kw)


def measurement(metric: str, value: float, unit: str = "u1", period: str = "p", **kw) -> Measurement:
    return Measurement(
        id=f"{unit}:{metric}", unit=unit, period=period, metric=metric, value=value, source="test", **kw
    )


def unit(code: str = "u1", **kw) -> Unit:
    return Unit(code=code, **kw)
