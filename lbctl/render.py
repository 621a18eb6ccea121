"""Readable views of the Runtime API's table-shaped replies.

How it works: each table command has a *parser* (reply text -> rows, a list of dicts keyed by the
server's own column names, values kept as the server's strings) and a list of *useful columns*
shown by default. `render()` picks the parser from the command words, checks the reply has the
expected shape (an error text, `show stat json` or `show sess <id>` are left alone: None, the caller
prints the raw reply), and draws the rows with tabulate: numeric columns right-aligned (tabulate's
own number parsing is off so values print exactly as the server sent them), status cells coloured
with ANSI codes when asked. `render_json()` returns the same rows as JSON.

The show stat helpers (`parse_stat`, `health_summary`, `names`, `server_rows`) are shared with the
REPL's toolbar and completion and with lbctl's `servers` and `drain` commands.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from typing import Callable

from tabulate import tabulate

TABLE_COMMANDS: tuple[str, ...] = (
    "show stat", "show servers state", "show info", "show table", "show sess", "show backend",
)

Rows = list[dict[str, str]]

# -- parsers -------------------------------------------------------------------------------------


def parse_stat(reply: str) -> Rows:
    """`show stat` CSV -> one dict per row (header `# pxname,svname,...`; trailing comma dropped)."""
    lines = reply.splitlines()
    if not lines or not lines[0].startswith("# pxname,"):
        return []
    header = next(csv.reader([lines[0][2:]]))
    if header and header[-1] == "":
        header = header[:-1]
    rows = []
    for values in csv.reader(line for line in lines[1:] if line):
        rows.append({name: (values[i] if i < len(values) else "") for i, name in enumerate(header)})
    return rows


def parse_servers_state(reply: str) -> Rows:
    """`show servers state`: version line `1`, `# <names>` header, space-separated rows."""
    lines = [line for line in reply.splitlines() if line]
    if len(lines) < 2 or lines[0] != "1" or not lines[1].startswith("# "):
        return []
    header = lines[1][2:].split()
    return [dict(zip(header, line.split(" "))) for line in lines[2:]]


def parse_info(reply: str) -> dict[str, str]:
    """`show info`: `Name: value` lines, in the server's order."""
    info = {}
    for line in reply.splitlines():
        name, sep, value = line.partition(": ")
        if sep:
            info[name] = value
    return info


_TABLE_HEADER = re.compile(r"^# table: (?P<table>[^,]*), type: (?P<type>[^,]*), size:(?P<size>\d+), "
                           r"used:(?P<used>\d+)")
_TABLE_ENTRY = re.compile(r"^(?P<id>\S+): key=(?P<key>.*?) use=(?P<use>\S+) exp=(?P<exp>\S+)(?P<data>.*)$")


def parse_tables(reply: str) -> Rows:
    """`show table` (no argument): one row per table header line."""
    return [m.groupdict() for m in map(_TABLE_HEADER.match, reply.splitlines()) if m]


def parse_table_entries(reply: str) -> Rows:
    """`show table <name>`: one row per entry; data items become columns (`conn_rate(10000)`...)."""
    rows = []
    for line in reply.splitlines():
        match = _TABLE_ENTRY.match(line)
        if not match:
            continue
        row = {k: v for k, v in match.groupdict().items() if k != "data"}
        for item in match.group("data").split():
            name, _, value = item.partition("=")
            row[name] = value
        rows.append(row)
    return rows


def parse_sess(reply: str) -> Rows:
    """`show sess`: `<ptr>: proto=... src=... rq[...] rp[...] scf=[...] ...` -> dicts (id + fields)."""
    rows = []
    for line in reply.splitlines():
        ptr, sep, rest = line.partition(": ")
        if not sep or " " in ptr:
            continue
        row = {"id": ptr}
        for token in rest.split(" "):
            bracket = re.match(r"^(\w+)\[(.*)\]$", token)
            if bracket:
                row[bracket.group(1)] = bracket.group(2)
            elif "=" in token:
                name, _, value = token.partition("=")
                row[name] = value
        rows.append(row)
    return rows


def parse_backends(reply: str) -> Rows:
    """`show backend`: `# name` then one name per line."""
    lines = [line for line in reply.splitlines() if line]
    if not lines or lines[0] != "# name":
        return []
    return [{"name": line} for line in lines[1:]]


# -- show stat helpers ---------------------------------------------------------------------------

_NOT_SERVERS = {"FRONTEND", "BACKEND"}


def _is_server(row: dict[str, str]) -> bool:
    kind = row.get("type", "")
    if kind:
        return kind == "2"
    return row.get("svname", "") not in _NOT_SERVERS and not row.get("svname", "").startswith("sock-")


def health_summary(rows: Rows) -> dict[str, int]:
    """Count server rows by state: {"up", "down", "maint", "drain"} (`no check` counts as up,
    `NOLB` (soft-stopping) as drain, transitional `UP 1/3` as up and `DOWN 1/2` as down)."""
    summary = {"up": 0, "down": 0, "maint": 0, "drain": 0}
    for row in filter(_is_server, rows):
        summary[status_class(row.get("status", ""))] += 1
    return summary


def status_class(status: str) -> str:
    """A show stat server status -> "up" / "down" / "maint" / "drain"."""
    for prefix, kind in (("MAINT", "maint"), ("DRAIN", "drain"), ("NOLB", "drain"), ("DOWN", "down"),
                         ("UP", "up"), ("no check", "up")):
        if status.startswith(prefix):
            return kind
    return "down"


def names(rows: Rows) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """(frontends, backends, {backend: [servers]}) from show stat rows, in the server's order."""
    frontends: list[str] = []
    backends: list[str] = []
    servers: dict[str, list[str]] = {}
    for row in rows:
        px, sv = row.get("pxname", ""), row.get("svname", "")
        if sv == "FRONTEND" and px not in frontends:
            frontends.append(px)
        elif sv == "BACKEND" and px not in backends:
            backends.append(px)
            servers.setdefault(px, [])
        elif _is_server(row):
            servers.setdefault(px, []).append(sv)
    return frontends, backends, servers


SERVER_COLUMNS = ("backend", "server", "status", "weight", "scur", "qcur", "check")


def server_rows(rows: Rows, backend: str | None = None) -> Rows:
    """The compact `servers` view: one row per server (of `backend` if given)."""
    return [{"backend": r["pxname"], "server": r["svname"], "status": r.get("status", ""),
             "weight": r.get("weight", ""), "scur": r.get("scur", ""), "qcur": r.get("qcur", ""),
             "check": r.get("check_status", "")}
            for r in rows if _is_server(r) and backend in (None, r.get("pxname"))]


def render_servers(rows: Rows, *, color: bool = False) -> str:
    """Draw `server_rows()` output."""
    return _table(rows, list(SERVER_COLUMNS), color=color)


# -- decoding for the servers-state view ---------------------------------------------------------

OP_STATES = {"0": "STOPPED", "1": "STARTING", "2": "RUNNING", "3": "STOPPING"}
ADMIN_FLAGS = ((0x01, "FMAINT"), (0x02, "IMAINT"), (0x04, "CMAINT"), (0x08, "FDRAIN"), (0x10, "IDRAIN"),
               (0x20, "RMAINT"), (0x40, "HMAINT"))
CHECK_STATUSES = ("UNK", "INI", "START", "CHECKED", "HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK",
                  "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "L57DATA", "L7OK", "L7OKC", "L7STS", "PROCERR",
                  "PROCTOUT", "PROCOK")
CHECK_RESULTS = ("UNKNOWN", "NEUTRAL", "FAILED", "PASSED", "CONDPASS")


def _admin_flags(value: str) -> str:
    if not value.isdigit():
        return value
    flags = [name for bit, name in ADMIN_FLAGS if int(value) & bit]
    return "|".join(flags) or "-"


def _lookup(table: tuple[str, ...]) -> Callable[[str], str]:
    return lambda v: table[int(v)] if v.isdigit() and int(v) < len(table) else v


_STATE_DECODERS: dict[str, Callable[[str], str]] = {
    "srv_op_state": lambda v: OP_STATES.get(v, v),
    "srv_admin_state": _admin_flags,
    "srv_check_status": _lookup(CHECK_STATUSES),
    "srv_check_result": _lookup(CHECK_RESULTS),
}


def _decode_state_rows(rows: Rows) -> Rows:
    return [{k: _STATE_DECODERS.get(k, str)(v) for k, v in row.items()} for row in rows]


# -- command table -------------------------------------------------------------------------------

@dataclass(frozen=True)
class View:
    parse: Callable[[str], object]                   # reply -> rows (or a dict for show info)
    useful: tuple[str, ...]                          # default columns (those present are shown)
    accepts: Callable[[list[str]], bool]             # the words after the command name
    decode: Callable[[Rows], Rows] = lambda rows: rows  # only for the default (useful) view


STAT_USEFUL = ("pxname", "svname", "status", "weight", "scur", "smax", "slim", "qcur", "stot", "rate",
               "bin", "bout", "econ", "eresp", "check_status", "lastchg")
STATE_USEFUL = ("be_name", "srv_name", "srv_addr", "srv_port", "srv_op_state", "srv_admin_state",
                "srv_uweight", "srv_iweight", "srv_check_status", "srv_check_result",
                "srv_time_since_last_change")
INFO_USEFUL = ("Name", "Version", "Release_date", "Pid", "Uptime", "Nbthread", "Maxconn", "CurrConns",
               "CumConns", "CumReq", "ConnRate", "SessRate", "MaxConnRate", "Tasks", "Run_queue",
               "Idle_pct", "node", "Stopping", "Jobs", "Listeners", "TotalBytesOut")
TABLES_USEFUL = ("table", "type", "size", "used")
SESS_USEFUL = ("id", "proto", "src", "fe", "be", "srv", "age", "calls", "rate", "cpu", "lat", "exp")

VIEWS: dict[str, View] = {
    "show stat": View(parse_stat, STAT_USEFUL, lambda args: "json" not in args and "typed" not in args),
    "show servers state": View(parse_servers_state, STATE_USEFUL, lambda args: len(args) <= 1,
                               _decode_state_rows),
    "show info": View(parse_info, INFO_USEFUL, lambda args: set(args) <= {"float"}),
    "show table": View(parse_tables, TABLES_USEFUL, lambda args: not args),
    "show table <name>": View(parse_table_entries, (), lambda args: bool(args)),
    "show sess": View(parse_sess, SESS_USEFUL, lambda args: args in ([], ["all"])),
    "show backend": View(parse_backends, ("name",), lambda args: not args),
}


def _view(command: str) -> View | None:
    words = command.split()
    for name in TABLE_COMMANDS:
        n = len(name.split())
        if words[:n] == name.split():
            args = words[n:]
            if name == "show table" and args:
                name = "show table <name>"
            view = VIEWS[name]
            return view if view.accepts(args) else None
    return None


def _parsed(command: str, reply: str) -> tuple[View, object] | None:
    view = _view(command)
    if view is None:
        return None
    data = view.parse(reply)
    if not data and not _looks_empty_ok(command, reply):
        return None  # an error text or an unexpected shape: show it raw
    return view, data


def _looks_empty_ok(command: str, reply: str) -> bool:
    """An empty table is still a table (`show table` with no tables, a table with no entries)."""
    words = command.split()
    if words[:2] == ["show", "table"]:
        return reply.strip() == "" if len(words) == 2 else bool(_TABLE_HEADER.match(reply))
    if words[:2] == ["show", "stat"]:
        return reply.startswith("# pxname,")
    if words[:3] == ["show", "servers", "state"]:
        return reply.startswith("1\n# ")
    return words[:2] == ["show", "backend"] and reply.startswith("# name")


# -- rendering -----------------------------------------------------------------------------------

COLORS = {"green": "\x1b[32m", "red": "\x1b[31m", "yellow": "\x1b[33m", "blue": "\x1b[34m",
          "cyan": "\x1b[36m"}
RESET = "\x1b[0m"
_STATUS_COLUMNS = {"status", "srv_op_state", "srv_admin_state"}


def status_color(status: str) -> str | None:
    """The colour of a status cell: green up, red down, blue maint, yellow drain/transitional."""
    if status.startswith(("MAINT", "FMAINT", "IMAINT", "CMAINT", "RMAINT", "HMAINT")):
        return "blue"
    if status.startswith(("DRAIN", "NOLB", "PAUSED", "FULL", "WAITING", "STARTING", "STOPPING", "FDRAIN",
                          "IDRAIN")):
        return "yellow"
    if re.match(r"^(UP|DOWN) \d+/\d+$", status):
        return "yellow"
    if status.startswith(("DOWN", "STOP", "STOPPED")):
        return "red"
    if status.startswith(("UP", "OPEN", "RUNNING")):
        return "green"
    if status == "no check":
        return "cyan"
    return None


def _paint(column: str, value: str, color: bool) -> str:
    if not color or column not in _STATUS_COLUMNS:
        return value
    name = status_color(value)
    return f"{COLORS[name]}{value}{RESET}" if name else value


_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _table(rows: Rows, columns: list[str], *, color: bool) -> str:
    right = [all(_NUMBER.match(r.get(c, "")) for r in rows if r.get(c, "")) and any(r.get(c) for r in rows)
             for c in columns]
    body = [[_paint(c, row.get(c, ""), color) for c in columns] for row in rows]
    return tabulate(body, headers=columns, tablefmt="simple", disable_numparse=True,
                    colalign=["right" if r else "left" for r in right] or None)


def _columns(rows: Rows, useful: tuple[str, ...], all_columns: bool) -> list[str]:
    if not rows:
        return list(useful)
    present: list[str] = []
    for row in rows:
        present.extend(k for k in row if k not in present)
    if all_columns or not useful:
        return present
    return [c for c in useful if c in present] or present


def render(command: str, reply: str, *, all_columns: bool = False, color: bool = False) -> str | None:
    """A table for the table commands; None for any other command or an unexpected reply."""
    parsed = _parsed(command, reply)
    if parsed is None:
        return None
    view, data = parsed
    if isinstance(data, dict):  # show info: one field per line
        fields = [k for k in (data if all_columns else view.useful) if k in data] or list(data)
        return tabulate([[k, data[k]] for k in fields], headers=["field", "value"], tablefmt="simple",
                        disable_numparse=True)
    rows: Rows = data  # type: ignore[assignment]
    if not all_columns:
        rows = view.decode(rows)
    text = _table(rows, _columns(rows, view.useful, all_columns), color=color)
    words = command.split()
    if words[:2] == ["show", "table"] and len(words) > 2:
        header = _TABLE_HEADER.match(reply)
        if header:
            h = header.groupdict()
            text = f"table: {h['table']}  type: {h['type']}  size: {h['size']}  used: {h['used']}\n{text}"
    return text


def render_json(command: str, reply: str) -> str | None:
    """The rows (a list of dicts; a dict for show info) as JSON; None if not a table command."""
    parsed = _parsed(command, reply)
    if parsed is None:
        return None
    return json.dumps(parsed[1], indent=2)
