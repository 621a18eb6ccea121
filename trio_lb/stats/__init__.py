"""Statistics renderers: `show stat` (CSV), `show info`, and the column table they share.

    from trio_lb.stats import render_csv, render_info, parse_show_stat
    text = render_csv(runtime, now)                       # the whole `show stat` reply block
    req = parse_show_stat(["be_app", "4", "-1"], runtime)  # CommandError on bad input
    text = render_csv(runtime, now, filter=req.filter, legends=level >= operator)

Pure code: nothing here reads the clock or touches a socket; `now` is the caller's clock (the
same one the runtime's last_change / rates were stamped with).
"""

from trio_lb.stats.columns import ALL_COLUMNS, BY_NAME, COLUMNS, MODULE_COLUMNS, Column
from trio_lb.stats.csv import render_csv, render_resolvers_csv
from trio_lb.stats.info import INFO_FIELDS, VERSION, ProcessInfo, render_info
from trio_lb.stats.rows import Row, iter_rows
from trio_lb.stats.selection import StatFilter, StatRequest, parse_show_stat

__all__ = [
    "ALL_COLUMNS",
    "BY_NAME",
    "COLUMNS",
    "Column",
    "INFO_FIELDS",
    "MODULE_COLUMNS",
    "ProcessInfo",
    "Row",
    "StatFilter",
    "StatRequest",
    "VERSION",
    "iter_rows",
    "parse_show_stat",
    "render_csv",
    "render_info",
    "render_resolvers_csv",
]
