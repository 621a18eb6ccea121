"""ACLs: `acl <name> <fetch>[(<args>)][,<conv>...] [flags] [operator] <value> ...` (HAProxy's acl.c
and pattern.c).

How it works
------------
`parse_acl()` compiles one `acl` line into an `Acl` at configuration time; the runtime only calls
`Acl.match(view)`, which fetches the sample once, pushes every value through a short pipeline of
casts/converters, and returns True as soon as one value matches one pattern.

Parsing follows parse_acl_expr() step by step, because its order decides the error messages:
  1. the fetch word: an ACL keyword (`path_beg`, `hdr_sub`...) which implies a match method, else a
     plain sample fetch (`src`, `req.hdr`...) whose output type picks the default method
     (bool -> bool, int -> int, address -> ip, string -> str; `method` needs its own);
  2. flags, read while words start with '-': -i (ignore case), -n (no DNS, we never resolve),
     -u <id>, -m <method> (must come before patterns and files), -M, -f <file> (patterns read
     right away with the flags seen so far), and -- to end the flags;
  3. patterns, each parsed by the method's parser; integer methods (int, len) also take the
     operators eq/ge/gt/le/lt, which rewrite the following values into ranges.
Patterns live in pattern references (trio_lb.rules.maps): every `-f` file is one shared with
every other user of the path, and the inline values form the expression's own reference (what
`show acl` lists as "acl '<kw>' file ... line ..."), built in HAProxy's order so that the ids
match. Each group is a maps.Matcher keeping the -i flag that was in force when it was read; the
Runtime API's `add acl` / `del acl` edit the references and the matchers recompile on next use.

MATCHES is the table of match methods: the type a value is cast to and the pattern parser; the
matching itself (sets for exact strings, longest prefixes, masked address integers...) is
maps.FINDERS, shared with the map converters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import maps as _maps
from . import sample as smp
from .sample import (
    FETCHES,
    T_ADDR,
    T_BIN,
    T_BOOL,
    T_METH,
    T_SINT,
    T_STR,
    ArgError,
    FetchDef,
    RequestView,
    ident_end,
    make_arg_list,
    wire,
)


class PatternError(ValueError):
    """A pattern HAProxy's parser refuses (message worded as HAProxy's)."""


# ---------------------------------------------------------------- pattern parsers


def _strl2llrc(text: str) -> int | None:
    """A strict integer: optional '-', then ASCII digits only, within 64 bits ("-" alone is 0)."""
    if not text:
        return None
    digits = text[1:] if text[0] == "-" else text
    if digits and not (digits.isascii() and digits.isdigit()):
        return None
    value = -int(digits or "0") if text[0] == "-" else int(digits)
    return value if -(1 << 63) <= value < (1 << 63) else None


def parse_int_range(text: str) -> tuple[int | None, int | None]:
    """pat_parse_int(): "n", "a:b" / "a-b", ":b" / "-b", "a:" / "a-" into (min, max), None = open."""
    if not text:
        raise PatternError(f"'{text}' is not a valid number range")
    sep = next((i for i, ch in enumerate(text) if ch in ":-"), -1)
    if sep < 0:
        value = _strl2llrc(text)
        if value is None:
            raise PatternError(f"'{text}' is not a number")
        return value, value
    if sep == 0 and len(text) > 1:
        high = _strl2llrc(text[1:])
        if high is None:
            raise PatternError(f"'{text}' is not a valid number range")
        return None, high
    if sep == len(text) - 1:
        low = _strl2llrc(text[:sep])
        if low is None:
            raise PatternError(f"'{text}' is not a valid number range")
        return low, None
    low, high = _strl2llrc(text[:sep]), _strl2llrc(text[sep + 1 :])
    if low is None or high is None or low > high:
        raise PatternError(f"'{text}' is not a valid number range")
    return low, high


_MASK_LEN = re.compile(r"[ \t\n\r\f\v]*[+-]?[0-9]+")


def _mask_bits(text: str, limit: int) -> int | None:
    """strtol()/strtoul() of a prefix length: whole string, 0..limit."""
    if not _MASK_LEN.fullmatch(text):
        return None
    value = int(text.strip())
    return value if 0 <= value <= limit else None


def _ipv4_int(text: str) -> int | None:
    addr = smp.parse_ip(text)
    return int(addr) if addr is not None and addr.version == 4 else None


def parse_ip_pattern(text: str) -> tuple[int, int, int]:
    """str2net() then str62net(): (version, network & mask, mask). IPv4 masks may be dotted and
    non-contiguous; names are not resolved (HAProxy would resolve them at startup without -n)."""
    addr, slash, mask_text = text.rpartition("/") if "/" in text else (text, "", "")
    v4 = _ipv4_int(addr)
    if v4 is not None:
        if not slash:
            mask: int | None = 0xFFFFFFFF
        elif "." in mask_text:
            mask = _ipv4_int(mask_text)
        else:
            bits = _mask_bits(mask_text, 32)
            mask = None if bits is None else (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF
        if mask is not None:
            return 4, v4 & mask, mask
    addr6 = smp.parse_ip(addr)
    if addr6 is not None and addr6.version == 6 and not (slash and not mask_text):
        bits = 128 if not slash else _mask_bits(mask_text, 128)
        if bits is not None:
            mask = ((1 << 128) - 1) ^ ((1 << (128 - bits)) - 1)
            return 6, int(addr6) & mask, mask
    raise PatternError(f"'{text}' is not a valid IPv4 or IPv6 address")


_HEX = frozenset("0123456789abcdefABCDEF")


def parse_binary(text: str) -> bytes:
    """parse_binary(): an even number of hex digits."""
    if len(text) % 2:
        raise PatternError("an even number of hex digit is expected")
    for ch in text:
        if ch not in _HEX:
            raise PatternError(f"an hex digit is expected (found '{ch}')")
    return bytes.fromhex(text)


def parse_regex(text: str, icase: bool) -> re.Pattern[str]:
    flags = re.ASCII | (re.IGNORECASE if icase else 0)
    try:
        return re.compile(text, flags)
    except re.error as exc:
        raise PatternError(f"regex '{text}' is invalid (error={exc.msg}, erroffset={exc.pos or 0})") from None
    except (OverflowError, RecursionError, ValueError) as exc:
        raise PatternError(f"regex '{text}' is invalid (error={exc}, erroffset=0)") from None


# ---------------------------------------------------------------- match helpers


def _match_word(value: str, word: str, delims: str) -> bool:
    """match_word(): <word> appears in <value> bounded by delimiters or the ends of the string."""
    pl = len(word)
    if not pl or pl > len(value) or word not in value:
        return False
    end = len(value) - pl
    may_match = True
    for c in range(end + 1):
        if value[c] in delims:
            may_match = True
            continue
        if not may_match:
            continue
        if value.startswith(word, c) and (c == end or value[c + pl] in delims):
            return True
        may_match = False
    return False


def _keep(text: str, icase: bool) -> str:
    return text


def _ignore(text: str, icase: bool) -> None:
    return None


@dataclass(frozen=True)
class MatchDef:
    name: str  # also the key of the matching code in maps.FINDERS
    expect: str | None  # the type values are cast to (None: -m found, no value needed)
    parse: Callable[[str, bool], Any]
    integer: bool = False  # accepts the eq/ge/gt/le/lt operators
    textual: bool = False  # compares text: config words are converted to wire form (see sample.wire)


def _md(name: str, expect: str | None, parse: Callable, integer: bool = False) -> MatchDef:
    return MatchDef(name, expect, parse, integer, textual=expect in (T_STR, T_METH) and not integer)


MATCHES: dict[str, MatchDef] = {
    m.name: m
    for m in (
        _md("found", None, _ignore),
        _md("bool", T_SINT, _ignore),
        _md("int", T_SINT, lambda t, i: parse_int_range(t), integer=True),
        _md("ip", T_ADDR, lambda t, i: parse_ip_pattern(t)),
        _md("bin", T_BIN, lambda t, i: parse_binary(t)),
        _md("len", T_STR, lambda t, i: parse_int_range(t), integer=True),
        _md("str", T_STR, _keep),
        _md("beg", T_STR, _keep),
        _md("sub", T_STR, _keep),
        _md("dir", T_STR, _keep),
        _md("dom", T_STR, _keep),
        _md("end", T_STR, _keep),
        _md("reg", T_STR, parse_regex),
    )
}
# The `method` ACL keyword's own parser/matcher (not selectable with -m).
METH_MATCH = _md("meth", T_METH, _keep)

# Default match method of a plain sample fetch, by output type (None: -m is required).
DEFAULT_MATCH: dict[str, str | None] = {T_BOOL: "bool", T_SINT: "int", T_ADDR: "ip", T_STR: "str", T_METH: None}

_STD_OPS = {"eq": "eq", "gt": "gt", "ge": "ge", "lt": "lt", "le": "le"}


# ---------------------------------------------------------------- ACL keywords (haproxy -dKacl)


def _family(kw: str, fetch: str) -> dict[str, tuple[str, str]]:
    table = {kw: (fetch, "str")}
    for suffix in ("beg", "dir", "dom", "end", "len", "reg", "sub"):
        table[f"{kw}_{suffix}"] = (fetch, suffix)
    return table


ACL_KEYWORDS: dict[str, tuple[str, str]] = {
    **_family("hdr", "req.hdr"),
    **_family("path", "path"),
    **_family("url", "url"),
    **_family("urlp", "urlp"),
    "method": ("method", "meth"),
    "req_ver": ("req.ver", "str"),
}


# ---------------------------------------------------------------- the compiled ACL


class Acl:
    """One compiled `acl` line (or anonymous `{ ... }` expression). `match()` is the hot path."""

    __slots__ = ("name", "kw", "text", "warnings", "_fetch", "_args", "_steps", "_matchers", "_found", "_one")

    def __init__(
        self,
        name: str,
        kw: str,
        text: str,
        fetch: FetchDef,
        args: tuple,
        steps: tuple[Callable[[Any], Any], ...],
        matchers: tuple[Any, ...],
        found: bool,
        warnings: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.kw = kw  # the keyword as HAProxy names it in messages
        self.text = text  # the expression words, joined
        self.warnings = warnings  # what `haproxy -c` would warn about this line
        self._fetch = fetch.fn
        self._args = args
        self._steps = steps
        self._matchers = matchers
        self._found = found
        self._one = matchers[0] if len(matchers) == 1 and not steps else None

    def __repr__(self) -> str:
        return f"<Acl {self.name or '(anonymous)'}: {self.text}>"

    def match(self, view: RequestView) -> bool:
        values = self._fetch(view, self._args)
        if values is None:
            return False
        if self._found:
            return True
        one = self._one
        if one is not None:
            for v in values:
                if one.test(v):
                    return True
            return False
        for v in values:
            for step in self._steps:
                v = step(v)
                if v is None:
                    break
            else:
                for m in self._matchers:
                    if m.test(v):
                        return True
        return False


class AclGroup:
    """A named ACL as a condition sees it: the OR of every `acl <name>` line. It keeps the parser's
    list itself, so lines declared after the condition still count, as in HAProxy."""

    __slots__ = ("name", "acls")

    def __init__(self, name: str, acls: list[Any]) -> None:
        self.name = name
        self.acls = acls

    def __repr__(self) -> str:
        return f"<AclGroup {self.name} x{len(self.acls)}>"

    def match(self, view: RequestView) -> bool:
        for acl in self.acls:
            if acl.match(view):
                return True
        return False


# ---------------------------------------------------------------- parsing


@dataclass
class _Builder:
    """Parser state for one expression, the fields parse_acl_expr() keeps in locals."""

    kw: str  # name used in "cannot be used with fetch keyword" messages
    cur_type: str
    base_dir: str | None
    match: MatchDef | None = None
    icase: bool = False
    as_map: bool = False
    loaded: bool = False
    unique_id: int = -1  # `-u`: the id of the inline patterns' reference
    groups: list[Any] = field(default_factory=list)  # maps.Matcher per -f file, then the inline one

    def set_match(self, name: str) -> None:
        if self.loaded:
            raise ValueError("'-m' must only be specified before patterns and files in parsing ACL expression")
        mdef = MATCHES.get(name)
        if mdef is None:
            raise ValueError(f"unknown matching method '{name}' when parsing ACL expression")
        # -m found always works; the others need HAProxy's sample_casts[fetch type][method type]
        if mdef.expect is not None and (self.cur_type, mdef.expect) not in smp.CAN_CAST:
            raise ValueError(f"matching method '{name}' cannot be used with fetch keyword '{self.kw}'")
        self.match = mdef

    def need_match(self) -> MatchDef:
        if self.match is None:
            raise ValueError(
                "matching method must be specified first (using '-m') when using a sample fetch "
                f"of this type ('{self.kw}')"
            )
        return self.match

    def load_file(self, path: str) -> None:
        """`-f <path>`: the file's reference in the pattern registry (shared with every other user
        of that path), indexed for the method and -i in force now."""
        mdef = self.need_match()
        try:
            matcher = _maps.current_registry().load_acl_file(path, mdef.name, self.icase, self.as_map, self.base_dir)
        except _maps.PatternError as exc:
            raise ValueError(str(exc)) from None
        self.groups.append(matcher)
        self.loaded = True


_INT_ID = re.compile(r"[ \t\n\r\f\v]*[+-]?[0-9]+")


def _opt_u(b: _Builder, arg: str) -> None:
    """`-u <id>`: strtol() of the whole word, and no other reference may have that id yet."""
    if arg and not _INT_ID.fullmatch(arg):
        raise ValueError("the argument of -u must be an integer")
    b.unique_id = int(arg) if arg else 0
    try:
        _maps.current_registry().check_unique_id(b.unique_id)
    except _maps.PatternError as exc:
        raise ValueError(str(exc)) from None


def _opt_f(b: _Builder, arg: str) -> None:
    b.load_file(arg)


def _opt_m(b: _Builder, arg: str) -> None:
    b.set_match(arg)


# flag -> (takes an argument, action)
_FLAGS: dict[str, tuple[bool, Callable[[_Builder, str], None]]] = {
    "-i": (False, lambda b, a: setattr(b, "icase", True)),
    "-n": (False, lambda b, a: None),  # no DNS: names are never resolved here anyway
    "-M": (False, lambda b, a: setattr(b, "as_map", True)),
    "-u": (True, _opt_u),
    "-f": (True, _opt_f),
    "-m": (True, _opt_m),
}


def _resolve_fetch(word: str) -> tuple[FetchDef, tuple, str, str | None, int]:
    """The fetch part of <word>: (fetch, args, kw, the ACL keyword's match or None, end of args).
    Error messages follow HAProxy: "ACL keyword 'x' : ..." for ACL keywords, "... in ACL
    expression '<word>'" for sample fetches."""
    ident = word[: ident_end(word)]
    aclkw = ACL_KEYWORDS.get(ident)
    if aclkw is not None:
        fdef = FETCHES[aclkw[0]]
        arg_error, val_error, suffix = f"ACL keyword '{ident}' : ", f"in argument to '{ident}', ", ""
    else:
        if not ident:
            raise ValueError(f"missing fetch method in ACL expression '{word}'")
        if ident not in FETCHES:
            raise ValueError(f"unknown fetch method '{ident}' in ACL expression '{word}'")
        fdef = FETCHES[ident]
        arg_error, val_error = f"fetch method '{ident}' : ", f"invalid args in fetch method '{ident}' : "
        suffix = f" in ACL expression '{word}'"
    try:
        args, used = make_arg_list(word[len(ident) :], fdef.arg_types, fdef.min_args)
    except ArgError as exc:
        raise ValueError(arg_error + exc.msg + suffix) from None
    err = fdef.validate(args) if fdef.validate and args else None
    if err:
        raise ValueError(val_error + err + suffix)
    args = tuple(wire(a) if isinstance(a, str) else a for a in args)
    return fdef, args, ident, aclkw[1] if aclkw else None, len(ident) + used


def _parse_converters(word: str, pos: int, fetch_kw: str, acl_kw: bool, in_type: str,
                      base_dir: str | None = None) -> list[smp.ConvDef]:
    """`,conv[(args)]` chain after the fetch: the converters of rules/expr.py (lower, map(), ...),
    their arguments compiled once here."""
    from trio_lb.rules.expr import CONVERTERS, ParseCtx

    convs: list[smp.ConvDef] = []
    ckw: str | None = None

    def fail(msg: str) -> ValueError:
        return ValueError(f"ACL keyword '{fetch_kw}' : {msg}." if acl_kw else f"{msg} in ACL expression '{word}'")

    while pos < len(word):
        if word[pos] != ",":
            if ckw is not None:
                raise fail(f"missing comma after converter '{ckw}'")
            raise ValueError(
                f"ACL keyword '{fetch_kw}' : missing comma after fetch keyword."
                if acl_kw
                else f"missing comma after fetch keyword '{fetch_kw}' in ACL expression '{word}'"
            )
        while pos < len(word) and word[pos] == ",":
            pos += 1
        if pos >= len(word):
            break
        ckw = word[pos : pos + ident_end(word[pos:])]
        spec = CONVERTERS.get(ckw)
        if spec is None:
            raise fail(f"unknown converter '{ckw}'")
        if (in_type, spec.in_type) not in smp.CAN_CAST:
            raise fail(f"converter '{ckw}' cannot be applied")
        in_type = spec.out_type
        pos += len(ckw)
        try:
            args, used = make_arg_list(word[pos:], spec.arg_types, spec.min_args)
        except ArgError as exc:
            raise fail(f"invalid arg {exc.pos} in converter '{ckw}' : {exc.msg}") from None
        try:
            fn = spec.build(args, ParseCtx(base_dir=base_dir))
        except ValueError as exc:
            raise fail(f"invalid args in converter '{ckw}' : {exc}") from None
        pos += used
        convs.append(smp.ConvDef(ckw, spec.in_type, spec.out_type, fn))
    return convs


def _value_steps(cur_type: str, convs: list[smp.ConvDef], expect: str | None) -> tuple[Callable, ...]:
    """The per-value pipeline: casts into each converter, the converters, the final cast (bool and
    int share a representation, so that cast is skipped)."""
    steps: list[Callable] = []
    for conv in convs:
        cast = smp.caster(cur_type, conv.in_type)
        if cast is not None:
            steps.append(cast)
        steps.append(conv.fn)
        cur_type = conv.out_type
    if expect is not None and not (cur_type == T_BOOL and expect == T_SINT):
        cast = smp.caster(cur_type, expect)
        if cast is not None:
            steps.append(cast)
    return tuple(steps)


def _pattern_texts(b: _Builder, words: list[str]) -> list[str]:
    """The values after the flags, as the reference stores them. Integer methods understand
    eq/ge/gt/le/lt, rewritten into ranges exactly like parse_acl_expr() does ("gt 5" is "6:")."""
    mdef = b.need_match()
    texts = []
    operator = "eq"
    for word in words:
        text = word
        if mdef.integer:
            op = _STD_OPS.get(word)
            if op is not None:
                operator = op
                continue
            if operator != "eq" and ":" not in word and "-" not in word:
                value = _strl2llrc(word.split(".", 1)[0])
                if value is None:
                    raise ValueError(f"'{word}' is neither a number nor a supported operator")
                text = {
                    "gt": f"{value + 1}:",
                    "ge": f"{value}:",
                    "lt": f":{value - 1}",
                    "le": f":{value}",
                }[operator]
        texts.append(text)
    return texts


def _inline_patterns(b: _Builder, words: list[str]) -> None:
    """The expression's own reference ("acl '<kw>' file ... line ..."), filled with its values;
    the Runtime API's `add acl #<id>` adds to it later."""
    mdef = b.need_match()
    matcher = _maps.current_registry().inline(b.kw, mdef.name, b.icase, b.unique_id)
    for text in _pattern_texts(b, words):
        try:
            matcher.ref.add(text)
        except _maps.PatternError as exc:
            raise ValueError(str(exc)) from None
    b.groups.append(matcher)


_NO_PATTERN_WARNING = (
    "parsing acl keyword '{}' :\n"
    "  no pattern to match against were provided, so this ACL will never match.\n"
    "  If this is what you intended, please add '--' to get rid of this warning.\n"
    "  If you intended to match only for existence, please use '-m found'.\n"
    "  If you wanted to force an int to match as a bool, please use '-m bool'.\n"
)

_PAREN_WARNING = (
    "parsing acl '{}' :\n"
    "  matching '{}' for pattern '{}' is likely a mistake and probably\n"
    "  not what you want. Maybe you need to remove the extraneous space before '('.\n"
    "  If you are really sure this is not an error, please insert '--' between the\n"
    "  match and the pattern to make this warning message disappear.\n"
)


def parse_acl_expr(words: list[str], name: str = "", *, base_dir: str | None = None) -> Acl:
    """Compile `<fetch> [flags] [values]` (an anonymous ACL between braces, or the part of an `acl`
    line after its name). Raises ValueError with HAProxy's bare message (no "error detected ...")."""
    word = words[0] if words else ""
    fdef, args, kw, kw_match, end = _resolve_fetch(word)
    convs = _parse_converters(word, end, kw, kw_match is not None, fdef.out_type, base_dir)
    cur_type = convs[-1].out_type if convs else fdef.out_type
    b = _Builder(kw=kw if kw_match is not None and not convs else fdef.name, cur_type=cur_type, base_dir=base_dir)
    if kw_match is not None and not convs:
        b.match = METH_MATCH if kw_match == "meth" else MATCHES[kw_match]
    else:
        default = DEFAULT_MATCH[cur_type]
        b.match = MATCHES[default] if default else None

    warnings = []
    if b.match is not None and cur_type != T_BOOL and (len(words) < 2 or not words[1]):
        warnings.append(_NO_PATTERN_WARNING.format(word))

    i = 1
    while i < len(words) and words[i].startswith("-"):
        flag = words[i]
        if flag == "--":
            i += 1
            break
        spec = _FLAGS.get(flag)
        if spec is None:
            raise ValueError(
                f"'{flag}' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'"
            )
        takes_arg, action = spec
        action(b, words[i + 1] if takes_arg and i + 1 < len(words) else "")
        i += 2 if takes_arg else 1

    mdef = b.need_match()
    _inline_patterns(b, words[i:])
    steps = _value_steps(fdef.out_type, convs, mdef.expect)
    found = mdef.name == "found"
    matchers = () if found else tuple(b.groups)
    if len(words) > 1 and "(" not in words[0] and words[1].startswith("("):
        warnings.append(_PAREN_WARNING.format(name, words[0], words[1]))
    return Acl(name, b.kw, " ".join(words), fdef, args, steps, matchers, found, tuple(warnings))


_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:_-")


def check_acl_name(name: str) -> None:
    """The checks the `acl` keyword does on its name before parsing the expression."""
    bad = next((ch for ch in name if ch not in _NAME_CHARS), None) if name else ""
    if bad is not None:
        raise ValueError(f"character '{bad}' is not permitted in acl name '{name}'.")
    if name.lower() == "or":
        raise ValueError(
            f"acl name '{name}' will never match. 'or' is used to express a logical disjunction within a condition."
        )


def parse_acl(words: list[str], *, base_dir: str | None = None) -> Acl:
    """Compile `acl <name> <fetch>[(<args>)] [flags] [values]` (words = everything after `acl`).

    Raises ValueError worded as HAProxy's alert without the "parsing [file:line] : " prefix, e.g.
    "error detected while parsing ACL 'x' : unknown fetch method 'foo' in ACL expression 'foo'."
    Relative `-f` files are looked up in <base_dir> (HAProxy: its working directory)."""
    name = words[0] if words else ""
    check_acl_name(name)
    try:
        return parse_acl_expr(list(words[1:]), name, base_dir=base_dir)
    except ValueError as exc:
        raise ValueError(f"error detected while parsing ACL '{name}' : {exc}.") from None


# ---------------------------------------------------------------- predefined ACLs

DEFAULT_ACLS: dict[str, tuple[str, ...]] = {
    "TRUE": ("always_true",),
    "FALSE": ("always_false",),
    "LOCALHOST": ("src", "127.0.0.1/8", "::1"),
    "HTTP": ("req.proto_http",),
    "HTTP_1.0": ("req.ver", "1.0"),
    "HTTP_1.1": ("req.ver", "1.1"),
    "HTTP_2.0": ("req.ver", "2.0"),
    "HTTP_3.0": ("req.ver", "3.0"),
    "METH_CONNECT": ("method", "CONNECT"),
    "METH_DELETE": ("method", "DELETE"),
    "METH_GET": ("method", "GET", "HEAD"),
    "METH_HEAD": ("method", "HEAD"),
    "METH_OPTIONS": ("method", "OPTIONS"),
    "METH_POST": ("method", "POST"),
    "METH_PUT": ("method", "PUT"),
    "METH_TRACE": ("method", "TRACE"),
    "HTTP_URL_ABS": ("url_reg", "^[^/:]*://"),
    "HTTP_URL_SLASH": ("url_beg", "/"),
    "HTTP_URL_STAR": ("url", "*"),
    "HTTP_CONTENT": ("req.hdr_val(content-length)", "gt", "0"),
    "RDP_COOKIE": ("req.rdp_cookie_cnt", "gt", "0"),
    "REQ_CONTENT": ("req.len", "gt", "0"),
    "WAIT_END": ("wait_end",),
}

def default_acl(name: str) -> Acl | None:
    """The predefined ACL <name>, or None if there is none by that name. Like HAProxy, which adds
    it to the proxy's ACLs on first use, it is compiled once per proxy (the pattern registry's
    scope), and its reference lists at the line that first used it.
    Raises ValueError for the two whose fetch trio-lb lacks (RDP_COOKIE, WAIT_END)."""
    registry = _maps.current_registry()
    key = (registry.scope, name)
    acl = registry.defaults.get(key)
    if acl is None:
        expr = DEFAULT_ACLS.get(name)
        if expr is None:
            return None
        try:
            acl = parse_acl_expr(list(expr), name)
        except ValueError as exc:
            raise ValueError(f"predefined ACL '{name}' is not supported by trio-lb ({exc})") from None
        registry.defaults[key] = acl
    return acl
