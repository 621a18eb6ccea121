"""`show table`, `clear table`, `set table` (HAProxy 2.6 src/stick_table.c, cli_parse_table_req()
and cli_io_handler_table()).

The tables are `ctx.runtime.tables` (name -> state.sticktables.StickTable), in configuration
order; HAProxy's table list is built by prepending, so `show table` lists them last first.

* `show table` prints one header per table. `show table <t>` prints the header then, for an
  operator socket, every live entry in key order, optionally filtered by up to four
  `data.<type> <op> <int>` (rates read now) - or one entry with `key <k>`. A user-level socket
  gets "# contents not dumped due to insufficient privileges" (the *socket's* level, as HAProxy
  checks its bind_conf; the key form checks the session's level and says Permission denied).
* `clear table <t>` removes the entries (filtered, or `key <k>`) nobody tracks; with the
  HAProxy 2.6 quirk that an entry is kept when the one after it is in use.
* `set table <t> key <k> [data.<type> <int>]...` creates or updates an entry; a rate gets the
  value as its current period count.
Integer arguments are read like strl2llrc(): an optional sign and digits only.
"""

from __future__ import annotations

from typing import Any

from trio_lb.admin.messages import PERMISSION_DENIED
from trio_lb.admin.registry import Args, command
from trio_lb.admin.session import Session
from trio_lb.errors import CommandError
from trio_lb.state.sticktables import DATA_INDEX, STD_TYPE, StickTable

FILTER_LEN = 4  # STKTABLE_FILTER_LEN
_OPS = ("eq", "ne", "le", "ge", "lt", "gt")
_NO_PRIVILEGE = "# contents not dumped due to insufficient privileges\n"
_ERR_ARGS = {
    "show": 'Optional argument only supports "data.<store_data_type>" <operator> <value> and key <key>\n',
    "clear": 'Required arguments: <table> "data.<store_data_type>" <operator> <value> or <table> key <key>\n',
    "set": "Required arguments: <table> key <key> [data.<store_data_type> <value>]*\n",
}
_UNSUPPORTED_KEY = {
    "show": "Showing keys from tables of type other than ip, ipv6, string and integer is not supported\n",
    "clear": "Removing keys from tables of type other than ip, ipv6, string and integer is not supported\n",
    "set": "Inserting keys into tables of type other than ip, ipv6, string and integer is not supported\n",
}


def strl2llrc(text: str) -> int | None:
    body = text[1:] if text[:1] in "+-" else text
    if not text or not body or not (body.isascii() and body.isdigit()):
        return None
    return int(text)


def _tables(ctx: Any) -> dict[str, StickTable]:
    return getattr(ctx.runtime, "tables", None) or {}


def _now(ctx: Any) -> float:
    return ctx.now()


def _operator_socket(session: Session) -> bool:
    level = getattr(session, "socket_level", session.level)
    return level in ("operator", "admin")


def _filters(table: StickTable, args: Args, action: str) -> list[tuple[str, str, int]]:
    """table_prepare_data_request()."""
    if action == "set":
        raise CommandError('content-based lookup is only supported with the "show" and "clear" actions\n')
    out = []
    i = 0
    while i < FILTER_LEN:
        word = args.at(3 + 3 * i)
        if i > 0 and not word:
            break
        dtype = word[5:] if word.startswith("data.") else None
        if dtype not in DATA_INDEX:
            raise CommandError(f"Filter entry #{i + 1}: Unknown data type\n")
        if not table.has(dtype):
            raise CommandError(f"Filter entry #{i + 1}: Data type not stored in this table\n")
        op = args.at(4 + 3 * i)
        if op not in _OPS:
            raise CommandError(f'Filter entry #{i + 1}: Require and operator among "eq", "ne", "le", "ge", '
                               '"lt", "gt"\n')
        value = strl2llrc(args.at(5 + 3 * i))
        if value is None:
            raise CommandError(f"Filter entry #{i + 1}: Require a valid integer value to compare against\n")
        out.append((dtype, op, value))
        i += 1
    if args.at(3 + 3 * i):
        raise CommandError(f"Detected extra data in filter, {3 + 3 * i + 1}th word of input, after "
                           f"'{args.at(2 + 3 * i)}'\n")
    return out


def _keep(table: StickTable, entry: Any, filters: list[tuple[str, str, int]], now: float) -> bool:
    for dtype, op, value in filters:
        data = table.read(entry, dtype, now) or 0
        if (data < value and op in ("eq", "gt", "ge")) or (data == value and op in ("ne", "gt", "lt")) or \
                (data > value and op in ("eq", "lt", "le")):
            return False
    return True


def _key(table: StickTable, text: str) -> bytes:
    if not text:
        raise CommandError("Key value expected\n")
    if table.type == "binary":
        return b""  # refused by the caller with the action's message
    if table.type == "ip":  # inetaddr_host(): an unparsable address is 0.0.0.0
        return table.parse_key(text) or bytes(4)
    if table.type == "integer":
        body = text.lstrip(" \t")
        body = body[1:] if body[:1] in "+-" else body
        digits = len(body) - len(body.lstrip("0123456789"))
        if not digits:
            raise CommandError("Invalid key\n")
        value = int(body[:digits])
        if text.lstrip(" \t").startswith("-"):
            value = -value & 0xFFFFFFFFFFFFFFFF
        if value > 0xFFFFFFFF:
            raise CommandError("Invalid key\n")
        return value.to_bytes(4, "little")
    key = table.parse_key(text)
    if key is None:
        raise CommandError("Invalid key\n")
    return key


def _per_key(ctx: Any, table: StickTable, args: Args, action: str, session: Session) -> str:
    """table_process_entry_per_key()."""
    if table.type == "binary":
        if not args.at(4):
            raise CommandError("Key value expected\n")
        raise CommandError(_UNSUPPORTED_KEY[action])
    key = _key(table, args.at(4))
    if not session.has_level("operator"):
        raise CommandError(PERMISSION_DENIED)
    now = _now(ctx)
    if action == "show":
        entry = table.lookup(key, now)
        if entry is None:
            return ""
        return table.header() + "\n" + table.dump_entry(entry, now) + "\n"
    if action == "clear":
        entry = table.lookup(key, now)
        if entry is None:
            return ""
        if not table.remove(key):
            raise CommandError("Entry currently in use, cannot remove\n")
        return ""
    return _set(table, key, args, now)


def _set(table: StickTable, key: bytes, args: Args, now: float) -> str:
    entry = table.get(key, now)
    if entry is None:
        raise CommandError("Unable to allocate a new entry\n")
    try:
        i = 5
        while args.at(i):
            word = args.at(i)
            if not word.startswith("data."):
                raise CommandError('"data.<type>" followed by a value expected\n')
            dtype = word[5:]
            if dtype not in DATA_INDEX:
                raise CommandError("Unknown data type\n")
            if not table.has(dtype):
                raise CommandError("Data type not stored in this table\n")
            value = strl2llrc(args.at(i + 1))
            if value is None:
                raise CommandError("Require a valid integer value to store\n")
            if STD_TYPE[dtype] != "dict":
                table.set(entry, dtype, value, now)
            i += 2
    finally:
        table.touch(entry, now)
    return ""


def _dump(ctx: Any, table: StickTable, filters: list, action: str, session: Session) -> str:
    now = _now(ctx)
    table.purge(now)
    out = []
    if action == "show":
        out.append(table.header() + "\n")
        if not _operator_socket(session):
            out.append(_NO_PRIVILEGE)
            return "".join(out)
    elif not _operator_socket(session):
        return ""
    entries = list(table.entries(now))
    for n, entry in enumerate(entries):
        keep = _keep(table, entry, filters, now)
        if action == "show":
            if keep:
                out.append(table.dump_entry(entry, now) + "\n")
            continue
        nxt = entries[n + 1] if n + 1 < len(entries) else entry
        if keep and not nxt.ref_cnt:
            table.remove(entry.key)
    return "".join(out)


def table_command(ctx: Any, args: Args, session: Session, action: str) -> str:
    """cli_parse_table_req() and the dump that follows it."""
    tables = _tables(ctx)
    name = args.at(2)
    if not name:
        if action != "show":
            raise CommandError(_ERR_ARGS[action])
        now = _now(ctx)
        out = []
        for table in reversed(list(tables.values())):
            table.purge(now)
            out.append(table.header() + "\n")
        return "".join(out)
    table = tables.get(name)
    if table is None:
        raise CommandError("No such table\n")
    word = args.at(3)
    if word == "key":
        return _per_key(ctx, table, args, action, session)
    if word.startswith("data."):
        filters = _filters(table, args, action)
    elif word:
        raise CommandError(_ERR_ARGS[action])
    else:
        filters = []  # `set table <t>` alone clears the table, as in HAProxy 2.6
    return _dump(ctx, table, filters, action, session)


@command(("show", "table"),
         "show table <table> [<filter>]*          : report table usage stats or dump this table's contents "
         "(filter: data/key)", "user")
def show_table(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return table_command(ctx, args, session, "show")


@command(("clear", "table"),
         "clear table <table> [<filter>]*         : remove an entry from a table (filter: data/key)", "user")
def clear_table(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return table_command(ctx, args, session, "clear")


@command(("set", "table"),
         "set table <table> key <k> [data.* <v>]* : update or create a table entry's data", "user")
def set_table(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return table_command(ctx, args, session, "set")
