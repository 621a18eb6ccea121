"""Maps and ACLs at run time: `show|get|add|del|set|clear|prepare|commit map|acl` (HAProxy 2.6 src/map.c).

The pattern references are the running configuration's (`ctx.runtime.config.patterns`, a
trio_lb.rules.maps.PatternRegistry); every edit is seen at once by the map converters and ACLs
that use the reference. `<map>`/`<acl>` is `#<id>` or the file name as `show map` prints it.

Each parser below follows its C counterpart line by line, because the order of the checks decides
the reply: the same `cli_parse_*_map()` serves both words, `args[1][0] == 'm'` picking the map or
ACL wording. As in 2.6, `show`, `clear`, `prepare`, `commit` and `del` only find references of
their own kind (and `del acl` answers with the *map* message when it finds none), while `add`,
`set` and `get` take any reference. There is no level check in 2.6: a `user` socket may edit.
Successful edits print nothing; errors are messages with their final LF.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from trio_lb.admin.messages import info
from trio_lb.admin.registry import Args, command
from trio_lb.admin.session import Session
from trio_lb.errors import CommandError
from trio_lb.rules.maps import (
    PAT_REF_ACL,
    PAT_REF_MAP,
    PAT_REF_SMP,
    PatternError,
    PatternRegistry,
    Reference,
    describe_lookup,
    signed32,
)

UNKNOWN = {True: "Unknown map identifier. Please use #<id> or <file>.\n",
           False: "Unknown ACL identifier. Please use #<id> or <file>.\n"}
MALFORMED = "Malformed identifier. Please use #<id> or <file>.\n"
KEY_NOT_FOUND = "Key not found.\n"
LIST_HEADER = "# id (file) description\n"

_PTR = re.compile(r"#0[xX]([0-9a-fA-F]+)")
_UIC = re.compile(r"[ \t\n\r\f\v]*([+-]?)([0-9]*)")


def registry_of(ctx: Any) -> PatternRegistry:
    patterns = getattr(ctx.runtime.config, "patterns", None)
    return patterns if patterns is not None else PatternRegistry()


def _is_map(args: Args) -> bool:
    return args.at(1)[:1] == "m"


def str2uic(text: str) -> int:
    """(unsigned int)strtoul(text, NULL, 10)."""
    m = _UIC.match(text)
    assert m is not None
    value = int(m.group(2) or 0)
    return (-value if m.group(1) == "-" else value) & 0xFFFFFFFF


def _ptr(word: str) -> int | None:
    """`#0x<hex>` as set/del read it (strtoll base 16); None when it is not that form;
    CommandError("Malformed identifier") when the hex has trailing garbage."""
    if not word.startswith("#0x"):
        return None
    m = _PTR.fullmatch(word)
    if m is None:
        raise CommandError(MALFORMED)
    return int(m.group(1), 16)


def _find(ctx: Any, word: str, flags: int = 0) -> Reference | None:
    ref = registry_of(ctx).find(word)
    if ref is None or (flags and not ref.flags & flags):
        return None
    return ref


def _version(args: Args) -> tuple[int | None, Args]:
    """An optional `@<ver>` before the reference: (version, args shifted past it)."""
    if args.at(2).startswith("@"):
        return str2uic(args.at(2)[1:]), Args(args[:2] + args[3:])
    return None, args


@command(("show", "map"), "show map [@ver] [map]                   : report available maps or dump a map's contents")
@command(("show", "acl"), "show acl [@<ver>] <acl>]                : report available acls or dump an acl's contents")
def show_map_or_acl(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return _show(ctx, args)


def _show(ctx: Any, args: Args) -> str:
    is_map = _is_map(args)
    flags = PAT_REF_MAP if is_map else PAT_REF_ACL
    if not args.at(2):
        return LIST_HEADER + "".join(ref.header_line() for ref in registry_of(ctx).listed(flags))
    gen, args = _version(args)
    ref = _find(ctx, args.at(2), flags)
    if ref is None:
        raise CommandError(UNKNOWN[is_map])
    lines = []
    for entry in ref.entries_of(gen):
        tail = f" {entry.value}" if entry.value is not None else ""
        lines.append(f"0x{entry.ptr:x} {entry.key}{tail}\n")
    return "".join(lines)


@command(("get", "map"), "get map <acl> <value>                   : report the keys and values matching a sample for a map")
@command(("get", "acl"), "get acl <acl> <value>                   : report the patterns matching a sample for an ACL")
def get_map_or_acl(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return _get(ctx, args)


def _get(ctx: Any, args: Args) -> str:
    is_map = _is_map(args)
    if not args.at(2) or not args.at(3):
        raise CommandError("Missing map identifier and/or key.\n" if is_map else "Missing ACL identifier and/or key.\n")
    ref = _find(ctx, args.at(2))
    if ref is None:
        raise CommandError(UNKNOWN[is_map])
    return describe_lookup(ref, args.at(3), is_map)


@command(("add", "map"), "add map [@<ver>] <map> <key> <val>      : add a map entry (payload supported instead of key/val)")
@command(("add", "acl"), "add acl [@<ver>] <acl> <pattern>        : add an acl entry")
def add_map_or_acl(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return _add(ctx, args, payload)


def _payload_pairs(payload: str, is_map: bool) -> Iterator[tuple[str, str]]:
    """cli_parse_add_map()'s payload loop: a key up to a space or tab (newlines included!), then
    the value to the end of the line. A map key without anything after it is an error."""
    pos = 0
    while pos < len(payload):
        end = pos
        while end < len(payload) and payload[end] not in " \t":
            end += 1
        if end >= len(payload) and is_map:
            raise CommandError(f"Missing value for key '{payload[pos:]}'.\n")
        key = payload[pos:end]
        pos = end + 1
        while pos < len(payload) and payload[pos] in " \t":
            pos += 1
        nl = payload.find("\n", pos)
        nl = len(payload) if nl < 0 else nl
        yield key, payload[pos:nl]
        pos = nl + 1


def _add(ctx: Any, args: Args, payload: str | None) -> str:
    is_map = _is_map(args)
    gen, args = _version(args)
    if is_map:
        if (payload is None and (not args.at(2) or not args.at(3) or not args.at(4))) or \
                (payload is not None and not args.at(2)):
            raise CommandError("'add map' expects three parameters (map identifier, key and value) or one "
                               "parameter (map identifier) and a payload\n")
    elif not args.at(2) or not args.at(3):
        raise CommandError("'add acl' expects two parameters: ACL identifier and pattern.\n")
    ref = _find(ctx, args.at(2))
    if ref is None:
        raise CommandError(UNKNOWN[is_map])
    if gen is not None and signed32(gen - ref.next_gen) > 0:
        raise CommandError("Version number in the future, please use 'prepare map' before.\n" if is_map
                           else "Version number in the future, please use 'prepare acl' before.\n")
    if not is_map and ref.flags & PAT_REF_SMP:
        raise CommandError("This ACL is shared with a map containing samples. "
                           "You must use the command 'add map' to add values.\n")
    # one by one, as HAProxy does: the entries before a bad payload line stay added
    pairs = _payload_pairs(payload, is_map) if payload is not None else iter([(args.at(3), args.at(4))])
    for key, value in pairs:
        _add_one(ref, key, value, is_map, gen)
    return ""


def _add_one(ref: Reference, key: str, value: str, is_map: bool, gen: int | None) -> None:
    try:
        ref.add(key, value if is_map else None, gen)
    except PatternError as exc:
        raise CommandError(f"{exc}.\n") from None


@command(("set", "map"), "set map <map> [<key>|#<ref>] <value>    : modify a map entry")
def set_map(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    if not args.at(2) or not args.at(3) or not args.at(4):
        raise CommandError("'set map' expects three parameters: map identifier, key and value.\n")
    ref = _find(ctx, args.at(2))
    if ref is None:
        raise CommandError(UNKNOWN[True])
    try:
        ptr = _ptr(args.at(3))
        if ptr is not None:
            ref.set_ptr(ptr, args.at(4))
        else:
            ref.set(args.at(3), args.at(4))
    except PatternError as exc:
        raise CommandError(f"{exc}.\n") from None
    return ""


@command(("del", "map"), "del map <map> [<key>|#<ref>]            : delete map entries matching <key>")
@command(("del", "acl"), "del acl <acl> [<key>|#<ref>]            : delete acl entries matching <key>")
def del_map_or_acl(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return _del(ctx, args)


def _del(ctx: Any, args: Args) -> str:
    is_map = _is_map(args)
    if not args.at(2) or not args.at(3):
        raise CommandError("This command expects two parameters: map identifier and key.\n" if is_map
                           else "This command expects two parameters: ACL identifier and key.\n")
    ref = _find(ctx, args.at(2), PAT_REF_MAP if is_map else PAT_REF_ACL)
    if ref is None:
        raise CommandError(UNKNOWN[True])  # sic: 2.6 says "map" for both
    ptr = _ptr(args.at(3))
    found = ref.delete_ptr(ptr) if ptr is not None else ref.delete(args.at(3))
    if not found:
        raise CommandError(KEY_NOT_FOUND)
    return ""


@command(("clear", "map"), "clear map [@<ver>] <map>                : clear the contents of this map")
@command(("clear", "acl"), "clear acl [@<ver>] <acl>                : clear the contents of this acl")
def clear_map_or_acl(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return _clear(ctx, args)


def _missing(is_map: bool) -> CommandError:
    return CommandError("Missing map identifier.\n" if is_map else "Missing ACL identifier.\n")


def _clear(ctx: Any, args: Args) -> str:
    is_map = _is_map(args)
    gen, args = _version(args)
    if not args.at(2):
        raise _missing(is_map)
    ref = _find(ctx, args.at(2), PAT_REF_MAP if is_map else PAT_REF_ACL)
    if ref is None:
        raise CommandError(UNKNOWN[is_map])
    ref.clear(gen)
    return ""


@command(("prepare", "map"), "prepare map <acl>                       : prepare a new version for atomic map replacement")
@command(("prepare", "acl"), "prepare acl <acl>                       : prepare a new version for atomic ACL replacement")
def prepare_map_or_acl(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return _prepare(ctx, args)


def _prepare(ctx: Any, args: Args) -> str:
    is_map = _is_map(args)
    ref = _find(ctx, args.at(2), PAT_REF_MAP if is_map else PAT_REF_ACL)
    if ref is None:
        raise CommandError(UNKNOWN[is_map])
    return info(f"New version created: {ref.new_gen()}\n")


@command(("commit", "map"), "commit map @<ver> <map>                 : commit the map at this version")
@command(("commit", "acl"), "commit acl @<ver> <acl>                 : commit the ACL at this version")
def commit_map_or_acl(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return _commit(ctx, args)


def _commit(ctx: Any, args: Args) -> str:
    is_map = _is_map(args)
    if not args.at(2).startswith("@"):
        raise CommandError("Missing version number.\n")
    gen = str2uic(args.at(2)[1:])
    if not args.at(3):
        raise _missing(is_map)
    ref = _find(ctx, args.at(3), PAT_REF_MAP if is_map else PAT_REF_ACL)
    if ref is None:
        raise CommandError(UNKNOWN[is_map])
    if not ref.commit(gen):
        raise CommandError("Version number out of range.\n")
    return ""
