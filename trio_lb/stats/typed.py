"""Typed fields of `show stat` / `show info`, and the two line formats printed from them.

Theory of operation
-------------------
HAProxy fills an array of typed fields per object (stats_fill_*), then one emitter per format
walks it, skipping the empty ones. Here `stat_fields(row)` and `info_fields(...)` play the
filler: they walk the column / info tables (columns.py, info.py) and return a `Field` for each
present value, with its position, name, tags ("MGP": origin, nature, scope letters), type and
description. The emitters are then one line each:

* `typed`: `<F|B|S|L>.<iid>.<sid>.<pos>.<name>.<pid>:<tags>:<type>:<value>` for a stat field,
  `<pos>.<name>.<pid>:<tags>:<type>:<value>` for an info field; strings are printed raw;
* the `show info` text: `<name>: <value>`, strings CSV-encoded as stats_emit_raw_data_field();
* `desc` appends `:"<description>"` to either.

`float` (show info only) turns the fields HAProxy 2.6.12 computes as floating point into `flt`
values, printed as printf("%f") with trailing zeros trimmed (flt_trim()); two of them change
tags as they do in 2.6.12. The JSON emitter (json_.py) reads the same fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable, NamedTuple, Union

from trio_lb.stats.columns import ALL_COLUMNS, COLUMNS
from trio_lb.stats.csv import csv_field
from trio_lb.stats.info import INFO_FIELDS, InfoField, InfoState, ProcessInfo
from trio_lb.stats.rows import Row, iter_rows
from trio_lb.stats.selection import StatFilter

if TYPE_CHECKING:
    from trio_lb.state.proxies import Runtime

FieldValue = Union[int, float, str]
PROCESS_NUM = 1  # the `<pid>` of every line: trio-lb is one worker process


class Field(NamedTuple):
    pos: int
    name: str
    tags: str  # origin, nature, scope letters
    type: str  # s32 s64 u32 u64 flt str
    value: FieldValue
    desc: str


# --- the fillers ------------------------------------------------------------------------------

def stat_fields(row: Row, modules: bool = True) -> list[Field]:
    """The present fields of one `show stat` object (the `-` delimiter is not a field)."""
    out = []
    for col in ALL_COLUMNS if modules else COLUMNS:
        value = col.value(row)
        if value is not None:
            tags, typ = col.tags_for(row.kind)
            out.append(Field(col.pos, col.name, tags, typ, value, col.desc))
    return out


def _uptime_flt(s: InfoState) -> float:
    return max(0.0, s.now - s.runtime.start_time)


def _start_time_flt(s: InfoState) -> float | None:
    return None if s.proc.epoch is None else s.proc.epoch - (s.now - s.runtime.start_time)


# `float`: field -> (tags it then has, its float getter; None: the integer value as a float)
_FLOAT: dict[str, tuple[str, Callable[[InfoState], float | None] | None]] = {
    "Uptime_sec": ("MDP", _uptime_flt),
    "ConnRate": ("MRP", None),
    "SessRate": ("MRP", None),
    "SslRate": ("MRP", None),
    "SslFrontendKeyRate": ("MRP", None),  # MGP:u32 without `float`
    "SslFrontendSessionReuse_pct": ("MRP", None),  # idem
    "SslBackendKeyRate": ("MRP", None),
    "CompressBpsIn": ("MRP", None),
    "CompressBpsOut": ("MRP", None),
    "Start_time_sec": ("MDP", _start_time_flt),
}


def _info_field(f: InfoField, state: InfoState, use_float: bool) -> Field | None:
    as_float = _FLOAT.get(f.name) if use_float else None
    if as_float is None:
        value = f.get(state)
        return None if value is None else Field(f.pos, f.name, f.tags, f.type, value, f.desc)
    tags, getter = as_float
    if getter is not None:
        fvalue = getter(state)
    else:
        ivalue = f.get(state)
        fvalue = None if ivalue is None else float(ivalue)
    return None if fvalue is None else Field(f.pos, f.name, tags, "flt", fvalue, f.desc)


def info_fields(runtime: Runtime, now: float, proc: ProcessInfo | None = None, *,
                use_float: bool = False) -> list[Field]:
    """The present `show info` fields, in position order (absent ones leave holes)."""
    state = InfoState(runtime, now, proc or ProcessInfo())
    fields = (_info_field(f, state, use_float) for f in INFO_FIELDS)
    return [f for f in fields if f is not None]


# --- value text -------------------------------------------------------------------------------

def flt_text(value: float) -> str:
    """printf("%f"), then the trailing zeros and a bare dot trimmed (HAProxy's flt_trim())."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def typed_value(field: Field) -> str:
    """The value as `typed` prints it: decimal, trimmed float, or the raw string."""
    if field.type == "flt":
        return flt_text(float(field.value))
    return str(field.value)


def raw_value(field: Field) -> str:
    """The value as the `show info` text prints it: strings CSV-encoded."""
    if field.type == "flt":
        return flt_text(float(field.value))
    return csv_field(field.value) if isinstance(field.value, str) else str(field.value)


def _desc(field: Field, desc: bool) -> str:
    return f':"{field.desc}"' if desc else ""


# --- the emitters -----------------------------------------------------------------------------

def stat_typed_lines(row: Row, *, desc: bool = False, modules: bool = True) -> Iterable[str]:
    prefix = f"{row.kind}.{row.iid}.{row.sid}."
    for f in stat_fields(row, modules):
        yield f"{prefix}{f.pos}.{f.name}.{PROCESS_NUM}:{f.tags}:{f.type}:{typed_value(f)}{_desc(f, desc)}\n"


def render_stat_typed(runtime: Runtime, now: float, *, filter: StatFilter | None = None,  # noqa: A002
                      legends: bool = True, desc: bool = False, modules: bool = True,
                      block: bool = True) -> str:
    """`show stat typed [desc]`: every object's fields, one per line, no header.

    `filter` / `legends` / `modules` / `block` as render_csv().
    """
    parts = [line for row in iter_rows(runtime, now, filter, legends=legends)
             for line in stat_typed_lines(row, desc=desc, modules=modules)]
    if block:
        parts.append("\n")
    return "".join(parts)


def render_info_typed(runtime: Runtime, now: float, proc: ProcessInfo | None = None, *,
                      desc: bool = False, use_float: bool = False, block: bool = True) -> str:
    """`show info typed [desc] [float]`."""
    lines = [f"{f.pos}.{f.name}.{PROCESS_NUM}:{f.tags}:{f.type}:{typed_value(f)}{_desc(f, desc)}\n"
             for f in info_fields(runtime, now, proc, use_float=use_float)]
    return "".join(lines) + ("\n" if block else "")


def render_info_text(runtime: Runtime, now: float, proc: ProcessInfo | None = None, *,
                     desc: bool = False, use_float: bool = False, block: bool = True) -> str:
    """`show info [desc] [float]`: `Name: value` lines (strings CSV-encoded, as HAProxy does)."""
    lines = [f"{f.name}: {raw_value(f)}{_desc(f, desc)}\n"
             for f in info_fields(runtime, now, proc, use_float=use_float)]
    return "".join(lines) + ("\n" if block else "")


def render_resolvers_typed(*, block: bool = True) -> str:
    """`show stat domain resolvers typed`: no nameserver in trio-lb, so no line."""
    return "\n" if block else ""
