"""The JSON types a mapping reads, checked before it reads them.

A shape names, for each field a mapping uses, what it must be: TEXT, BOOL, ANY, an object
(a dict of shapes) or an array (a one-item list: the shape of every item). `conform` returns a
copy of a record with those fields in their expected types, or raises an InputError naming the
record and the field (`profile.login`, `target[2].id`). Fields the shape does not name are
left as they are (they only reach `raw` or `attributes`, which keep any JSON).

Rules (docs/decisions.md, "Hostile input"): null is a missing value everywhere, and a null
item of an array is no item. Where text is expected, a number is read as its JSON text and a
boolean as true/false (SCIM's export reads the same way); an object or an array is refused.
Where a boolean is expected, "true"/"false" in any case are read as booleans; anything else
is refused. Where an object or an array is expected, anything else is refused.
"""

from __future__ import annotations

from typing import Any

from connectors.exports.files import json_type, scalar_text
from evidence.errors import InputError

__all__ = ["ANY", "BOOL", "TEXT", "Shape", "conform"]

TEXT = "text"
BOOL = "bool"
ANY = "any"
Shape = str | dict[str, Any] | list[Any]


def conform(rec: dict[str, Any], shape: dict[str, Shape], file: str, record: str) -> dict[str, Any]:
    """`rec` with the fields `shape` names in their expected types (see the module docstring)."""
    return _object(rec, shape, file, record, "")


def _object(
    value: dict[str, Any], shape: dict[str, Shape], file: str, record: str, field: str
) -> dict[str, Any]:
    out = dict(value)
    for key, sub in shape.items():
        if key in value:
            out[key] = _value(value[key], sub, file, record, f"{field}.{key}" if field else key)
    return out


def _value(value: Any, shape: Shape, file: str, record: str, field: str) -> Any:
    if value is None or shape == ANY:
        return value
    if shape == TEXT:
        return scalar_text(value, file, record, field)
    if shape == BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise InputError(file, record, field, f"expected a boolean, got {json_type(value)}")
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            raise InputError(file, record, field, f"expected an object, got {json_type(value)}")
        return _object(value, shape, file, record, field)
    if not isinstance(value, list):
        raise InputError(file, record, field, f"expected an array, got {json_type(value)}")
    inner = shape[0]
    return [
        _value(item, inner, file, record, f"{field}[{n}]")
        for n, item in enumerate(value)
        if item is not None
    ]
