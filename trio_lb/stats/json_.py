"""`show stat json` and `show info json`, byte for byte as HAProxy 2.6 prints them.

Theory of operation
-------------------
The fields are the typed ones (typed.py); each becomes one compact JSON object, keys in
HAProxy's order:

    stat: {"objType":"Server","proxyId":4,"id":2,"field":{"pos":0,"name":"pxname"},
           "processNum":1,"tags":{"origin":..,"nature":..,"scope":..},"value":{"type":"str","value":"be"}}
    info: the same without objType/proxyId/id.

`show stat json` is `[` + one `[...]` array per object, comma-separated, + `]\\n`; `show info
json` one array + `\\n`. No whitespace anywhere. `desc` is ignored by the JSON forms (2.6.12).
Integers (and `float` values) are bare JSON numbers.

One deliberate difference: HAProxy 2.6 copies strings between the quotes unescaped, which is
invalid JSON when a string holds `"`, `\\` or a control character (a check's `last_chk`, a
`description`; HAProxy issue #2326, fixed in later versions). trio-lb escapes those three
kinds of characters as JSON requires; every other string comes out as HAProxy's.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from trio_lb.stats.columns import NATURES, ORIGINS, SCOPES
from trio_lb.stats.info import ProcessInfo
from trio_lb.stats.rows import Row, iter_rows
from trio_lb.stats.selection import StatFilter
from trio_lb.stats.typed import PROCESS_NUM, Field, flt_text, info_fields, stat_fields

if TYPE_CHECKING:
    from trio_lb.state.proxies import Runtime

OBJ_TYPES = {"F": "Frontend", "B": "Backend", "L": "Listener", "S": "Server"}


def json_string(text: str) -> str:
    """A JSON string literal; non-ASCII text is kept as is, as HAProxy copies bytes."""
    return json.dumps(text, ensure_ascii=False)


def json_tags(tags: str) -> str:
    origin, nature, scope = tags
    return (f'{{"origin":"{ORIGINS.get(origin, "Unknown")}","nature":"{NATURES.get(nature, "Unknown")}",'
            f'"scope":"{SCOPES.get(scope, "Unknown")}"}}')


def json_value(field: Field) -> str:
    if field.type == "flt":
        text = flt_text(float(field.value))
    elif isinstance(field.value, str):
        text = json_string(field.value)
    else:
        text = str(field.value)
    return f'{{"type":"{field.type}","value":{text}}}'


def _field_json(field: Field, head: str) -> str:
    return (f'{{{head}"field":{{"pos":{field.pos},"name":{json_string(field.name)}}},"processNum":{PROCESS_NUM},'
            f'"tags":{json_tags(field.tags)},"value":{json_value(field)}}}')


def stat_object_json(row: Row, modules: bool = True) -> str:
    """One `show stat` object: the JSON array of its present fields."""
    head = f'"objType":"{OBJ_TYPES[row.kind]}","proxyId":{row.iid},"id":{row.sid},'
    return "[" + ",".join(_field_json(f, head) for f in stat_fields(row, modules)) + "]"


def render_stat_json(runtime: Runtime, now: float, *, filter: StatFilter | None = None,  # noqa: A002
                     legends: bool = True, modules: bool = True, block: bool = True) -> str:
    """`show stat json`: `[[obj fields...],[...]]` on one line; arguments as render_csv()."""
    objects = (stat_object_json(row, modules) for row in iter_rows(runtime, now, filter, legends=legends))
    return "[" + ",".join(objects) + "]\n" + ("\n" if block else "")


def render_info_json(runtime: Runtime, now: float, proc: ProcessInfo | None = None, *,
                     use_float: bool = False, block: bool = True) -> str:
    """`show info json [float]`: one array of the present info fields."""
    items = (_field_json(f, "") for f in info_fields(runtime, now, proc, use_float=use_float))
    return "[" + ",".join(items) + "]\n" + ("\n" if block else "")


def render_resolvers_json(*, block: bool = True) -> str:
    """`show stat domain resolvers json`: no nameserver in trio-lb, so an empty array."""
    return "[]\n" + ("\n" if block else "")
