"""Keyword tables: how one configuration line reaches the function that understands it.

Theory of operation
-------------------
Each concern module (global_.py, proxy.py, server.py, ...) exports `KEYWORDS`, a list of
`Keyword(name, parser, sections)`. `sections` is a string of section letters
(g=global, d=defaults, f=frontend, b=backend, l=listen) where the keyword is looked up;
elsewhere it is "unknown". `TABLE` merges them into one dict per section letter.

A parser receives a `Ctx` (the line's words, its location, the object being filled and the
parse state) and either returns normally, or raises `Alert` whose text is HAProxy's complete
alert body for that mistake. Non-fatal findings go through `ctx.warn()`; an alert that should not
stop the rest of the line goes through `ctx.alert()`. Helpers here implement the HAProxy idioms
the parsers share (too many arguments, capability warnings, integer and time arguments) so that
every keyword words its errors the same way HAProxy's C code does.

Keywords HAProxy knows but trio-lb does not implement (known.py, acl_rules.LATER) are answered
with "'<kw>' is not supported by trio-lb yet." (an alert, so a security rule is never silently
dropped). Anything else gets HAProxy's "unknown keyword" text, including its "did you mean"
suggestion computed with HAProxy's word-fingerprint distance over HAProxy's own keyword list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from trio_lb.config.model import Config, Global, Proxy, ServerSpec
from trio_lb.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from trio_lb.config.sections import ParseState

class Alert(ConfigError):
    """A fatal configuration error; `msg` is the complete [ALERT] body (location included).

    `abort` mirrors HAProxy's ERR_ABORT: parsing stops after this line.
    """

    def __init__(self, body: str, abort: bool = False) -> None:
        super().__init__(body)
        self.abort = abort


@dataclass
class Diag:
    """Messages gathered while reading the configuration, in emission order."""

    alerts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fatal_count: int = 0
    abort: bool = False

    @property
    def fatal(self) -> bool:
        return self.fatal_count > 0

    def alert(self, body: str, fatal: bool = True) -> None:
        """Record an alert; a non-fatal one (HAProxy's ERR_ALERT alone) does not refuse the config."""
        self.alerts.append(body)
        if fatal:
            self.fatal_count += 1

    def warn(self, body: str) -> None:
        self.warnings.append(body)


@dataclass
class ProxyNotes:
    """Parser-side facts about a proxy that model.Proxy does not hold."""

    defsrv: ServerSpec = field(default_factory=lambda: ServerSpec(name="", host="", port=None))
    logformat_kw: str | None = None  # which keyword set Proxy.log_format
    logformat_line: tuple[str, int] | None = None
    server_ids: dict[int, str] = field(default_factory=dict)  # forced server id -> "file:line name"
    explicit_ref: bool = False  # for defaults: referenced by `from`
    implicit_ref: bool = False  # for defaults: used implicitly
    http_check_rules: bool = False  # some `http-check` line was seen
    tcp_check_rules: bool = False  # some `tcp-check` line was seen
    pending_comment: str | None = None  # `tcp-check comment` for the next rule
    httpchk_headers: list[tuple[str, str]] = field(default_factory=list)  # hidden in option httpchk
    stats_own: bool = False  # the proxy has its own `stats` lines (no longer the inherited ones)


@dataclass
class Ctx:
    """One configuration line being parsed."""

    file: str
    line: int
    words: list[str]
    section: str  # global | defaults | frontend | backend | listen
    state: ParseState
    proxy: Proxy | None = None
    kwm: str = "std"  # std | no | default: the "no"/"default" prefix of the line

    # -- words ---------------------------------------------------------------------------
    def arg(self, i: int) -> str:
        """words[i], or "" past the end (HAProxy's args[] are padded with empty strings)."""
        return self.words[i] if i < len(self.words) else ""

    @property
    def kw(self) -> str:
        return self.words[0]

    @property
    def config(self) -> Config:
        return self.state.config

    @property
    def glob(self) -> Global:
        return self.state.config.global_

    @property
    def px(self) -> Proxy:
        assert self.proxy is not None
        return self.proxy

    @property
    def notes(self) -> ProxyNotes:
        return self.state.notes_for(self.px)

    # -- messages ------------------------------------------------------------------------
    def where(self, tight: bool = False) -> str:
        return f"parsing [{self.file}:{self.line}]{'' if tight else ' '}: "

    def error(self, msg: str, tight: bool = False, abort: bool = False) -> Alert:
        return Alert(self.where(tight) + msg, abort=abort)

    def alert(self, msg: str, tight: bool = False, fatal: bool = True) -> None:
        self.state.diag.alert(self.where(tight) + msg, fatal=fatal)

    def warn(self, msg: str, tight: bool = False) -> None:
        self.state.diag.warn(self.where(tight) + msg)

    # -- HAProxy idioms ------------------------------------------------------------------
    def too_many(self, maxarg: int, index: int = 0) -> None:
        """alertif_too_many_args_idx(): at most `maxarg` arguments after words[index]."""
        extra = self.arg(index + maxarg + 1)
        if extra:
            head = " ".join(self.words[: index + 1])
            raise self.error(f"'{head}' cannot handle unexpected argument '{extra}'.")

    def proxy_type(self) -> str:
        return proxy_type_str(self.px)

    def warn_not_cap(self, cap: str, hint: str = "", name: str | None = None) -> bool:
        """warnifnotcap(): warn when the proxy lacks the frontend ("fe") or backend ("be") side."""
        px = self.px
        if px.kind == "defaults":
            return False
        has = px.has_frontend if cap == "fe" else px.has_backend
        if has:
            return False
        other = "frontend" if cap == "fe" else "backend"
        self.warn(f"'{name or self.kw}' ignored because {proxy_type_str(px)} '{px.name}' "
                  f"has no {other} capability.{hint}")
        return True

    def forbid_defaults(self, tight: bool = False, what: str | None = None) -> None:
        if self.px.kind == "defaults":
            raise self.error(f"'{what or self.kw}' not allowed in 'defaults' section.", tight=tight)

    def unsupported(self, what: str | None = None) -> Alert:
        return self.error(f"'{what or self.kw}' is not supported by trio-lb yet.")


def invalid_char(name: str) -> str | None:
    """HAProxy's invalid_char(): the first character outside [A-Za-z0-9_:.-], or the empty name."""
    if not name:
        return ""
    for c in name:
        if not (c.isascii() and (c.isalnum() or c in "_:.-")):
            return c
    return None


def proxy_type_str(px: Proxy) -> str:
    """HAProxy's proxy_type_str(): the word used in messages about an existing proxy."""
    return {"frontend": "frontend", "backend": "backend", "listen": "proxy", "defaults": "defaults"}[px.kind]


Parser = Callable[[Ctx], None]


@dataclass(frozen=True)
class Keyword:
    name: str
    parse: Parser
    sections: str  # letters among g d f b l


SECTION_LETTER = {"global": "g", "defaults": "d", "frontend": "f", "backend": "b", "listen": "l"}


def build_table(groups: Iterable[list[Keyword]]) -> dict[str, dict[str, Keyword]]:
    """Merge the concern modules' lists into {section letter: {keyword: Keyword}}."""
    table: dict[str, dict[str, Keyword]] = {letter: {} for letter in "gdfbl"}
    for group in groups:
        for kw in group:
            for letter in kw.sections:
                if kw.name in table[letter]:
                    raise RuntimeError(f"keyword {kw.name!r} registered twice for {letter!r}")
                table[letter][kw.name] = kw
    return table


# -- argument helpers ---------------------------------------------------------------------

def atol(text: str) -> int:
    """C atol(): leading blanks, optional sign, digits; anything else stops (0 if none)."""
    s = text.lstrip(" \t\n\r\v\f")
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    n = 0
    for c in s:
        if not c.isdigit() or not c.isascii():
            break
        n = n * 10 + int(c)
    return sign * n


def is_int(text: str, signed: bool = False) -> bool:
    body = text[1:] if signed and text[:1] in ("+", "-") else text
    return body.isascii() and body.isdigit()


TIME_UNITS = {"us": 1, "ms": 1000, "s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000}


@dataclass(frozen=True)
class TimeResult:
    """parse_time_err(): `value` in the requested unit, or what went wrong."""

    value: int | None = None
    bad: str | None = None  # the unexpected character ("" for an empty string)
    overflow: bool = False
    underflow: bool = False
    trailing: str | None = None  # HAProxy only warns about text after a valid unit


def parse_time_err(text: str, unit: str = "ms") -> TimeResult:
    """HAProxy's parse_time_err(): integer result in `unit`, rounded up, with its error kinds."""
    digits = len(text) - len(text.lstrip("0123456789"))
    if digits == 0 or not text[:digits].isascii():
        return TimeResult(bad=text[:1])
    value = int(text[:digits])
    rest = text[digits:]
    if rest == "":
        factor_in = TIME_UNITS[unit]
        trailing = None
    else:
        for suffix in ("us", "ms", "s", "m", "h", "d"):
            if rest.startswith(suffix):
                break
        else:
            return TimeResult(bad=rest[:1])
        factor_in = TIME_UNITS[suffix]
        trailing = rest[len(suffix):] or None
    micro = value * factor_in
    out_unit = TIME_UNITS[unit]
    result = -(-micro // out_unit)  # round up, as HAProxy does
    if result >= 0x80000000:
        return TimeResult(overflow=True)
    if result == 0 and value:
        return TimeResult(underflow=True)
    return TimeResult(value=result, trailing=trailing)


def trailing_time_warning(ctx: Ctx, text: str, res: TimeResult) -> None:
    if res.trailing:
        ctx.state.diag.warn(
            f"unexpected character '{res.trailing[0]}' after the timer value '{text}', only "
            "(us=microseconds,ms=milliseconds,s=seconds,m=minutes,h=hours,d=days) are supported. "
            "This will be reported as an error in next versions."
        )


def to_seconds(value: int, unit: str = "ms") -> float:
    return value * TIME_UNITS[unit] / 1_000_000


# -- "did you mean" -------------------------------------------------------------------------

def _fingerprint(word: str) -> dict[int, int]:
    """HAProxy's make_word_fingerprint(): counts of transitions between character classes
    (1..26 letters, 27 digits, 28 others and the word's ends) at 32*from+to, plus a presence
    mark per class in the first row."""
    fp: dict[int, int] = {}
    frm = 28  # begin
    for ch in word.lower():
        if "a" <= ch <= "z":
            to = ord(ch) - ord("a") + 1
        elif "0" <= ch <= "9":
            to = 27
        else:
            to = 28
        fp[to] = 1
        fp[32 * frm + to] = fp.get(32 * frm + to, 0) + 1
        frm = to
    fp[32 * frm + 28] = fp.get(32 * frm + 28, 0) + 1  # end
    return fp


def _distance(a: dict[int, int], b: dict[int, int]) -> int:
    return sum(abs(a.get(k, 0) - b.get(k, 0)) for k in a.keys() | b.keys())


def best_match(word: str, candidates: Iterable[str]) -> str | None:
    """cfg_find_best_match(): the closest candidate, or None when nothing is close enough."""
    wfp = _fingerprint(word)
    best: str | None = None
    best_dist = 1 << 30
    for cand in candidates:
        dist = _distance(wfp, _fingerprint(cand))
        if dist < best_dist:
            best, best_dist = cand, dist
    if best is None or best_dist > 2 * len(word) or best_dist > 2 * len(best):
        return None
    return best

