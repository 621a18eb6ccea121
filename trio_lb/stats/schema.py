"""`show schema json`: the JSON-schema of the `show info json` / `show stat json` outputs.

HAProxy 2.6 prints a fixed document (stats_dump_json_schema()), compact, on one line. It is
rebuilt here as data, with the tag words taken from the tables the JSON emitter uses, and
serialized without whitespace. Its quirks are kept, since clients compare it verbatim: the Stat
items are titled "InfoItem" and name their value property "typedValue" while requiring "value",
and the source literal has one stray space, after "Avg" in the nature enum.
"""

from __future__ import annotations

import json
from typing import Any

from trio_lb.stats.columns import NATURES, ORIGINS, SCOPES
from trio_lb.stats.json_ import OBJ_TYPES

_UNKNOWN = "Unknown"
_JSON_INT = (1 << 53) - 1  # the range HAProxy keeps 64-bit values in (RFC 7159 section 6)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/definitions/{name}"}


def _enum(words: list[str]) -> dict[str, Any]:
    return {"type": "string", "enum": words + [_UNKNOWN]}


def _typed(name: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"properties": {"type": {"type": "string", "enum": [name]}, "value": value},
            "required": ["type", "value"]}


def _integer(minimum: int, maximum: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


_VALUE_KINDS = {
    "s32Value": _typed("s32", _integer(-(1 << 31), (1 << 31) - 1)),
    "s64Value": _typed("s64", _integer(-_JSON_INT, _JSON_INT)),
    "u32Value": _typed("u32", _integer(0, (1 << 32) - 1)),
    "u64Value": _typed("u64", _integer(0, _JSON_INT)),
    "strValue": _typed("str", {"type": "string"}),
}


def _items(title: str, head: dict[str, Any], value_key: str, required: list[str]) -> dict[str, Any]:
    properties = {**head, "field": _ref("field"), "processNum": _ref("processNum"), "tags": _ref("tags"),
                  value_key: _ref("typedValue")}
    return {"title": title, "type": "array",
            "items": {"title": "InfoItem", "type": "object", "properties": properties, "required": required}}


_STAT_HEAD = {
    "objType": {"enum": list(OBJ_TYPES.values()) + [_UNKNOWN]},
    "proxyId": {"type": "integer", "minimum": 0},
    "id": {"type": "integer", "minimum": 0},
}

JSON_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "oneOf": [
        _items("Info", {}, "value", ["field", "processNum", "tags", "value"]),
        _items("Stat", _STAT_HEAD, "typedValue", ["objType", "proxyId", "id", "field", "processNum", "tags",
                                                  "value"]),
        {"title": "Error", "type": "object", "properties": {"errorStr": {"type": "string"}},
         "required": ["errorStr"]},
    ],
    "definitions": {
        "field": {"type": "object", "pos": {"type": "integer", "minimum": 0}, "name": {"type": "string"},
                  "required": ["pos", "name"]},
        "processNum": {"type": "integer", "minimum": 1},
        "tags": {"type": "object",
                 "origin": _enum(list(ORIGINS.values())),
                 "nature": _enum(list(NATURES.values())),
                 "scope": _enum(sorted(SCOPES.values())),
                 "required": ["origin", "nature", "scope"]},
        "typedValue": {
            "type": "object",
            "oneOf": [{"$ref": f"#/definitions/typedValue/definitions/{name}"} for name in _VALUE_KINDS],
            "definitions": {**_VALUE_KINDS,
                            "unknownValue": {"properties": {"type": {"type": "integer", "minimum": 0},
                                                            "value": {"type": "string", "enum": ["unknown"]}},
                                             "required": ["type", "value"]}},
        },
    },
}

# the one place where HAProxy's literal is not compact
_STRAY_SPACE = ('"Avg","Unknown"', '"Avg", "Unknown"')


def schema_text() -> str:
    """The schema exactly as HAProxy 2.6 prints it, without the line end."""
    return json.dumps(JSON_SCHEMA, separators=(",", ":")).replace(*_STRAY_SPACE)


def render_schema_json(*, block: bool = True) -> str:
    """The `show schema json` reply: the schema, `\\n`, and the CLI's empty line if `block`."""
    return schema_text() + "\n" + ("\n" if block else "")
