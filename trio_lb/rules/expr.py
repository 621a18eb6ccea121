"""Sample expressions and log-format strings in rule arguments (HAProxy's sample.c and log.c).

How it works
------------
A *sample expression* is `<fetch>[(<args>)][,<conv>[(<args>)]]...`. `parse_expr_words()` reads one
from configuration words the way sample_parse_expr() does for `set-var` or `capture` (a converter
may also start the next word; a next word that is no converter ends the expression), and
`parse_expr_text()` reads one inside `%[...]`, stopping at the first character that is neither part
of it nor a comma. Both return a `SampleExpr`: the bound FetchDef and its arguments, then a chain of
steps (casts into each converter's input type, the converter). Evaluating it on a RequestView takes
the fetch's value -- the *last* occurrence for header and cookie fetches, as HAProxy does outside
ACLs, the first otherwise -- and pipes it through the steps; None means "no sample".

A *log-format string* (`set-header X %[src]`, `lf-string`, `redirect location`) is compiled by
`compile_fmt()` with log.c's state machine: literal text, `%%`, `%var` / `%{opts}var` log variables
and `%[expr]` samples. `Fmt.render(view)` concatenates the parts; an absent sample renders as
nothing (rules do not use the log's mandatory "-"). The log variables a rule can compute at that
point (%ci %cp %fi %fp %r %HM %HU %HP %HPO %HQ %HV %f %b %ft %s %ST %H %pid) render their value;
the other log variables (timers, byte counts...) are accepted and render empty.

Fetches this module adds to sample.FETCHES: res.hdr / res.fhdr / res.hdr_cnt / status (the response
being processed, `view.ctx.response`), req.cook / cook / req.cook_cnt / cook_cnt / res.cook
(cookies), var() (the stream's variables, `view.ctx.vars`; `proc.` ones are process-wide),
fe_name / be_name, and date() (`view.ctx.now`, set by the data plane).

Converters: lower upper base64 hex length field word regsub url_dec ltrim rtrim and the map family
(map map_str map_beg map_sub map_dir map_dom map_end map_reg map_ip map_int, plus the
map_<match>_<int|ip|str> output variants), which call trio_lb.rules.maps' registry.
"""

from __future__ import annotations

import base64
import os
import platform
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from trio_lb.rules import sample as smp
from trio_lb.rules.sample import (
    FETCHES, T_ADDR, T_BIN, T_BOOL, T_SINT, T_STR, ArgError, FetchDef, RequestView, ident_end,
    make_arg_list, wire,
)


@dataclass
class ParseCtx:
    """What a rule parser knows about the line being parsed (the `pctx` of actions.Parser)."""

    proxy: Any = None  # the model.Proxy being filled
    file: str = ""
    line: int = 0
    base_dir: str | None = None  # where relative map/errorfile paths are looked up
    ruleset: str = "http-request"
    # compile_cond(words) -> Condition; for actions that parse their own `if|unless` (redirect)
    compile_cond: Callable[[list[str]], Any] | None = None
    cond: Any = None  # set by such an action: the rule's condition
    warnings: list[str] = field(default_factory=list)  # bodies for "parsing [f:l] : <body>"

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)


# ---------------------------------------------------------------- variables

VAR_SCOPES = ("proc", "sess", "txn", "req", "res", "check")
PROC_VARS: dict[str, Any] = {}  # `proc.` variables live as long as the process


def check_var_name(name: str) -> str | None:
    """vars_hash_name()'s check: HAProxy's message for a name without a valid scope, else None."""
    scope, dot, rest = name.partition(".")
    if not dot or scope not in VAR_SCOPES or not rest:
        return (f"invalid variable name '{name}'. A variable name must be start by its scope. The scope "
                "can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'")
    return None


def var_store(view: RequestView) -> dict[str, Any] | None:
    ctx = view.ctx
    return None if ctx is None else ctx.vars


def get_var(view: RequestView, name: str) -> tuple[str, Any] | None:
    """(type, value) of variable <name> ("txn.x"), or None when unset."""
    store = PROC_VARS if name.startswith("proc.") else var_store(view)
    return None if store is None else store.get(name)


def set_var(view: RequestView, name: str, typed: tuple[str, Any]) -> None:
    store = PROC_VARS if name.startswith("proc.") else var_store(view)
    if store is not None:
        store[name] = typed


def unset_var(view: RequestView, name: str) -> None:
    store = PROC_VARS if name.startswith("proc.") else var_store(view)
    if store is not None:
        store.pop(name, None)


# ---------------------------------------------------------------- fetches added here


def _response(view: RequestView) -> Any:
    ctx = view.ctx
    return None if ctx is None else ctx.response


def _res_lines(view: RequestView, name: str) -> list[str]:
    res = _response(view)
    if res is None:
        return []
    key = smp.ascii_lower(name).encode("latin-1", "replace")
    return [v.decode("latin-1") for n, v in res.headers if not key or n.lower() == key]


def _f_res_hdr(view: RequestView, args: tuple) -> list | None:
    if not args or _response(view) is None:
        return None
    values = [v for line in _res_lines(view, args[0]) for v in smp.split_values(line)]
    return smp._pick(values, args)


def _f_res_fhdr(view: RequestView, args: tuple) -> list | None:
    if not args or _response(view) is None:
        return None
    return smp._pick(_res_lines(view, args[0]), args)


def _f_res_hdr_cnt(view: RequestView, args: tuple) -> list | None:
    if _response(view) is None:
        return None
    lines = _res_lines(view, args[0] if args else "")
    return [sum(len(smp.split_values(line)) for line in lines)]


def _f_status(view: RequestView, args: tuple) -> list | None:
    res = _response(view)
    return None if res is None or res.status is None else [res.status]


def cookie_values(lines: list[str], name: str) -> list[str]:
    """Values of cookie <name> in Cookie header lines, in order (every cookie for name "")."""
    values = []
    for line in lines:
        for part in line.split(";"):
            cname, eq, value = part.partition("=")
            cname = cname.strip(" \t")
            if not eq or not cname:
                continue
            if not name or cname == name:
                values.append(value.strip(" \t"))
    return values


def _f_req_cook(view: RequestView, args: tuple) -> list | None:
    if view.method is None:
        return None
    return cookie_values(view.header_lines("cookie"), args[0] if args else "") or None


def _f_req_cook_cnt(view: RequestView, args: tuple) -> list | None:
    if view.method is None:
        return None
    return [len(cookie_values(view.header_lines("cookie"), args[0] if args else ""))]


def _f_res_cook(view: RequestView, args: tuple) -> list | None:
    if _response(view) is None:
        return None
    name = args[0] if args else ""
    values = []
    for line in _res_lines(view, "set-cookie"):
        first = line.split(";", 1)[0]
        cname, eq, value = first.partition("=")
        if eq and (not name or cname.strip(" \t") == name):
            values.append(value.strip(" \t"))
    return values or None


def _f_var(view: RequestView, args: tuple) -> list | None:
    typed = get_var(view, args[0]) if args else None
    return None if typed is None else [typed[1]]


def _f_fe_name(view: RequestView, args: tuple) -> list | None:
    fe = getattr(view.ctx, "frontend", None)
    return None if fe is None else [fe.name]


def _f_be_name(view: RequestView, args: tuple) -> list | None:
    be = getattr(view.ctx, "backend", None)
    return None if be is None else [be.name]


def _f_date(view: RequestView, args: tuple) -> list | None:
    """date([offset]): UNIX seconds of the stream's rules (RuleContext.wall)."""
    wall = getattr(view.ctx, "wall", None)
    if not wall:
        return None
    return [int(wall) + (args[0] if args else 0)]


def _f_str(view: RequestView, args: tuple) -> list | None:
    return [args[0]]


def _f_int(view: RequestView, args: tuple) -> list | None:
    return [args[0]]


def _val_var(args: tuple) -> str | None:
    return check_var_name(args[0]) if args else None


_HDR = {"arg_types": ("str", "sint"), "validate": smp._val_hdr}
for _d in (
    FetchDef("res.hdr", T_STR, _f_res_hdr, **_HDR),  # type: ignore[arg-type]
    FetchDef("shdr", T_STR, _f_res_hdr, **_HDR),  # type: ignore[arg-type]
    FetchDef("res.fhdr", T_STR, _f_res_fhdr, **_HDR),  # type: ignore[arg-type]
    FetchDef("res.hdr_cnt", T_SINT, _f_res_hdr_cnt, ("str",)),
    FetchDef("status", T_SINT, _f_status),
    FetchDef("req.cook", T_STR, _f_req_cook, ("str",)),
    FetchDef("cook", T_STR, _f_req_cook, ("str",)),
    FetchDef("req.cook_cnt", T_SINT, _f_req_cook_cnt, ("str",)),
    FetchDef("cook_cnt", T_SINT, _f_req_cook_cnt, ("str",)),
    FetchDef("res.cook", T_STR, _f_res_cook, ("str",)),
    FetchDef("scook", T_STR, _f_res_cook, ("str",)),
    FetchDef("var", T_STR, _f_var, ("str",), min_args=1, validate=_val_var),
    FetchDef("fe_name", T_STR, _f_fe_name),
    FetchDef("be_name", T_STR, _f_be_name),
    FetchDef("date", T_SINT, _f_date, ("sint",)),
    FetchDef("str", T_STR, _f_str, ("str",), 1),  # a constant, e.g. `server ... sni str(api.internal)`
    FetchDef("int", T_SINT, _f_int, ("sint",), 1),
):
    FETCHES.setdefault(_d.name, _d)

# Outside ACLs these return the last occurrence (HAProxy's hdr()/cook() semantics).
_LAST_WINS = frozenset({"hdr", "req.hdr", "req.fhdr", "res.hdr", "shdr", "res.fhdr", "cook", "req.cook",
                        "res.cook", "scook", "hdr_val", "req.hdr_val"})


# ---------------------------------------------------------------- converters

ConvFn = Callable[[Any], Any]


@dataclass(frozen=True)
class ConvSpec:
    name: str
    in_type: str
    out_type: str
    build: Callable[[tuple, ParseCtx | None], ConvFn]  # (args, pctx) -> value -> value | None
    arg_types: tuple[str, ...] = ()
    min_args: int = 0


def _plain(fn: ConvFn) -> Callable[[tuple, ParseCtx | None], ConvFn]:
    return lambda args, pctx: fn


def _b64(v: bytes) -> str:
    return base64.b64encode(v).decode("ascii")


def _hex(v: bytes) -> str:
    return v.hex().upper()


def _split_field(value: str, delims: str, index: int, count: int, words: bool) -> str | None:
    """field()/word(): the <index>-th part (from the end when negative), <count> parts long
    (0 = up to the end). word() ignores empty parts, field() keeps them."""
    parts = re.split("[" + re.escape(delims) + "]", value) if delims else [value]
    seps = re.findall("[" + re.escape(delims) + "]", value) if delims else []
    if words:
        keep = [i for i, p in enumerate(parts) if p]
    else:
        keep = list(range(len(parts)))
    if index == 0 or abs(index) > len(keep):
        return None
    start = index - 1 if index > 0 else len(keep) + index
    if count <= 0:
        chosen = keep[start:] if index > 0 else keep[: start + 1]
    elif index > 0:
        chosen = keep[start : start + count]
    else:
        chosen = keep[max(0, start - count + 1) : start + 1]
    if not chosen:
        return None
    first, last = chosen[0], chosen[-1]
    out = parts[first]
    for k in range(first, last):
        out += seps[k] + parts[k + 1]
    return out


def _field_builder(words: bool) -> Callable[[tuple, ParseCtx | None], ConvFn]:
    def build(args: tuple, pctx: ParseCtx | None) -> ConvFn:
        index, delims = args[0], args[1]
        count = args[2] if len(args) > 2 else 1  # 0: up to the end
        return lambda v: _split_field(v, delims, index, count, words)
    return build


def _regsub_builder(args: tuple, pctx: ParseCtx | None) -> ConvFn:
    flags_text = args[2] if len(args) > 2 else ""
    flags = re.IGNORECASE if "i" in flags_text else 0
    for ch in flags_text:
        if ch not in "ig":
            raise ValueError(f"invalid regex flag '{ch}', only 'i' and 'g' are supported")
    try:
        rx = re.compile(args[0], flags)
    except re.error as e:
        raise ValueError(f"regex '{args[0]}' is invalid ({e})") from None
    subst = re.sub(r"\\([0-9])", r"\\g<\1>", args[1].replace("\\\\", "\x00")).replace("\x00", "\\\\")
    count = 0 if "g" in flags_text else 1
    return lambda v: rx.sub(subst, v, count=count)


def _url_dec(v: str) -> str:
    return unquote_to_bytes(v.replace("+", " ")).decode("latin-1")


def _trim_builder(side: str) -> Callable[[tuple, ParseCtx | None], ConvFn]:
    def build(args: tuple, pctx: ParseCtx | None) -> ConvFn:
        chars = args[0]
        return (lambda v: v.lstrip(chars)) if side == "l" else (lambda v: v.rstrip(chars))
    return build


_MAP_MATCHES = {"": "str", "str": "str", "beg": "beg", "sub": "sub", "dir": "dir", "dom": "dom",
                "end": "end", "reg": "reg", "regm": "reg", "ip": "ip", "int": "int"}
_MAP_IN = {"ip": T_ADDR, "int": T_SINT}


def _map_builder(kind: str, out: str) -> Callable[[tuple, ParseCtx | None], ConvFn]:
    def build(args: tuple, pctx: ParseCtx | None) -> ConvFn:
        from trio_lb.rules import maps

        base_dir = pctx.base_dir if pctx is not None else None
        table = maps.current_registry().load(args[0], kind, base_dir)
        default = args[1] if len(args) > 1 else None
        if default is not None and out == T_SINT:
            default = smp.read_int64(default)[0]
        to_key = smp.ip_to_str if kind == "ip" else str

        def lookup(value: Any) -> Any:
            found = table.lookup(to_key(value))
            if found is None:
                return default
            if out == T_SINT:
                return smp.read_int64(found)[0]
            if out == T_ADDR:
                return smp.parse_ip(found)
            return found
        return lookup
    return build


def _map_specs() -> dict[str, ConvSpec]:
    specs = {}
    for suffix, kind in _MAP_MATCHES.items():
        base = "map" + ("_" + suffix if suffix else "")
        in_type = _MAP_IN.get(kind, T_STR)
        outs = {"": T_STR} if not suffix else {"": T_STR, "_str": T_STR, "_int": T_SINT, "_ip": T_ADDR}
        for osuf, otype in outs.items():
            name = base + osuf
            default_type = "sint" if otype == T_SINT else "str"
            specs[name] = ConvSpec(name, in_type, otype, _map_builder(kind, otype), ("str", default_type), 1)
    return specs


CONVERTERS: dict[str, ConvSpec] = {
    "lower": ConvSpec("lower", T_STR, T_STR, _plain(smp.ascii_lower)),
    "upper": ConvSpec("upper", T_STR, T_STR, _plain(smp.ascii_upper)),
    "base64": ConvSpec("base64", T_BIN, T_STR, _plain(_b64)),
    "hex": ConvSpec("hex", T_BIN, T_STR, _plain(_hex)),
    "length": ConvSpec("length", T_STR, T_SINT, _plain(len)),
    "field": ConvSpec("field", T_STR, T_STR, _field_builder(False), ("sint", "str", "sint"), 2),
    "word": ConvSpec("word", T_STR, T_STR, _field_builder(True), ("sint", "str", "sint"), 2),
    "regsub": ConvSpec("regsub", T_STR, T_STR, _regsub_builder, ("str", "str", "str"), 2),
    "url_dec": ConvSpec("url_dec", T_STR, T_STR, _plain(_url_dec)),
    "ltrim": ConvSpec("ltrim", T_STR, T_STR, _trim_builder("l"), ("str",), 1),
    "rtrim": ConvSpec("rtrim", T_STR, T_STR, _trim_builder("r"), ("str",), 1),
    **_map_specs(),
}


# ---------------------------------------------------------------- sample expressions


@dataclass
class SampleExpr:
    fetch: FetchDef
    args: tuple
    steps: tuple[ConvFn, ...]
    out_type: str
    text: str = ""

    def eval(self, view: RequestView) -> Any | None:
        """The expression's value on <view> (None: no sample)."""
        values = self.fetch.fn(view, self.args)
        if not values:
            return None
        value = values[-1] if self.fetch.name in _LAST_WINS else values[0]
        for step in self.steps:
            value = step(value)
            if value is None:
                return None
        return value

    def eval_str(self, view: RequestView) -> str | None:
        """The value cast to a string, as a log-format or capture wants it."""
        return to_str(self.eval(view), self.out_type)


def to_str(value: Any, vtype: str) -> str | None:
    if value is None:
        return None
    if vtype == T_ADDR:
        return smp.ip_to_str(value)
    if vtype == T_BIN:
        return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    if vtype in (T_SINT, T_BOOL):
        return str(int(value))
    return str(value)


def _parse_fetch(text: str) -> tuple[FetchDef, tuple, int]:
    """The fetch at the start of <text>: (def, args, characters used)."""
    end = ident_end(text)
    fkw = text[:end]
    if not fkw:
        raise ValueError("missing fetch method")
    fdef = FETCHES.get(fkw)
    if fdef is None:
        raise ValueError(f"unknown fetch method '{fkw}'")
    try:
        args, used = make_arg_list(text[end:], fdef.arg_types, fdef.min_args)
    except ArgError as e:
        raise ValueError(f"fetch method '{fkw}' : {e.msg}") from None
    if fdef.validate is not None and args:
        err = fdef.validate(args)
        if err:
            raise ValueError(f"invalid args in fetch method '{fkw}' : {err}")
    args = tuple(wire(a) if isinstance(a, str) else a for a in args)
    return fdef, args, end + used


class _ExprBuilder:
    """Accumulates converters onto a fetch, checking each cast the way HAProxy does."""

    def __init__(self, fdef: FetchDef, args: tuple, pctx: ParseCtx | None) -> None:
        self.fdef, self.args, self.pctx = fdef, args, pctx
        self.cur = fdef.out_type
        self.steps: list[ConvFn] = []

    def add(self, text: str) -> int:
        """Add the converter at the start of <text>; returns the characters used."""
        end = ident_end(text)
        ckw = text[:end]
        spec = CONVERTERS.get(ckw)
        if spec is None:
            raise ValueError(f"unknown converter '{ckw}'")
        if (self.cur, spec.in_type) not in smp.CAN_CAST:
            raise ValueError(f"converter '{ckw}' cannot be applied")
        try:
            args, used = make_arg_list(text[end:], spec.arg_types, spec.min_args)
        except ArgError as e:
            raise ValueError(f"invalid arg {e.pos} in converter '{ckw}' : {e.msg}") from None
        args = tuple(wire(a) if isinstance(a, str) else a for a in args)
        try:
            fn = spec.build(args, self.pctx)
        except (ValueError, OSError) as e:
            raise ValueError(f"invalid args in converter '{ckw}' : {e}") from None
        cast = smp.caster(self.cur, spec.in_type) if self.cur != spec.in_type else None
        if cast is not None and not (self.cur == T_BOOL and spec.in_type == T_SINT):
            self.steps.append(cast)
        self.steps.append(fn)
        self.cur = spec.out_type
        return end + used

    def done(self, text: str) -> SampleExpr:
        return SampleExpr(self.fdef, self.args, tuple(self.steps), self.cur, text)


def parse_expr_text(text: str, pctx: ParseCtx | None = None) -> tuple[SampleExpr, int]:
    """An expression at the start of <text> (as inside `%[...]`): (expr, index of the first
    character that is not part of it). Raises ValueError with HAProxy's bare message."""
    fdef, args, pos = _parse_fetch(text)
    b = _ExprBuilder(fdef, args, pctx)
    while pos < len(text) and text[pos] == ",":
        while pos < len(text) and text[pos] == ",":
            pos += 1
        if pos >= len(text):
            break
        pos += b.add(text[pos:])
    return b.done(text[:pos]), pos


def parse_expr_words(words: list[str], i: int, pctx: ParseCtx | None = None) -> tuple[SampleExpr, int]:
    """An expression starting at words[i] (as `set-var(x) <expr>` or `capture <expr>` read it):
    (expr, index of the first word after it)."""
    word = words[i] if i < len(words) else ""
    fdef, args, pos = _parse_fetch(word)
    b = _ExprBuilder(fdef, args, pctx)
    ckw: str | None = None
    parts = [word]
    while True:
        if pos < len(word) and word[pos] != ",":
            if ckw is not None:
                raise ValueError(f"missing comma after converter '{ckw}'")
            raise ValueError(f"missing comma after fetch keyword '{fdef.name}'")
        while pos < len(word) and word[pos] == ",":
            pos += 1
        if pos >= len(word):  # next word: a converter continues the expression, anything else ends it
            i += 1
            word = words[i] if i < len(words) else ""
            pos = 0
            if not word or word[: ident_end(word)] not in CONVERTERS:
                break
            parts.append(word)
        ckw = word[pos : pos + ident_end(word[pos:])]
        pos += b.add(word[pos:])
    return b.done(" ".join(parts)), i


# ---------------------------------------------------------------- log-format strings

_HOSTNAME = platform.node()


def _ctx_attr(view: RequestView, name: str) -> Any:
    return getattr(view.ctx, name, None) if view.ctx is not None else None


def _request_line(view: RequestView) -> str:
    if view.method is None:
        return "<BADREQ>"
    return f"{view.method} {view.target} HTTP/{view.version}"


def _query_part(view: RequestView) -> str:
    q = view.query
    return "" if q is None else "?" + q


def _frontend_name(view: RequestView) -> str:
    fe = _ctx_attr(view, "frontend")
    return "" if fe is None else fe.name


def _backend_name(view: RequestView) -> str:
    be = _ctx_attr(view, "backend")
    return _frontend_name(view) if be is None else be.name


def _status_text(view: RequestView) -> str:
    res = _ctx_attr(view, "response")
    return "" if res is None or res.status is None else str(res.status)


# the log variables a rule can compute when it runs
LF_VARS: dict[str, Callable[[RequestView], str]] = {
    "ci": lambda v: v.src,
    "cp": lambda v: str(v.src_port),
    "fi": lambda v: v.dst,
    "fp": lambda v: str(v.dst_port),
    "H": lambda v: _HOSTNAME,
    "pid": lambda v: str(os.getpid()),
    "r": _request_line,
    "HM": lambda v: v.method or "",
    "HU": lambda v: v.target or "",
    "HP": lambda v: (v.target or "").split("?", 1)[0],
    "HPO": lambda v: v.path,
    "HQ": _query_part,
    "HV": lambda v: f"HTTP/{v.version}" if v.method is not None else "",
    "f": _frontend_name,
    "ft": _frontend_name,
    "b": _backend_name,
    "s": lambda v: "<NOSRV>",
    "ST": _status_text,
}


def _known_log_vars() -> frozenset[str]:
    from trio_lb.log.logformat import VARIABLES

    return frozenset(VARIABLES) | frozenset(LF_VARS) | {"o"}


Part = Any  # str literal, or a callable view -> str


@dataclass
class Fmt:
    """A compiled log-format string."""

    text: str
    parts: list[Part]

    def render(self, view: RequestView) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                out.append(part(view))
        return "".join(out)

    @property
    def is_static(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)


def _sample_part(expr: SampleExpr) -> Callable[[RequestView], str]:
    def render(view: RequestView) -> str:
        value = expr.eval_str(view)
        return "" if value is None else value
    return render


def _var_part(name: str) -> Callable[[RequestView], str] | str:
    fn = LF_VARS.get(name)
    return fn if fn is not None else ""


def compile_fmt(text: str, pctx: ParseCtx | None = None) -> Fmt:
    """parse_logformat_string() for a rule argument; ValueError carries HAProxy's message."""
    parts: list[Part] = []
    lit: list[str] = []
    known = _known_log_vars()
    i, n = 0, len(text)

    def flush() -> None:
        if lit:
            parts.append("".join(lit))
            lit.clear()

    while i < n:
        ch = text[i]
        if ch != "%":
            lit.append(ch)
            i += 1
            continue
        i += 1  # after '%'
        if i >= n:
            raise ValueError("truncated line after '%'")
        ch = text[i]
        arg = None
        if ch == "%":
            lit.append("%")
            i += 1
            continue
        if ch.isdigit() or ch in " \t":
            raise ValueError(f"unexpected variable name near '{ch}' at position {i} line : '{text}'. Maybe you "
                             "want to write a single '%', use the syntax '%%'")
        if ch == "{":
            close = text.find("}", i + 1)
            if close < 0:
                raise ValueError(f"truncated line after '{text[i + 1:]}'")
            arg = text[i + 1 : close]
            i = close + 1
            if i >= n or not (text[i] == "[" or text[i].isalnum()):
                raise ValueError(f"parse argument modifier without variable name near '%{{{arg}}}'")
            ch = text[i]
        if ch == "[":
            start = i + 1
            try:
                expr, used = parse_expr_text(text[start:], pctx)
            except ValueError as e:
                raise ValueError(f"failed to parse sample expression <{text[start:]}> : {e}") from None
            end = start + used
            if end >= n:
                raise ValueError(f"missing ']' after '{text[start:end]}'")
            if text[end] != "]":
                raise ValueError(f"expected ']' after '{text[start:end]}', but found '{text[end]}'")
            flush()
            parts.append(_sample_part(expr))
            i = end + 1
            continue
        if ch.isalpha() or (arg is not None and ch.isalnum()):
            j = i
            while j < n and text[j].isalnum():
                j += 1
            name = text[i:j]
            if name not in known:
                raise ValueError(f"no such format variable '{name}'. If you wanted to emit the '%' character "
                                 "verbatim, you need to use '%%'")
            if name != "o":
                flush()
                part = _var_part(name)
                if part:
                    parts.append(part)
            i = j
            continue
        lit.append("%")  # any other character after '%' is a literal, as in log.c
    flush()
    return Fmt(text, parts)
