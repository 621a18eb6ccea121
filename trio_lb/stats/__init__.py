"""Statistics renderers: `show stat` (CSV, typed, JSON), `show info`, `show schema json`, and the
column table they share.

    from trio_lb.stats import render_csv, render_info, parse_show_stat
    text = render_csv(runtime, now)                       # the whole `show stat` reply block
    req = parse_show_stat(["be_app", "4", "-1"], runtime)  # CommandError on bad input
    text = render_csv(runtime, now, filter=req.filter, legends=level >= operator)
    text = render_stat_typed(runtime, now, filter=req.filter, desc=req.desc)  # `typed [desc]`
    text = render_stat_json(runtime, now, filter=req.filter)                 # `json`
    text = render_info_text(runtime, now, proc, desc=True, use_float=True)     # `show info desc float`
    text = render_schema_json()                                                # `show schema json`

Pure code: nothing here reads the clock or touches a socket; `now` is the caller's clock (the
same one the runtime's last_change / rates were stamped with).
"""

from trio_lb.stats.columns import ALL_COLUMNS, BY_NAME, COLUMNS, MODULE_COLUMNS, Column
from trio_lb.stats.csv import render_csv, render_resolvers_csv
from trio_lb.stats.info import INFO_FIELDS, VERSION, ProcessInfo, render_info
from trio_lb.stats.json_ import render_info_json, render_resolvers_json, render_stat_json
from trio_lb.stats.rows import Row, iter_rows
from trio_lb.stats.schema import JSON_SCHEMA, render_schema_json
from trio_lb.stats.selection import StatFilter, StatRequest, parse_show_stat
from trio_lb.stats.typed import (Field, info_fields, render_info_text, render_info_typed,
                                 render_resolvers_typed, render_stat_typed, stat_fields)

__all__ = [
    "ALL_COLUMNS",
    "BY_NAME",
    "COLUMNS",
    "Column",
    "Field",
    "INFO_FIELDS",
    "JSON_SCHEMA",
    "MODULE_COLUMNS",
    "ProcessInfo",
    "Row",
    "StatFilter",
    "StatRequest",
    "VERSION",
    "info_fields",
    "iter_rows",
    "parse_show_stat",
    "render_csv",
    "render_info",
    "render_info_json",
    "render_info_text",
    "render_info_typed",
    "render_resolvers_csv",
    "render_resolvers_json",
    "render_resolvers_typed",
    "render_schema_json",
    "render_stat_json",
    "render_stat_typed",
    "stat_fields",
]
