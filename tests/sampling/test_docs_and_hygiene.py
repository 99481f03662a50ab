"""docs/sampling.md quotes the reference implementation verbatim and its code runs;
the sampling package keeps its module hygiene (imports, __all__, docstrings, size)."""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

import pytest

from sampling import CONSISTENT_SHA256, PHILOX_KEYED, derive_seed, draw_order

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sampling"
DOC = (ROOT / "docs" / "sampling.md").read_text(encoding="utf-8")
REFERENCE = (PACKAGE / "reference.py").read_text(encoding="utf-8")
SECTIONS = dict(re.findall(r"# \[begin ([\w-]+)\]\n(.*?)# \[end \1\]\n", REFERENCE, re.S))
DOC_BLOCKS = re.findall(r"<!-- reference: ([\w-]+) -->\n```python\n(.*?)```", DOC, re.S)


def test_every_reference_section_is_quoted_verbatim_in_the_docs():
    assert [name for name, _ in DOC_BLOCKS] == list(SECTIONS)
    for name, code in DOC_BLOCKS:
        assert code == SECTIONS[name], name


def test_reference_implementations_stay_short():
    for name in ("consistent-sha256", "philox-keyed", "stratified", "population-digest"):
        assert len(SECTIONS[name].splitlines()) <= 60, name


def test_the_documented_code_runs_standalone_and_agrees_with_the_library():
    namespace: dict = {}
    exec(compile("".join(code for _, code in DOC_BLOCKS), "docs/sampling.md", "exec"), namespace)  # noqa: S102
    ids = ["ab-1", "ab-2", "cd-1", "ef-3", "市场监管所", "x" * 50]
    for algorithm, function in ((CONSISTENT_SHA256, "consistent_sha256_tickets"), (PHILOX_KEYED, "philox_keyed_tickets")):
        assert namespace[function](ids, "314159") == [(t.ticket, t.id) for t in draw_order(ids, "314159", algorithm)]
    assert namespace["derive_seed"]("1", "units") == derive_seed("1", "units")


def test_the_documented_example_runs():
    (example,) = re.findall(r"<!-- example -->\n```python\n(.*?)```", DOC, re.S)
    exec(compile(example, "docs/sampling.md example", "exec"), {})  # noqa: S102


MODULES = sorted(p for p in PACKAGE.glob("*.py"))
ALLOWED_THIRD_PARTY = {"numpy", "msgspec"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_module_hygiene(path):
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    assert len(source.splitlines()) < 400, "keep modules small"
    assert ast.get_docstring(tree), "module docstring"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module.split(".")[0]]
        else:
            continue
        for name in names:
            assert name in sys.stdlib_module_names or name in ALLOWED_THIRD_PARTY or name == "__future__", name
    if path.name == "reference.py":
        return  # standalone script for third parties, quoted by the docs
    module = importlib.import_module(f"sampling.{path.stem}" if path.stem != "__init__" else "sampling")
    assert isinstance(module.__all__, list) and module.__all__
    for name in module.__all__:
        value = getattr(module, name)
        if callable(value) and getattr(value, "__module__", "").startswith("sampling"):
            assert value.__doc__, f"{path.name}: {name} needs a docstring stating its contract"
