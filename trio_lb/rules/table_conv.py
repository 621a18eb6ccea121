"""The `table_*(<table>)` converters: look the sample up in a stick table, read one counter.

`src,table_http_req_rate(st)` is 0 when the key is not in the table, and no sample when the
table does not store that counter, as HAProxy 2.6 (stick_table.c sample_conv_table_*). The
tables belong to the running daemon, not to the configuration: a converter finds them through
the stream being served (`STREAM`, a context variable the data plane sets for each stream's
task when its rules start), so the same compiled rule serves every runtime.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from trio_lb.rules.expr import CONVERTERS, ConvSpec

STREAM: ContextVar[Any] = ContextVar("trio_lb_stream_rules", default=None)

# converter -> (stored data type, scale): kbytes_* read bytes_*_cnt / 1024
_READS = {
    "bytes_in_rate": ("bytes_in_rate", 1), "bytes_out_rate": ("bytes_out_rate", 1),
    "conn_cnt": ("conn_cnt", 1), "conn_cur": ("conn_cur", 1), "conn_rate": ("conn_rate", 1),
    "gpc0": ("gpc0", 1), "gpc0_rate": ("gpc0_rate", 1), "gpc1": ("gpc1", 1), "gpc1_rate": ("gpc1_rate", 1),
    "gpt0": ("gpt0", 1), "http_err_cnt": ("http_err_cnt", 1), "http_err_rate": ("http_err_rate", 1),
    "http_fail_cnt": ("http_fail_cnt", 1), "http_fail_rate": ("http_fail_rate", 1),
    "http_req_cnt": ("http_req_cnt", 1), "http_req_rate": ("http_req_rate", 1),
    "kbytes_in": ("bytes_in_cnt", 1024), "kbytes_out": ("bytes_out_cnt", 1024),
    "server_id": ("server_id", 1), "sess_cnt": ("sess_cnt", 1), "sess_rate": ("sess_rate", 1),
}


def _builder(dtype: str, scale: int) -> Any:
    def build(args: tuple, pctx: Any) -> Any:
        name = args[0]

        def convert(value: Any) -> int | None:
            ctx = STREAM.get()
            table = ctx.tables.get(name) if ctx is not None else None
            if table is None:
                return None
            key = table.key_of(value)
            if key is None:
                return None
            entry = table.lookup(key, ctx.now)
            if entry is None:
                return 0
            got = table.read(entry, dtype, ctx.now)
            return None if got is None else got // scale
        return convert
    return build


def _trackers(args: tuple, pctx: Any) -> Any:
    name = args[0]

    def convert(value: Any) -> int | None:
        ctx = STREAM.get()
        table = ctx.tables.get(name) if ctx is not None else None
        key = table.key_of(value) if table is not None else None
        if key is None:
            return None
        entry = table.lookup(key, ctx.now)
        return entry.ref_cnt if entry is not None else 0
    return convert


for _name, (_dtype, _scale) in _READS.items():
    CONVERTERS[f"table_{_name}"] = ConvSpec(f"table_{_name}", "str", "sint", _builder(_dtype, _scale), ("str",), 1)
CONVERTERS["table_trackers"] = ConvSpec("table_trackers", "str", "sint", _trackers, ("str",), 1)
