"""`show stat` as CSV, byte for byte as HAProxy 2.6 prints it (also the stats page's `;csv`).

The header is `# ` then every column name followed by a comma; each line then has every value
followed by a comma, so every line ends with `,` and all lines have the same number of fields.
Empty fields are the ones HAProxy leaves empty (see columns.py). A string is quoted only when it
holds `,` `"` CR or LF, with `"` doubled, as csv_enc_append() does. The CLI reply block ends
with an empty line, so `render_csv` returns the dump followed by one more "\n".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trio_lb.stats.columns import Value, header_names, values
from trio_lb.stats.rows import Row, iter_rows
from trio_lb.stats.selection import StatFilter

if TYPE_CHECKING:
    from trio_lb.state.proxies import Runtime

_SPECIALS = frozenset(',"\r\n')

# `show stat domain resolvers`: the DNS counters of each `resolvers` section's nameservers.
# trio-lb resolves nothing at run time, so the dump is this header alone.
RESOLVERS_HEADER = ("# id,pid,sent,send_error,valid,update,cname,cname_error,any_err,nx,timeout,refused,"
                    "other,invalid,too_big,truncated,outdated,\n")


def csv_field(value: Value) -> str:
    """One field's text: empty for None, decimal for ints, strings quoted only when needed."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if _SPECIALS.intersection(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def header_line(modules: bool = True) -> str:
    return "# " + "".join(name + "," for name in header_names(modules)) + "\n"


def row_line(row: Row, modules: bool = True) -> str:
    return "".join(csv_field(v) + "," for v in values(row, modules)) + "\n"


def render_csv(runtime: Runtime, now: float, *, filter: StatFilter | None = None,  # noqa: A002 - HAProxy's word
               legends: bool = True, modules: bool = True, block: bool = True) -> str:
    """The `show stat` reply.

    `filter`: `show stat <iid> <type> <sid>` and `up` / `no-maint` (selection.parse_show_stat).
    `legends`: addr/cookie/algo are filled (CLI socket level operator or admin; on the stats
    page only with `stats show-legends`). `modules`: the ssl/h2/h1 columns after `-`, as a
    2.6.12 build with OpenSSL prints them. `block`: append the CLI's terminating empty line
    (the stats page's `;csv` body has none).
    """
    parts = [header_line(modules)]
    parts.extend(row_line(row, modules) for row in iter_rows(runtime, now, filter, legends=legends))
    if block:
        parts.append("\n")
    return "".join(parts)


def render_resolvers_csv(*, block: bool = True) -> str:
    """`show stat domain resolvers`: no resolvers section exists in trio-lb, so no line."""
    return RESOLVERS_HEADER + ("\n" if block else "")
