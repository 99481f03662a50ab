"""Decode catalogs and schemes from YAML or JSON, then check them.

Type errors come from msgspec, whose messages already end with the path of the
bad node (`` - at `$.items[2].rule.points` ``); we lift that path into the
raised :class:`CatalogError` / :class:`SchemeError` so callers can show it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, TypeVar

import msgspec
import yaml

from .errors import CatalogError, SchemeError
from .model import Catalog
from .schemes import Scheme
from .validation import check_catalog, check_scheme

__all__ = ["load_catalog", "load_scheme", "decode_catalog", "decode_scheme"]

Format = Literal["yaml", "json"]
T = TypeVar("T")

#: Deepest nesting accepted in YAML; a catalog needs about a dozen levels.
MAX_YAML_DEPTH = 64
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>\$[^`]*)`)?$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`$")


def decode_catalog(data: bytes | str, format: Format = "yaml") -> Catalog:
    """Decode and check a catalog document; raise :class:`CatalogError` with a path."""
    return check_catalog(_decode(data, format, Catalog, CatalogError))


def decode_scheme(data: bytes | str, format: Format = "yaml") -> Scheme:
    """Decode and check a scheme document; raise :class:`SchemeError` with a path."""
    return check_scheme(_decode(data, format, Scheme, SchemeError))


def load_catalog(path: str | Path) -> Catalog:
    """Read a catalog file; the format follows the suffix (``.json``, else YAML)."""
    path = Path(path)
    return decode_catalog(path.read_bytes(), _format_of(path))


def load_scheme(path: str | Path) -> Scheme:
    """Read a scheme file; the format follows the suffix (``.json``, else YAML)."""
    path = Path(path)
    return decode_scheme(path.read_bytes(), _format_of(path))


def _format_of(path: Path) -> Format:
    return "json" if path.suffix.lower() == ".json" else "yaml"


def _decode(data: bytes | str, format: Format, type_: type[T], error: type) -> T:
    if format not in ("yaml", "json"):
        raise ValueError(f"format must be 'yaml' or 'json', not {format!r}")
    decoder = msgspec.yaml.decode if format == "yaml" else msgspec.json.decode
    if format == "yaml":
        _check_yaml_shape(data, error)
    try:
        return decoder(data, type=type_)
    except msgspec.ValidationError as exc:
        match = _AT_PATH.match(str(exc))
        message, path = match["message"], match["path"] or "$"
        unknown = _UNKNOWN_FIELD.match(message)
        if unknown:
            # msgspec locates the enclosing object; point at the field itself.
            path = f"{path}.{unknown['field']}"
        raise error(message, path) from None
    except msgspec.DecodeError as exc:
        # Syntax errors have no node path; the parser's line/column is in the message.
        raise error(f"not valid {format.upper()}: {exc}", "$") from None


def _check_yaml_shape(data: bytes | str, error: type) -> None:
    """Refuse YAML that would overwhelm the loader before loading it.

    An alias repeats a node without repeating its text, so a few hundred bytes can stand for
    billions of nodes; and the C loader recurses once per nesting level, so a long run of
    ``[`` overflows the stack and kills the process. The event stream is read lazily and
    left at the first offence; syntax errors are left to the decoder, which locates them.
    """
    depth = 0
    try:
        for event in yaml.parse(data, Loader=_YAML_LOADER):
            if isinstance(event, yaml.AliasEvent):
                raise error("YAML aliases (*name) are not accepted; write the node out", "$")
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise error(f"nested deeper than {MAX_YAML_DEPTH} levels", "$")
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return
