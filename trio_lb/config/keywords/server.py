"""`server` and `default-server` lines.

A server starts as a copy of its proxy's default-server template (itself inherited from the
defaults section), then its address and options are applied left to right from a table
keyword -> handler. Options with a model.ServerSpec field set it; the other known HAProxy server
options are kept raw in `ServerSpec.options` (TLS, agent, tracking, ... for later issues).

HAProxy prefixes server messages with "[file:line] : 'server <proxy>/<name>' : " (or only the
location for `default-server`, and before the name is known); most option messages end with a
doubled period because HAProxy appends one to texts that already have it. This module reproduces
those bodies exactly.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from trio_lb.config.keywords import (
    Alert,
    Ctx,
    Keyword,
    atol,
    best_match,
    invalid_char,
    is_int,
    parse_time_err,
    to_seconds,
)
from trio_lb.config.keywords.address import AddressError, parse_address
from trio_lb.config.keywords.known import SERVER_KEYWORDS
from trio_lb.config.model import ServerSpec


@dataclass
class _Line:
    """What an option handler needs to know about the line it is on."""

    ctx: Ctx
    spec: ServerSpec
    prefix: str  # "[f:l] : 'server b/s' : " or "[f:l] : "
    label: str  # server name as HAProxy prints it in "of server %s" ("default-server" for templates)

    def fail(self, msg: str) -> Alert:
        return Alert(self.prefix + msg)


Handler = Callable[[_Line, str], None]


def kw_server(ctx: Ctx) -> None:
    _parse(ctx, template=False)


def kw_default_server(ctx: Ctx) -> None:
    _parse(ctx, template=True)


def _parse(ctx: Ctx, template: bool) -> None:
    loc = f"[{ctx.file}:{ctx.line}] : "
    px = ctx.px
    if not template and px.kind == "defaults":
        raise Alert(f"{loc}'{ctx.kw}' not allowed in 'defaults' section.")
    if px.kind == "frontend":
        raise Alert(f"{loc}{ctx.where()}'{ctx.kw}' not allowed because frontend '{px.name}' has no "
                    "backend capability.")
    notes = ctx.notes
    if template:
        line = _Line(ctx, notes.defsrv, loc, "default-server")
        _apply_options(line, 1, template=True)
        return
    name, addr_text = ctx.arg(1), ctx.arg(2)
    if not addr_text:
        raise Alert(f"{loc}'server' expects <name> and <addr>[:<port>] as arguments.")
    bad = invalid_char(name)
    if bad is not None:
        raise Alert(f"{loc}character '{bad}' is not permitted in server name '{name}'.")
    spec = copy.deepcopy(notes.defsrv)
    spec.name, spec.file, spec.line = name, ctx.file, ctx.line
    line = _Line(ctx, spec, f"{loc}'server {px.name}/{name}' : ", name)
    _set_address(line, addr_text)
    _apply_options(line, 3, template=False)
    if spec.check and "track" in spec.options:
        raise line.fail("unable to enable checks and tracking at the same time!")
    px.servers.append(spec)


def _set_address(line: _Line, text: str) -> None:
    try:
        addr = parse_address(text, port_offset=True)
    except AddressError as e:
        if e.host is not None:  # HAProxy fails to resolve it (after parsing, same words)
            raise line.fail(f"could not resolve address '{e.host}'.") from None
        raise line.fail(f"{e}{chr(10) if e.newline else ''}") from None
    spec = line.spec
    if addr.family == "unix":
        raise line.fail(f"unix socket servers are not supported by trio-lb yet ('{text}').")
    spec.host = addr.host  # "": the address the client connected to (HAProxy's 0.0.0.0)
    if addr.offset:
        spec.port = None
        spec.options["port_offset"] = addr.port_low
    else:
        spec.port = addr.port_low
        spec.options.pop("port_offset", None)


def _apply_options(line: _Line, start: int, template: bool, dynamic: bool = False) -> None:
    ctx = line.ctx
    i = start
    while ctx.arg(i):
        kw = ctx.arg(i)
        nargs = SERVER_KEYWORDS.get(kw)
        if nargs is None:
            raise line.fail(_unknown(kw, template))
        if dynamic and kw not in DYNAMIC_KEYWORDS:
            raise line.fail(f"'{kw}' option is not accepted for dynamic server")
        if nargs < 0:  # `source` and its variable arguments
            raise ctx.unsupported(f"{ctx.kw} ... {kw}")
        value = ctx.arg(i + 1) if nargs else ""
        _HANDLERS[kw](line, value)
        i += 1 + nargs


def _unknown(kw: str, template: bool) -> str:
    best = best_match(kw, SERVER_KEYWORDS)
    msg = f"unknown keyword '{kw}'; did you mean '{best}' maybe ?" if best else f"unknown keyword '{kw}'."
    if template:
        msg += " Hint: no address was expected for this server."
    return msg


# -- handlers -----------------------------------------------------------------------------

def _flag(attr: str, value: bool) -> Handler:
    def handler(line: _Line, _value: str) -> None:
        setattr(line.spec, attr, value)
    return handler


def _weight(line: _Line, value: str) -> None:
    # HAProxy reads the number with atol() and would take "x" as weight 0, silently taking the
    # server out of rotation; a value that is not a number is an error here.
    if not value.lstrip("-").isdigit():
        raise line.fail(f"weight of server {line.label} expects an integer between 0 and 256, found '{value}'.")
    n = atol(value)
    if n < 0 or n > 256:
        raise line.fail(f"weight of server {line.label} is not within 0 and 256 ({n})..")
    line.spec.weight = n


def _positive(attr: str) -> Handler:
    def handler(line: _Line, value: str) -> None:
        if not value:
            raise line.fail(f"'{attr}' expects an integer argument..")
        n = atol(value)
        if n <= 0:
            raise line.fail(f"'{attr}' has to be > 0..")
        setattr(line.spec, attr, n)
    return handler


def _delay(attr: str, kw: str) -> Handler:
    def handler(line: _Line, value: str) -> None:
        if not value:
            raise line.fail(f"'{kw}' expects a delay as argument..")
        res = parse_time_err(value)
        if res.overflow:
            raise line.fail(f"timer overflow in argument <{value}> to <{kw}> of server {line.label}, "
                            "maximum value is 2147483647 ms (~24.8 days)..")
        if res.underflow:
            raise line.fail(f"timer underflow in argument <{value}> to <{kw}> of server {line.label}, "
                            "minimum non-null value is 1 ms..")
        if res.value is None:
            # HAProxy 2.6 names 'agent-inter' here whatever the keyword
            raise line.fail(f"unexpected character '{res.bad}' in 'agent-inter' argument of server {line.label}..")
        if res.value == 0:
            raise line.fail(f"invalid value 0 for argument '{kw}' of server {line.label}..")
        setattr(line.spec, attr, to_seconds(res.value))
    return handler


def _slowstart(line: _Line, value: str) -> None:
    if not value:
        raise line.fail("'slowstart' expects a delay as argument..")
    res = parse_time_err(value)
    if res.value is None:
        if res.overflow:
            raise line.fail(f"timer overflow in argument <{value}> to <slowstart> of server {line.label}, "
                            "maximum value is 2147483647 ms (~24.8 days)..")
        raise line.fail(f"unexpected character '{res.bad}' in 'slowstart' argument of server {line.label}..")
    line.spec.slowstart = to_seconds(res.value)


def _int_field(attr: str) -> Handler:
    def handler(line: _Line, value: str) -> None:
        if not is_int(value):
            raise line.fail(f"'{attr}' expects an integer argument..")
        setattr(line.spec, attr, int(value))
    return handler


def _port(line: _Line, value: str) -> None:
    if not value:
        raise line.fail("'port' expects a port number as argument..")
    if not is_int(value) or int(value) > 65535:
        raise line.fail(f"invalid port '{value}'..")
    line.spec.check_port = int(value)


def _addr(line: _Line, value: str) -> None:
    if not value:
        raise line.fail("'addr' expects <ipv4|ipv6> as argument..")
    try:
        addr = parse_address(value)
    except AddressError as e:
        raise line.fail(f"{e}") from None
    line.spec.check_addr = addr.host


def _cookie(line: _Line, value: str) -> None:
    if not value:
        raise line.fail("'cookie' expects <value> as argument..")
    line.spec.cookie = value


def _id(line: _Line, value: str) -> None:
    if not value:
        raise line.fail("'id' : expects an integer argument.")
    n = atol(value)
    if n <= 0:
        raise line.fail("'id' : custom id has to be > 0.")
    if line.label == "default-server":
        raise line.fail("'id' : custom id is not allowed on default-server.")
    notes = line.ctx.notes
    if n in notes.server_ids:
        raise line.fail(f"'id' : custom id {n} already used at {notes.server_ids[n]}.")
    notes.server_ids[n] = f"{line.ctx.file}:{line.ctx.line} ('server {line.label}')"
    line.spec.id = n
    line.spec.options["forced_id"] = True  # `show servers state` srv_f_forced_id


def _track(line: _Line, value: str) -> None:
    if not value:
        raise line.fail("'track' expects [<proxy>/]<server> as argument..")
    line.spec.options["track"] = value


def _choice(kw: str, choices: tuple[str, ...], wording: str) -> Handler:
    def handler(line: _Line, value: str) -> None:
        if value not in choices:
            raise line.fail(f"'{kw}' expects one of {wording} but got '{value}'.")
        line.spec.options[kw] = value
    return handler


def _verify(line: _Line, value: str) -> None:
    if value not in ("none", "required"):
        raise line.fail(f"'verify' : unknown verify method '{value}', only 'none' and 'required' are supported.")
    line.spec.options["verify"] = value


def _valued(kw: str) -> Handler:
    def handler(line: _Line, value: str) -> None:
        if not value:
            raise line.fail(f"'{kw}' expects an argument..")
        line.spec.options[kw] = value
    return handler


def _opt_flag(kw: str, on: bool, target: str | None = None) -> Handler:
    def handler(line: _Line, _value: str) -> None:
        key = target or kw
        if on:
            line.spec.options[key] = True
        else:
            line.spec.options.pop(key, None)
    return handler


_HANDLERS: dict[str, Handler] = {
    "backup": _flag("backup", True),
    "no-backup": _flag("backup", False),
    "check": _flag("check", True),
    "no-check": _flag("check", False),
    "disabled": _flag("disabled", True),
    "enabled": _flag("disabled", False),
    "send-proxy": _flag("send_proxy", True),
    "no-send-proxy": _flag("send_proxy", False),
    "weight": _weight,
    "rise": _positive("rise"),
    "fall": _positive("fall"),
    "inter": _delay("inter", "inter"),
    "fastinter": _delay("fastinter", "fastinter"),
    "downinter": _delay("downinter", "downinter"),
    "slowstart": _slowstart,
    "maxconn": _int_field("maxconn"),
    "maxqueue": _int_field("maxqueue"),
    "minconn": _int_field("minconn"),
    "port": _port,
    "addr": _addr,
    "cookie": _cookie,
    "id": _id,
    "track": _track,
    "verify": _verify,
    "observe": _choice("observe", ("none", "layer4", "layer7"), "'none', 'layer4', 'layer7'"),
    "on-error": _choice("on-error", ("fastinter", "fail-check", "sudden-death", "mark-down"),
                        "'fastinter', 'fail-check', 'sudden-death' or 'mark-down'"),
}
# every other option: flags become True (their "no-" twin removes them), values are kept raw
for _kw, _n in SERVER_KEYWORDS.items():
    if _kw in _HANDLERS:
        continue
    if _n == 0:
        if _kw.startswith("no-") and _kw[3:] in SERVER_KEYWORDS:
            _HANDLERS[_kw] = _opt_flag(_kw[3:], False)
        else:
            _HANDLERS[_kw] = _opt_flag(_kw, True)
    elif _n == 1:
        _HANDLERS[_kw] = _valued(_kw)


def assign_server_ids(servers: list[ServerSpec]) -> None:
    """HAProxy's numbering: a counter that advances on every server, forced ids skipped."""
    used = {s.id for s in servers if s.id}
    next_id = 1
    for s in servers:
        if not s.id:
            while next_id in used:
                next_id += 1
            s.id = next_id
            used.add(next_id)
        next_id += 1


# -- `add server` (the Runtime API's dynamic servers) -------------------------------------------

# the server keywords 2.6.12 flags SRV_KWF_DYNAMIC (src/server.c, ssl_sock.c, check.c ...)
DYNAMIC_KEYWORDS = frozenset("""
    addr agent-addr agent-check agent-inter agent-port agent-send allow-0rtt alpn backup ca-file check
    check-alpn check-proto check-send-proxy check-sni check-ssl check-via-socks4 ciphers ciphersuites
    crl-file crt disabled downinter enabled error-limit fall fastinter force-sslv3 force-tlsv10
    force-tlsv11 force-tlsv12 force-tlsv13 id inter maxconn maxqueue minconn no-backup no-send-proxy
    no-send-proxy-v2 no-ssl-reuse no-sslv3 no-tfo no-tls-tickets no-tlsv10 no-tlsv11 no-tlsv12
    no-tlsv13 npn observe on-error on-marked-down on-marked-up pool-low-conn pool-max-conn
    pool-purge-delay port proto proxy-v2-options rise send-proxy send-proxy-v2 send-proxy-v2-ssl
    send-proxy-v2-ssl-cn slowstart sni source ssl ssl-max-ver ssl-min-ver tfo tls-tickets track usesrc
    verify verifyhost weight ws
""".split())


class _CliLine:
    """Stands for the config line of a server created by `add server` (no file, no line)."""

    file = "(null)"
    line = 0
    kw = "server"

    def __init__(self, words: list[str], used_ids: dict[int, str]) -> None:
        self.words = words
        self.notes = _CliNotes(used_ids)

    def arg(self, i: int) -> str:
        return self.words[i] if i < len(self.words) else ""

    def unsupported(self, what: str | None = None) -> Alert:
        return Alert(f"'{what or self.kw}' is not supported by trio-lb yet.")


@dataclass
class _CliNotes:
    server_ids: dict[int, str]


def parse_dynamic_server(words: list[str], used_ids: dict[int, str]) -> ServerSpec:
    """`add server <b>/<name> <addr>[:<port>] [kw args]*`: `words` are `<name> <addr> ...`.

    As HAProxy 2.6 parses them: `default-server` is not inherited, only the keywords flagged
    dynamic are accepted, and messages are the config's without their location (Alert's text).
    `used_ids` maps the backend's server ids to "file:line ('server name')"."""
    ctx = _CliLine(["server", *words], dict(used_ids))
    name = ctx.arg(1)
    if not ctx.arg(2):
        raise Alert("'server' expects <name> and <addr>[:<port>] as arguments.")
    bad = invalid_char(name)
    if bad is not None:
        raise Alert(f"character '{bad}' is not permitted in server name '{name}'.")
    spec = ServerSpec(name=name, host="", port=None, file="(null)", line=0, options={"dynamic": True})
    line = _Line(ctx, spec, "", name)  # type: ignore[arg-type]
    _set_address(line, ctx.arg(2))
    _apply_options(line, 3, template=False, dynamic=True)
    if "track" in spec.options:
        raise ctx.unsupported("track")
    return spec


KEYWORDS = [
    Keyword("server", kw_server, "dfbl"),
    Keyword("default-server", kw_default_server, "dfbl"),
]
