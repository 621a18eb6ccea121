"""Cookie persistence: `cookie`, `force-persist`, `ignore-persist` (HAProxy's cfgparse-listen.c).

`cookie <name> [rewrite|insert|prefix] [indirect] [nocache] [postonly] [preserve] [httponly]
[secure] [domain <d>]* [maxidle <t>] [maxlife <t>] [dynamic] [attr <v>]*` builds a CookieSpec in
Proxy.cookie. As in HAProxy a new `cookie` line resets the modes, dates and domains of the one it
replaces (inherited from defaults or an earlier line) but *appends* to its `attr` list, which
HAProxy never resets. The mode checks run after the whole line and may each raise an alert.

`force-persist|ignore-persist if|unless <cond>` append a PersistRule to Proxy.persist_rules; the
first matching rule decides (trio_lb.http.persist.persist_verdict()).

Post-parse checks (HAProxy's check_config_validity()) are `mode_warnings()` (a cookie on a TCP
proxy) and `server_warnings()` (server cookies in TCP mode); config/validate.py calls them.
HAProxy says nothing about servers without a cookie value: they get a removal Set-Cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from trio_lb.config.keywords import (
    Ctx,
    Keyword,
    parse_time_err,
    proxy_type_str,
    trailing_time_warning,
)
from trio_lb.config.keywords.acl_rules import compile_condition
from trio_lb.config.model import Proxy

_SUPPORTED = ("'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', "
              "'maxidle', 'dynamic', 'maxlife' and 'attr' options.")


@dataclass
class CookieSpec:
    """A backend's `cookie` line (HAProxy's cookie_name, ck_opts, cookie_domain, ...)."""

    name: str
    rewrite: bool = False
    insert: bool = False
    prefix: bool = False
    indirect: bool = False
    nocache: bool = False
    postonly: bool = False
    preserve: bool = False
    httponly: bool = False
    secure: bool = False
    dynamic: bool = False
    domain: str | None = None  # several `domain` words joined as HAProxy does: "a.com; domain=b.com"
    maxidle: int = 0  # seconds, 0 = unset
    maxlife: int = 0
    attrs: str | None = None  # several `attr` words joined with "; "

    @property
    def any_mode(self) -> bool:
        """HAProxy's PR_CK_ANY: whether the logs show the cookie flags (%tsc) or "--"."""
        return self.rewrite or self.indirect or self.insert or self.prefix


@dataclass
class PersistRule:
    """`force-persist` / `ignore-persist` with its compiled model.Condition."""

    kind: Literal["force", "ignore"]
    cond: Any
    file: str = ""
    line: int = 0


_FLAGS = frozenset(("rewrite", "indirect", "insert", "nocache", "postonly", "preserve", "prefix",
                    "httponly", "secure"))


def kw_cookie(ctx: Ctx) -> None:
    ctx.warn_not_cap("be")
    name = ctx.arg(1)
    if not name:
        raise ctx.error(f"'{ctx.kw}' expects <cookie_name> as argument.")
    old = ctx.px.cookie
    spec = CookieSpec(name=name, attrs=old.attrs if isinstance(old, CookieSpec) else None)
    ctx.px.cookie = spec
    i = 2
    while ctx.arg(i):
        word = ctx.arg(i)
        if word in _FLAGS:
            setattr(spec, word, True)
        elif word in _VALUED:
            _VALUED[word](ctx, spec, word, ctx.arg(i + 1))
            i += 1
        elif word == "dynamic":
            ctx.warn_not_cap("be", name=word)
            spec.dynamic = True
        else:
            raise ctx.error(_SUPPORTED)
        i += 1
    _check_modes(ctx, spec)


def _domain(ctx: Ctx, spec: CookieSpec, word: str, value: str) -> None:
    if not value:
        raise ctx.error(f"'{word}' expects <domain> as argument.", tight=True)
    if "." not in value:
        ctx.warn(f"domain '{value}' contains no embedded dot, this configuration may not work properly "
                 "(see RFC6265#5.2.3).", tight=True)
    for c in value:
        if not (c.isascii() and c.isalnum()) and c not in "._-":
            raise ctx.error(f"character '{c}' is not permitted in domain name '{value}'.", tight=True)
    spec.domain = value if spec.domain is None else f"{spec.domain}; domain={value}"


def _time(what: str) -> Any:
    def handler(ctx: Ctx, spec: CookieSpec, word: str, value: str) -> None:
        if not value:
            raise ctx.error(f"'{word}' expects <{what}> in seconds as argument.", tight=True)
        res = parse_time_err(value, "s")
        if res.overflow:
            raise ctx.error(f"timer overflow in argument <{value}> to <{word}>, maximum value is 2147483647 s "
                            "(~68 years).", tight=True)
        if res.underflow:
            raise ctx.error(f"timer underflow in argument <{value}> to <{word}>, minimum non-null value is 1 s.",
                            tight=True)
        if res.value is None:
            raise ctx.error(f"unexpected character '{res.bad}' in argument to <{word}>.", tight=True)
        trailing_time_warning(ctx, value, res)
        setattr(spec, word, res.value)
    return handler


def _attr(ctx: Ctx, spec: CookieSpec, word: str, value: str) -> None:
    if not value:
        raise ctx.error(f"'{word}' expects <value> as argument.", tight=True)
    for c in value:
        if ord(c) < 32 or ord(c) == 127 or c == ";":
            raise ctx.error(f"character '%x{ord(c):02X}' is not permitted in attribute value.", tight=True)
    spec.attrs = value if spec.attrs is None else f"{spec.attrs}; {value}"


_VALUED = {"domain": _domain, "maxidle": _time("idletime"), "maxlife": _time("lifetime"), "attr": _attr}

# (modes of which at most one may be set, alert) -- HAProxy's POWEROF2() checks, in its order
_EXCLUSIVE = (
    (("rewrite", "indirect"), "cookie 'rewrite' and 'indirect' modes are incompatible."),
    (("rewrite", "insert", "prefix"), "cookie 'rewrite', 'insert' and 'prefix' modes are incompatible."),
)


def _check_modes(ctx: Ctx, spec: CookieSpec) -> None:
    for modes, msg in _EXCLUSIVE:
        if sum(getattr(spec, m) for m in modes) > 1:
            ctx.alert(msg)
    if spec.preserve and not (spec.insert or spec.indirect):
        ctx.alert("cookie 'preserve' requires at least 'insert' or 'indirect'.")


def kw_persist_rule(ctx: Ctx) -> None:
    if ctx.px.kind == "defaults":
        raise ctx.error(f"'{ctx.kw}' not allowed in 'defaults' section.")
    ctx.warn_not_cap("be")
    if ctx.arg(1) not in ("if", "unless"):
        raise ctx.error(f"'{ctx.kw}' requires either 'if' or 'unless' followed by a condition.")
    try:
        cond = compile_condition(ctx, ctx.words[1:])
    except ValueError as e:
        raise ctx.error(f"error detected while parsing a '{ctx.kw}' rule : {e}.") from None
    kind: Literal["force", "ignore"] = "force" if ctx.kw == "force-persist" else "ignore"
    ctx.px.persist_rules.append(PersistRule(kind, cond, ctx.file, ctx.line))


# -- post-parse checks (check_config_validity) ----------------------------------------------

def mode_warnings(px: Proxy) -> list[str]:
    """proxy_cfg_ensure_no_http()'s cookie line; HAProxy emits it before "Layer 7 hash not possible"."""
    if px.mode != "http" and px.cookie is not None:
        return [f"cookie will be ignored for {proxy_type_str(px)} '{px.name}' (needs 'mode http')."]
    return []


def server_warnings(px: Proxy) -> list[str]:
    """The per-server cookie check; HAProxy emits it after "log format ignored"."""
    if px.mode == "http":
        return []
    return [f"{proxy_type_str(px)} '{px.name}' : ignoring cookie for server '{s.name}' as HTTP mode is disabled."
            for s in px.servers if s.cookie]


KEYWORDS = [
    Keyword("cookie", kw_cookie, "dfbl"),
    Keyword("force-persist", kw_persist_rule, "dfbl"),
    Keyword("ignore-persist", kw_persist_rule, "dfbl"),
]
