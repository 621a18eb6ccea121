"""Pattern references: map files, ACL files and inline ACL patterns (HAProxy's pattern.c / map.c).

How it works
------------
A `Reference` (pat_ref) is the list of entries (key, value for maps) one source provides: a file
named by `map*()` converters or `acl ... -f`, loaded once per path and shared by everything that
names it, or the inline patterns of one ACL expression. Runtime commands (`add map`, `del acl`...)
edit references; whoever matches against one sees the change at once.

An `Expr` (pattern_expr) is one way of indexing a reference: HAProxy shares it between users
whose index, pattern parser, value parser and flags are the same (so `map_sub` and `map_end` on
one file share an Expr, `map` and `map_beg` do not). Every push of an entry into an Expr counts in
the reference's `entry_cnt`, every removed entry takes one off, exactly as 2.6 counts (so a file
used by two kinds of map shows twice its lines, and a failed `add` costs one).

A `Matcher` is one user of an Expr with its own match kind (a map converter or one ACL pattern
group). Its `test(value)` / `find(value)` are compiled lazily from the Expr's parsed patterns and
recompiled after any change, following pattern.c's lookup order:
  * str (case-sensitive): exact, first entry wins ("tree" index); with -i a list;
  * beg (case-sensitive): the longest prefix wins ("tree"); with -i the first in file order;
  * ip: longest prefix among contiguous IPv4 masks, then IPv6 (an IPv4 sample is tried as
    ::ffff:a.b.c.d), then the non-contiguous IPv4 masks in order; IPv6 samples that embed an IPv4
    address (::ffff:, ::, 2002:) are also tried against the IPv4 patterns;
  * sub, end, dir, dom, reg, int, len, bin, meth: the first entry in order that matches.
Only entries of the reference's current generation match (`prepare`/`commit` make new ones).

Unique ids are given when the configuration is finished (`finalize()`), in creation order, around
the ids that `acl -u <id>` reserved. Helper: `current_registry()` is the registry a configuration
parse fills (a ContextVar set by trio_lb.config.parse()), else a process-wide default.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from . import sample as smp

PAT_REF_MAP = 1
PAT_REF_ACL = 2
PAT_REF_SMP = 4
U32 = 0xFFFFFFFF

# index/parse families: users whose family and flags agree share one Expr (pattern_new_expr()).
_FAMILY = {
    "found": ("list_val", "nothing"), "bool": ("list_val", "nothing"), "int": ("list_val", "int"),
    "len": ("list_val", "int"), "ip": ("tree_ip", "ip"), "bin": ("list_ptr", "bin"),
    "str": ("tree_str", "str"), "beg": ("tree_pfx", "str"), "sub": ("list_str", "str"),
    "dir": ("list_str", "str"), "dom": ("list_str", "str"), "end": ("list_str", "str"),
    "reg": ("list_reg", "reg"), "meth": ("list_str", "meth"),
}
MAP_KINDS = ("str", "beg", "sub", "dir", "dom", "end", "reg", "int", "ip")
_SMP_NAMES = {"str": "str", "sint": "sint", "addr": "ip"}


class PatternError(ValueError):
    """A pattern, value or file HAProxy refuses; the message is HAProxy's, without final dot."""


# ---------------------------------------------------------------- entries and references


@dataclass(eq=False)
class Entry:
    """pat_ref_elt: one line of a file or one added pattern. `ptr` is what `show map` prints."""

    key: str
    value: str | None
    gen: int
    line: int
    ptr: int


def _parse_value(out_type: str, text: str) -> Any:
    """map_parse_str/int/ip(); PatternError "unable to parse '<text>'" if it does not fit."""
    if out_type == "str":
        return text
    if out_type == "sint":
        value, used = smp.read_int64(text)
        if used == len(text):
            return value
    elif out_type == "addr":
        addr = smp.parse_ip(text)
        if addr is not None:
            return addr
    raise PatternError(f"unable to parse '{text}'")


class Reference:
    """pat_ref: the entries of one file or inline ACL, and the Exprs indexing them."""

    def __init__(self, registry: PatternRegistry, reference: str | None, display: str, flags: int,
                 unique_id: int = -1) -> None:
        self.registry = registry
        self.reference = reference  # the file name (None for inline ACL patterns)
        self.display = display
        self.flags = flags
        self.unique_id = unique_id
        self.curr_gen = 0
        self.next_gen = 0
        self.entry_cnt = 0
        self.entries: list[Entry] = []
        self.exprs: list[Expr] = []

    def __repr__(self) -> str:
        return f"<Reference #{self.unique_id} {self.reference or self.display!r} x{len(self.entries)}>"

    # -- listing
    def header_line(self) -> str:
        return (f"{self.unique_id} ({self.reference or ''}) {self.display}. curr_ver={self.curr_gen} "
                f"next_ver={self.next_gen} entry_cnt={self.entry_cnt}\n")

    def entries_of(self, gen: int | None = None) -> list[Entry]:
        gen = self.curr_gen if gen is None else gen
        return [e for e in self.entries if e.gen == gen]

    def _changed(self) -> None:
        for expr in self.exprs:
            expr.changed()

    # -- edits (pat_ref_*)
    def append(self, key: str, value: str | None, line: int, gen: int | None = None) -> Entry:
        entry = Entry(key, value, self.curr_gen if gen is None else gen, line, self.registry.next_ptr())
        self.entries.append(entry)
        return entry

    def add(self, key: str, value: str | None = None, gen: int | None = None) -> Entry:
        """pat_ref_load(): append and push into every Expr; on a parse error the entry is dropped
        (and, as in 2.6, entry_cnt loses one) and PatternError is raised."""
        entry = self.append(key, value, -1, gen)
        try:
            for expr in self.exprs:
                expr.push(entry)
        except PatternError:
            self._drop(entry)
            raise
        self._changed()
        return entry

    def _drop(self, entry: Entry) -> None:
        for expr in self.exprs:
            expr.forget(entry)
        self.entries.remove(entry)
        self.entry_cnt -= 1

    def delete(self, key: str) -> bool:
        """pat_ref_delete(): every entry with that key, whatever its generation."""
        found = [e for e in self.entries if e.key == key]
        for entry in found:
            self._drop(entry)
        self._changed()
        return bool(found)

    def by_ptr(self, ptr: int) -> Entry | None:
        return next((e for e in self.entries if e.ptr == ptr), None)

    def delete_ptr(self, ptr: int) -> bool:
        entry = self.by_ptr(ptr)
        if entry is None:
            return False
        self._drop(entry)
        self._changed()
        return True

    def _set(self, entry: Entry, value: str) -> None:
        for expr in self.exprs:
            if expr.out_type is not None:
                _parse_value(expr.out_type, value)
        for expr in self.exprs:
            if expr.out_type is not None and entry in expr.data:
                expr.data[entry] = _parse_value(expr.out_type, value)
        entry.value = value

    def set(self, key: str, value: str) -> None:
        """pat_ref_set(): PatternError "entry not found" or "unable to parse '<v>'"."""
        found = [e for e in self.entries if e.key == key]
        if not found:
            raise PatternError("entry not found")
        errors = []
        for entry in found:
            try:
                self._set(entry, value)
            except PatternError as exc:
                errors.append(str(exc))
        self._changed()
        if errors:
            raise PatternError(", ".join(errors))

    def set_ptr(self, ptr: int, value: str) -> None:
        entry = self.by_ptr(ptr)
        if entry is None:
            raise PatternError("key or pattern not found")
        self._set(entry, value)
        self._changed()

    def purge_range(self, first: int, last: int) -> None:
        """pat_ref_purge_range(): drop entries whose generation is in [first, last] (wrapping)."""
        span = (last - first) & U32
        for entry in [e for e in self.entries if (e.gen - first) & U32 <= span]:
            self._drop(entry)
        self._changed()

    def clear(self, gen: int | None = None) -> None:
        gen = self.curr_gen if gen is None else gen
        self.purge_range(gen, gen)

    def new_gen(self) -> int:
        self.next_gen = (self.next_gen + 1) & U32
        return self.next_gen

    def commit(self, gen: int) -> bool:
        """`commit map @<gen>`: make <gen> current and purge every older generation; False when
        <gen> was not prepared ("Version number out of range.")."""
        gen &= U32
        if (gen - ((self.curr_gen + 1) & U32)) & U32 >= (self.next_gen - self.curr_gen) & U32:
            return False
        if signed32(gen - self.curr_gen) > 0:
            self.curr_gen = gen
        if gen != self.curr_gen:
            return False
        prev = (gen - 1) & U32
        self.purge_range((prev - 0x7FFFFFFF) & U32, prev)
        return True

    # -- indexing
    def expr_for(self, kind: str, icase: bool, out_type: str | None) -> tuple[Expr, bool]:
        """The Expr a user of <kind> shares, or a new one; (expr, reused)."""
        key = (_FAMILY[kind], icase, out_type)
        for expr in self.exprs:
            if expr.key == key:
                return expr, True
        expr = Expr(self, kind, icase, out_type)
        self.exprs.append(expr)
        return expr, False


def signed32(n: int) -> int:
    """(int) of a C unsigned int."""
    n &= U32
    return n - (1 << 32) if n & 0x80000000 else n


# ---------------------------------------------------------------- expressions and matchers


def _pattern_parser(kind: str) -> Callable[[str, bool], Any]:
    from . import acl

    if kind == "meth":
        return acl.METH_MATCH.parse
    return acl.MATCHES[kind].parse


def expect_type(kind: str) -> str | None:
    from . import acl

    return acl.METH_MATCH.expect if kind == "meth" else acl.MATCHES[kind].expect


class Expr:
    """pattern_expr: the parsed patterns (and parsed values) of one reference for one family."""

    def __init__(self, ref: Reference, kind: str, icase: bool, out_type: str | None) -> None:
        self.ref = ref
        self.kind = kind  # the kind of the user that created it (what `get map` names)
        self.icase = icase
        self.out_type = out_type  # value parser (maps), None for ACLs
        self.key = (_FAMILY[kind], icase, out_type)
        self._parse = _pattern_parser(kind)
        self.parsed: dict[Entry, Any] = {}
        self.data: dict[Entry, Any] = {}
        self.users: list[Matcher] = []

    def push(self, entry: Entry) -> None:
        """pat_ref_push(): parse the value then the pattern; index it (entry_cnt + 1)."""
        if entry.value is not None and self.out_type is not None:
            self.data[entry] = _parse_value(self.out_type, entry.value)
        text = smp.wire(entry.key) if _FAMILY[self.kind][1] in ("str", "reg", "meth") else entry.key
        try:
            self.parsed[entry] = self._parse(text, self.icase)
        except PatternError:
            self.data.pop(entry, None)
            raise
        except ValueError as exc:  # acl.PatternError derives from ValueError
            self.data.pop(entry, None)
            raise PatternError(str(exc)) from None
        self.ref.entry_cnt += 1

    def forget(self, entry: Entry) -> None:
        self.parsed.pop(entry, None)
        self.data.pop(entry, None)

    def changed(self) -> None:
        for user in self.users:
            user.reset()

    def live(self) -> list[tuple[Entry, Any]]:
        """(entry, parsed pattern) of the current generation, in order."""
        gen = self.ref.curr_gen
        parsed = self.parsed
        return [(e, parsed[e]) for e in self.ref.entries if e.gen == gen and e in parsed]

    def tree_indexed(self, kind: str, pat: Any) -> bool:
        """Whether HAProxy keeps this pattern in a tree (`idx=tree` in `get map`)."""
        family = _FAMILY[self.kind][0]
        if family in ("tree_str", "tree_pfx"):
            return not self.icase
        if family == "tree_ip":
            ver, _net, mask = pat
            return ver == 6 or (mask + (mask & -mask)) & U32 == 0
        return False


class Matcher:
    """One user of an Expr with its own match kind: `test(v) -> bool`, `find(v) -> Entry | None`
    (v already of the kind's type). Compiled on first use after each change."""

    def __init__(self, expr: Expr, kind: str) -> None:
        self.expr = expr
        self.kind = kind
        self.reset()
        expr.users.append(self)

    @property
    def ref(self) -> Reference:
        return self.expr.ref

    def reset(self) -> None:
        self.find = self._compile_find
        self.test = self._compile_test

    def _compile_find(self, value: Any) -> Entry | None:
        self.find = FINDERS[self.kind](self.expr.live(), self.expr.icase)
        return self.find(value)

    def _compile_test(self, value: Any) -> bool:
        live = self.expr.live()
        if self.kind == "str" and not self.expr.icase:
            self.test = frozenset(pat for _e, pat in live).__contains__
        else:
            find = FINDERS[self.kind](live, self.expr.icase)
            self.test = lambda v: find(v) is not None
        return self.test(value)


class MapLookup(Matcher):
    """A `map_<kind>(<file>)` converter's view of its file. `lookup()` reflects runtime changes."""

    def __init__(self, expr: Expr, kind: str, out_type: str) -> None:
        super().__init__(expr, kind)
        self.out_type = out_type
        self._cast = smp.caster(smp.T_STR, expect_type(kind) or smp.T_STR)

    def _input(self, value: Any) -> Any:
        if isinstance(value, str) and self._cast is not None:
            return self._cast(value)
        return value

    def lookup(self, value: Any) -> str | None:
        """The value (text) of the entry <value> matches, None if none does. <value> is a string
        (converted as HAProxy casts it: to an int for map_int, an address for map_ip), or
        already an int / ipaddress for those kinds."""
        value = self._input(value)
        if value is None:
            return None
        entry = self.find(value)
        return None if entry is None or entry.value is None else smp.wire(entry.value)

    def lookup_sample(self, value: Any) -> Any:
        """Like lookup() but typed by the converter's output: str, int, or an ip address."""
        value = self._input(value)
        if value is None:
            return None
        entry = self.find(value)
        if entry is None:
            return None
        data = self.expr.data.get(entry)
        if data is None:
            return None
        return smp.wire(data) if isinstance(data, str) else data


# ---------------------------------------------------------------- finders (pattern.c match order)

Finder = Callable[[Any], "Entry | None"]


def _first_wins(pairs: Iterator[tuple[Any, Entry]]) -> dict[Any, Entry]:
    table: dict[Any, Entry] = {}
    for key, entry in pairs:
        table.setdefault(key, entry)
    return table


def _find_str(live: list, icase: bool) -> Finder:
    if icase:
        table = _first_wins((smp.ascii_lower(p), e) for e, p in live)
        return lambda v: table.get(smp.ascii_lower(v))
    return _first_wins((p, e) for e, p in live).get


def _find_beg(live: list, icase: bool) -> Finder:
    if icase:
        pats = [(smp.ascii_lower(p), e) for e, p in live]

        def first(v: str) -> Entry | None:
            low = smp.ascii_lower(v)
            return next((e for p, e in pats if low.startswith(p)), None)

        return first
    table = _first_wins((p, e) for e, p in live)
    lengths = sorted({len(p) for p in table}, reverse=True)

    def longest(v: str) -> Entry | None:
        for n in lengths:
            if n <= len(v):
                hit = table.get(v[:n])
                if hit is not None:
                    return hit
        return None

    return longest


def _list_finder(test: Callable[[Any, Any], bool], lower: bool = False) -> Callable[[list, bool], Finder]:
    def build(live: list, icase: bool) -> Finder:
        low = icase and lower
        pats = [(smp.ascii_lower(p) if low else p, e) for e, p in live]

        def first(v: Any) -> Entry | None:
            if low:
                v = smp.ascii_lower(v)
            for p, e in pats:
                if test(v, p):
                    return e
            return None

        return first

    return build


def _word_test(delims: str) -> Callable[[str, str], bool]:
    def test(v: str, p: str) -> bool:
        from .acl import _match_word

        return _match_word(v, p.strip(delims), delims)

    return test


def _in_range(n: int, rng: tuple[int | None, int | None]) -> bool:
    low, high = rng
    return (low is None or low <= n) and (high is None or n <= high)


_NOTHING = Entry("", None, 0, 0, 0)  # HAProxy's static pattern: a match without a reference


def _find_bool(live: list, icase: bool) -> Finder:
    return lambda v: _NOTHING if v else None


def _find_found(live: list, icase: bool) -> Finder:
    return lambda v: None  # match == NULL: `get acl` never reports a match


def _find_meth(live: list, icase: bool) -> Finder:
    known = smp.KNOWN_METHODS

    def first(method: str) -> Entry | None:
        for e, p in live:
            if p in known:
                if method == p:
                    return e
            elif method not in known and (
                    smp.ascii_lower(method) == smp.ascii_lower(p) if icase else method == p):
                return e
        return None

    return first


def _v4_of_v6(n: int) -> int | None:
    """The IPv4 address an IPv6 sample carries (::ffff:a.b.c.d, ::a.b.c.d, 2002:AABB:CCDD::)."""
    if n >> 64 == 0 and (n >> 32) & U32 in (0, 0xFFFF):
        return n & U32
    if n >> 112 == 0x2002:
        return (n >> 80) & U32
    return None


def _find_ip(live: list, icase: bool) -> Finder:
    v4: dict[int, dict[int, Entry]] = {}  # prefix length -> network -> first entry
    v6: dict[int, dict[int, Entry]] = {}
    v4_list: list[tuple[int, int, Entry]] = []
    for e, (ver, net, mask) in live:
        if ver == 4 and (mask + (mask & -mask)) & U32 == 0:
            v4.setdefault(mask.bit_count(), {}).setdefault(net, e)
        elif ver == 6:
            v6.setdefault(mask.bit_count(), {}).setdefault(net, e)
        else:
            v4_list.append((net, mask, e))
    v4_lens = sorted(v4, reverse=True)
    v6_lens = sorted(v6, reverse=True)

    def longest(tables: dict, lens: list[int], n: int, bits: int) -> Entry | None:
        full = (1 << bits) - 1
        for plen in lens:
            mask = full ^ ((1 << (bits - plen)) - 1)
            hit = tables[plen].get(n & mask)
            if hit is not None:
                return hit
        return None

    def find(addr: Any) -> Entry | None:
        n = int(addr)
        if addr.version == 4:
            hit = longest(v4, v4_lens, n, 32) or longest(v6, v6_lens, 0xFFFF00000000 | n, 128)
            a4: int | None = n
        else:
            a4 = _v4_of_v6(n)
            hit = longest(v6, v6_lens, n, 128) or (longest(v4, v4_lens, a4, 32) if a4 is not None else None)
        if hit is not None:
            return hit
        if a4 is not None:
            for net, mask, e in v4_list:
                if (a4 ^ net) & mask == 0:
                    return e
        return None

    return find


def _find_reg(live: list, icase: bool) -> Finder:
    pats = [(p.search, e) for e, p in live]
    return lambda v: next((e for search, e in pats if search(v) is not None), None)


FINDERS: dict[str, Callable[[list, bool], Finder]] = {
    "str": _find_str,
    "beg": _find_beg,
    "end": _list_finder(lambda v, p: v.endswith(p), lower=True),
    "sub": _list_finder(lambda v, p: p in v, lower=True),
    "dir": _list_finder(_word_test("/?"), lower=True),
    "dom": _list_finder(_word_test("/?.:"), lower=True),
    "reg": _find_reg,
    "int": _list_finder(lambda v, p: _in_range(v, p)),
    "len": _list_finder(lambda v, p: _in_range(len(v), p)),
    "bin": _list_finder(lambda v, p: v == p),
    "ip": _find_ip,
    "bool": _find_bool,
    "found": _find_found,
    "meth": _find_meth,
}


# ---------------------------------------------------------------- the registry


def read_file(path: str, two_columns: bool, base_dir: str | None = None) -> list[tuple[int, str, str | None]]:
    """pat_ref_read_from_file[_smp](): (line, key, value) per entry. '#' in column 1 starts a
    comment, leading blanks are skipped, a line ends at CR or LF, empty lines are ignored; a map's
    key is the first word and its value the rest without the blanks around it."""
    full = os.path.join(base_dir, path) if base_dir and path and not os.path.isabs(path) else path
    try:
        with open(full, "rb") as fh:
            data = fh.read()
    except IsADirectoryError as exc:  # fopen() succeeds on a directory, fgets() fails
        raise PatternError(f"error encountered while reading  <{path}> : {exc.strerror}") from None
    except (OSError, ValueError):
        raise PatternError(f"failed to open pattern file <{path}>") from None
    out: list[tuple[int, str, str | None]] = []
    for lineno, raw in enumerate(data.decode("utf-8", "surrogateescape").split("\n"), start=1):
        if raw.startswith("#"):
            continue
        text = re.split(r"[\r\n]", raw.lstrip(" \t"), maxsplit=1)[0]
        if not text:
            continue
        if two_columns:
            m = re.match(r"([^ \t]*)[ \t]*(.*)", text)
            assert m is not None
            out.append((lineno, m.group(1), m.group(2).rstrip(" \t")))
        else:
            out.append((lineno, text, None))
    return out


@dataclass
class PatternRegistry:
    """Every pattern reference of one configuration (HAProxy's `pattern_reference` list)."""

    refs: list[Reference] = field(default_factory=list)
    position: tuple[str, int] = ("", 0)  # the config line being parsed (display texts)
    scope: Any = None  # the proxy being parsed: predefined ACLs are built once per proxy
    defaults: dict[tuple[Any, str], Any] = field(default_factory=dict)
    share_files: bool = True  # False: every load re-reads its file (the registry used outside a parse)
    _ptr: int = 0x55D0C0DE1000

    def next_ptr(self) -> int:
        self._ptr += 0x90
        return self._ptr

    @contextlib.contextmanager
    def at(self, file: str, line: int, scope: Any = None) -> Iterator[None]:
        saved = self.position, self.scope
        self.position, self.scope = (file, line), scope
        try:
            yield
        finally:
            self.position, self.scope = saved

    # -- lookups
    def by_name(self, name: str) -> Reference | None:
        return next((r for r in self.refs if r.reference is not None and r.reference == name), None)

    def by_id(self, unique_id: int) -> Reference | None:
        return next((r for r in self.refs if r.unique_id == unique_id), None)

    def find(self, word: str) -> Reference | None:
        """pat_ref_lookup_ref(): `#<id>` (strtol, the whole rest must be a number) or a file name."""
        if word.startswith("#"):
            m = re.fullmatch(r"[ \t\n\r\f\v]*([+-]?[0-9]+)|", word[1:])
            if m is None:
                return None
            return self.by_id(int(m.group(1) or 0))
        return self.by_name(word)

    def listed(self, flags: int) -> list[Reference]:
        return [r for r in self.refs if r.flags & flags]

    # -- building
    def _keep(self, ref: Reference) -> None:
        if self.share_files:  # the process-wide registry lists nothing (nobody could address it)
            self.refs.append(ref)

    def _file_ref(self, path: str, flags: int, two_columns: bool, file: str, line: int,
                  base_dir: str | None) -> Reference:
        """pattern_read_from_file()'s reference part: load once, check columns, extend display."""
        what = "map" if flags & PAT_REF_MAP else "acl"
        ref = self.by_name(path) if self.share_files else None
        if ref is None:
            ref = Reference(self, path, f"pattern loaded from file '{path}' used by {what} at file '{file}' "
                                        f"line {line}", flags)
            self._keep(ref)
            if two_columns:
                ref.flags |= PAT_REF_SMP
            for lineno, key, value in read_file(path, two_columns, base_dir):
                ref.append(key, value, lineno)
            return ref
        if two_columns and not ref.flags & PAT_REF_SMP:
            raise PatternError(f'The file "{path}" is already used as one column file and cannot be used by '
                               "as two column file.")
        if not two_columns and ref.flags & PAT_REF_SMP:
            raise PatternError(f'The file "{path}" is already used as two column file and cannot be used by '
                               "as one column file.")
        ref.display += f", by {what} at file '{file}' line {line}"
        ref.flags |= flags
        return ref

    def _attach(self, ref: Reference, kind: str, icase: bool, out_type: str | None, path: str) -> Expr:
        expr, reused = ref.expr_for(kind, icase, out_type)
        if not reused:
            for entry in ref.entries:
                try:
                    expr.push(entry)
                except PatternError as exc:
                    msg = f"{exc} at line {entry.line} of file '{path}'" if entry.line > 0 else str(exc)
                    raise PatternError(msg) from None
        return expr

    def load(self, path: str, kind: str = "str", base_dir: str | None = None, *, out_type: str = "str",
             file: str | None = None, line: int | None = None) -> MapLookup:
        """sample_load_map(): the map file <path> matched with <kind> (str beg sub dir dom end reg
        int ip), its values read as <out_type> ("str", "sint" or "addr"). Raises PatternError with
        HAProxy's message ("failed to open pattern file <x>", "'a' is not a number at line 1 of
        file 'x'", "unable to parse 'x' at line 2 of file 'y'", column conflicts...)."""
        if kind not in MAP_KINDS:
            raise ValueError(f"unknown map match kind {kind!r}")
        if out_type not in _SMP_NAMES:
            raise ValueError(f"unknown map output type {out_type!r}")
        pfile, pline = self.position
        ref = self._file_ref(path, PAT_REF_MAP, True, pfile if file is None else file,
                             pline if line is None else line, base_dir)
        expr = self._attach(ref, kind, False, out_type, path)
        return MapLookup(expr, kind, out_type)

    def load_acl_file(self, path: str, kind: str, icase: bool, as_map: bool,
                      base_dir: str | None = None) -> Matcher:
        """`acl ... -f <path>` (with -M: a two-column file whose values are ignored)."""
        flags = PAT_REF_ACL | (PAT_REF_MAP if as_map else 0)
        ref = self._file_ref(path, flags, as_map, *self.position, base_dir)
        return Matcher(self._attach(ref, kind, icase, None, path), kind)

    def check_unique_id(self, unique_id: int) -> None:
        if self.by_id(unique_id) is not None:
            raise PatternError("the id is already used")

    def inline(self, kw: str, kind: str, icase: bool, unique_id: int = -1) -> Matcher:
        """The reference of one ACL expression's own patterns ("acl '<kw>' file 'f' line n")."""
        file, line = self.position
        ref = Reference(self, None, f"acl '{kw}' file '{file}' line {line}", PAT_REF_ACL, unique_id)
        self._keep(ref)
        expr, _ = ref.expr_for(kind, icase, None)
        return Matcher(expr, kind)

    def add_httpclient_refs(self) -> None:
        """The two `var(txn.hc_ip) -m ip 0.0.0.0` ACLs of HAProxy's internal httpclient proxy,
        which 2.6 builds after the configuration whenever a default resolvers section exists:
        `show acl` lists them on every real HAProxy, so trio-lb lists them too."""
        for _ in range(2):
            with self.at("httpclient", 0):
                self.inline("var", "ip", False).ref.add("0.0.0.0")

    def finalize(self) -> None:
        """pattern_finalize_config(): ids for the references without one, in creation order,
        skipping those `-u` took; the list is then sorted by id."""
        taken = {r.unique_id for r in self.refs if r.unique_id != -1}
        next_id = 0
        for ref in self.refs:
            if ref.unique_id == -1:
                while next_id in taken:
                    next_id += 1
                ref.unique_id = next_id
                next_id += 1
        self.refs.sort(key=lambda r: r.unique_id)


_CURRENT: ContextVar[PatternRegistry | None] = ContextVar("trio_lb_patterns", default=None)
# Outside a configuration parse (tests, one-off expressions) nothing is shared: each -f or map()
# reads its file afresh, so two unrelated expressions never conflict over one path.
_PROCESS = PatternRegistry(share_files=False)


def current_registry() -> PatternRegistry:
    """The registry being built by the running config parse, else the process-wide one."""
    reg = _CURRENT.get()
    return reg if reg is not None else _PROCESS


@contextlib.contextmanager
def building(registry: PatternRegistry) -> Iterator[PatternRegistry]:
    """Make <registry> current for the duration of a configuration parse."""
    token = _CURRENT.set(registry)
    try:
        yield registry
    finally:
        _CURRENT.reset(token)


# ---------------------------------------------------------------- `get map` / `get acl`


def _smp_type_name(data: Any) -> str:
    if isinstance(data, ipaddress.IPv4Address):
        return "ipv4"
    if isinstance(data, ipaddress.IPv6Address):
        return "ipv6"
    return "sint" if isinstance(data, int) else "str"


def describe_lookup(ref: Reference, text: str, as_map: bool) -> str:
    """cli_io_handler_map_lookup(): one line per Expr of <ref> for the sample <text>."""
    out = []
    for expr in ref.exprs:
        kind = expr.kind
        line = "type=unknown(0x55d0c0de0000)" if kind == "meth" else f"type={kind}"
        line += ", case=insensitive" if expr.icase else ", case=sensitive"
        entry = None
        expect = expect_type(kind)
        if kind != "found":
            cast = smp.caster(smp.T_STR, expect) if expect else None
            value: Any = cast(text) if cast is not None else text
            if value is not None:
                entry = FINDERS[kind](expr.live(), expr.icase)(value)
        if entry is None:
            line += ", found=no" if as_map else ", match=no"
        else:
            line += ", found=yes" if as_map else ", match=yes"
            pat = expr.parsed.get(entry)
            line += ", idx=tree" if entry is not _NOTHING and expr.tree_indexed(kind, pat) else ", idx=list"
            label = "key" if as_map else "pattern"
            line += f', {label}="{entry.key}"' if entry is not _NOTHING else f", {label}=unknown"
            if as_map:
                data = expr.data.get(entry)
                if data is not None and entry.value is not None:
                    line += f', value="{entry.value}", type="{_smp_type_name(data)}"'
                else:
                    line += ", value=none"
        out.append(line + "\n")
    return "".join(out)
