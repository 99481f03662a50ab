"""Lookups over a catalog, built once per catalog and cached.

Catalog Structs are frozen and hashable, so the cache key is the catalog
itself: two equal catalogs share one index.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from .errors import InputError
from .inputs import Finding
from .model import Catalog, Indicator, Item, SubItem

__all__ = ["Entry", "CatalogIndex", "catalog_index"]


class Entry(NamedTuple):
    position: int
    item_index: int
    item: Item
    sub_item: SubItem | None
    indicator: Indicator


class CatalogIndex(NamedTuple):
    entries: tuple[Entry, ...]
    by_code: dict[str, Entry]
    metrics: tuple[str, ...]

    def lookup(self, finding: Finding) -> Entry:
        """The catalog entry of a finding's indicator, or :class:`InputError`."""
        entry = self.by_code.get(finding.indicator)
        if entry is None:
            raise InputError(f"unknown indicator {finding.indicator!r}", finding.id)
        return entry


@lru_cache(maxsize=64)
def catalog_index(catalog: Catalog) -> CatalogIndex:
    """Indicators in document order with their items, and the metrics they read."""
    entries = []
    metrics: dict[str, None] = {}
    for item_index, item in enumerate(catalog.items):
        for sub, indicator in item.all_indicators():
            entries.append(Entry(len(entries), item_index, item, sub, indicator))
            metric = getattr(indicator.rule, "metric", None)
            if metric is not None:
                metrics[metric] = None
    return CatalogIndex(tuple(entries), {e.indicator.code: e for e in entries}, tuple(metrics))
