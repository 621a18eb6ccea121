"""Health-check keywords: `option httpchk`, `option tcp-check`, `option ssl-hello-chk`,
`http-check ...`, `tcp-check ...`.

Model: Proxy.check (a CheckSpec). The last of `option httpchk` / `option tcp-check` /
`option ssl-hello-chk` decides `kind`; `http-check` rules fill the request and `expects`, `tcp-check` rules fill `tcp_rules`,
whatever the order of the lines (HAProxy keeps them too and warns after parsing when the rules
do not match the enabled check, see validate.py). The deprecated way of adding headers to
`option httpchk` through the version string (`HTTP/1.1\\r\\nHost:\\ x`) is split into headers and
body here, with HAProxy's deprecation warning.
"""

from __future__ import annotations

import re

from trio_lb.config.keywords import Ctx, Keyword
from trio_lb.config.model import HttpExpect, TcpCheckRule

# -- option httpchk / option tcp-check -----------------------------------------------------


def opt_httpchk(ctx: Ctx) -> None:
    if ctx.warn_not_cap("be", name="httpchk"):
        return
    ctx.too_many(3, 1)
    a = ctx.arg
    if not a(2):
        meth, uri, ver = "OPTIONS", "/", "HTTP/1.0"
    elif not a(3):
        meth, uri, ver = "OPTIONS", a(2), "HTTP/1.0"
    else:
        meth, uri, ver = a(2), a(3), a(4) or "HTTP/1.0"
    check = ctx.px.check
    check.kind = "http"
    check.method, check.uri = meth, uri
    headers: list[tuple[str, str]] = []
    body = b""
    if "\r\n" in ver:
        ctx.warn("'option httpchk' : hiding headers or body at the end of the version string is "
                 "deprecated. Please, consider to use 'http-check send' directive instead.", tight=True)
        ver, headers, body = _split_hidden_headers(ver)
    check.version = ver
    notes = ctx.state.notes_for(ctx.px)
    # headers hidden in a previous (e.g. inherited) `option httpchk` are replaced, those
    # added by `http-check send hdr` are kept
    kept = [h for h in check.headers if h not in notes.httpchk_headers]
    check.headers = headers + kept
    notes.httpchk_headers = list(headers)
    if body:
        check.body = body


def _split_hidden_headers(ver: str) -> tuple[str, list[tuple[str, str]], bytes]:
    head, _, body = ver.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers.append((name.strip(), value.strip()))
    return lines[0], headers, body.encode("latin-1")


def opt_tcp_check(ctx: Ctx) -> None:
    if ctx.warn_not_cap("be", name="tcp-check"):
        return
    ctx.too_many(0, 1)
    ctx.px.check.kind = "tcp-check"


def opt_ssl_hello_chk(ctx: Ctx) -> None:
    """HAProxy's fixed "*ssl-hello-check" ruleset (send the SSLv3 hello, expect a TLS record):
    nothing to configure, and `tcp-check` rules of the proxy are then ignored (with a warning)."""
    if ctx.warn_not_cap("be", name="ssl-hello-chk"):
        return
    ctx.too_many(0, 1)
    ctx.px.check.kind = "ssl-hello"


# -- http-check ------------------------------------------------------------------------------

def kw_http_check(ctx: Ctx) -> None:
    if ctx.warn_not_cap("be"):
        ctx.state.notes_for(ctx.px).http_check_rules = True  # HAProxy still warns about them later
        return
    sub = ctx.arg(1)
    handler = _HTTP_CHECK.get(sub)
    if handler is None:
        raise ctx.error("'http-check' only supports 'disable-on-404', 'send-state', 'comment', 'connect', "
                        f"'send', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '{sub}'")
    handler(ctx)
    ctx.state.notes_for(ctx.px).http_check_rules = True


def _http_send(ctx: Ctx) -> None:
    check = ctx.px.check
    i = 2
    while ctx.arg(i):
        word, value = ctx.arg(i), ctx.arg(i + 1)
        if word in ("meth", "uri", "ver", "body", "comment"):
            if not value:
                raise ctx.error(f"'http-check send' : '{word}' expects a {_SEND_WHAT[word]} as argument.")
            if word == "meth":
                check.method = value
            elif word == "uri":
                check.uri = value
            elif word == "ver":
                check.version = value
            elif word == "body":
                check.body = value.encode("latin-1", "replace")
            i += 2
        elif word == "hdr":
            if not value or not ctx.arg(i + 2):
                raise ctx.error("'http-check send' : 'hdr' expects <name> and <value> as arguments.")
            check.headers.append((value, ctx.arg(i + 2)))
            i += 3
        elif word in ("uri-lf", "body-lf"):
            raise ctx.unsupported(f"http-check send {word}")
        else:
            raise ctx.error("'http-check send' : expects 'comment', 'meth', 'uri', 'uri-lf', 'ver', 'hdr', "
                            f"'body' or 'body-lf' but got '{word}' as argument..")


_SEND_WHAT = {"meth": "method", "uri": "URI", "ver": "version", "body": "body", "comment": "comment"}


def _http_expect(ctx: Ctx) -> None:
    i = 2
    negate = False
    match = pattern = None
    while ctx.arg(i):
        word = ctx.arg(i)
        if word == "!":
            negate = True
            i += 1
        elif word == "comment":
            i += 2
        elif word in ("min-recv", "ok-status", "error-status", "tout-status", "on-success",
                      "on-error", "status-code"):
            raise ctx.unsupported(f"http-check expect {word}")
        elif word in ("status", "rstatus", "string", "rstring"):
            if match is not None:
                raise _expect_junk(ctx, word)
            if not ctx.arg(i + 1):
                raise ctx.error(f"'http-check expect' : '{word}' expects a <pattern> as argument.")
            match, pattern = word, ctx.arg(i + 1)
            i += 2
        elif word in ("string-lf", "hdr", "fhdr") or word.startswith("!"):
            raise ctx.unsupported(f"http-check expect {word}")
        else:
            raise _expect_junk(ctx, word)
    if match is None or pattern is None:
        raise ctx.error("'http-check expect' : expects at least a matching pattern as arguments.")
    if match == "status":
        _check_status_list(ctx, pattern)
    elif match in ("rstatus", "rstring"):
        _check_regex(ctx, "http-check expect", pattern)
    ctx.px.check.expects.append(HttpExpect(match=match, pattern=pattern, negate=negate))  # type: ignore[arg-type]


def _expect_junk(ctx: Ctx, word: str) -> Exception:
    return ctx.error("'http-check expect' : 'only supports min-recv, [!]string', '[!]rstring', "
                     "'[!]string-lf', '[!]status', '[!]rstatus', [!]hdr, [!]fhdr or comment but got "
                     f"'{word}' as argument..")


def _check_status_list(ctx: Ctx, pattern: str) -> None:
    for c in pattern:
        if not (c.isdigit() or c in ",-"):
            raise ctx.error(f"'http-check expect' : invalid character '{c}' in the list of status codes.")


def _check_regex(ctx: Ctx, kw: str, pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as e:
        raise ctx.error(f"'{kw}' : regex '{pattern}' is invalid (error={e.msg}, erroffset={e.pos}).") from None


def _http_comment(ctx: Ctx) -> None:
    if not ctx.arg(2):
        raise ctx.error("'http-check comment' : expects a string as argument.")


def _http_unsupported(ctx: Ctx) -> None:
    raise ctx.unsupported(f"http-check {ctx.arg(1)}")


_HTTP_CHECK = {
    "send": _http_send,
    "expect": _http_expect,
    "comment": _http_comment,
    "connect": _http_unsupported,
    "disable-on-404": _http_unsupported,
    "send-state": _http_unsupported,
}
for _name in ("set-var", "set-var-fmt", "unset-var"):
    _HTTP_CHECK[_name] = _http_unsupported


# -- tcp-check -------------------------------------------------------------------------------

def kw_tcp_check(ctx: Ctx) -> None:
    if ctx.warn_not_cap("be"):
        ctx.state.notes_for(ctx.px).tcp_check_rules = True
        return
    sub = ctx.arg(1)
    base = sub.split("(", 1)[0]
    handler = _TCP_CHECK.get(base)
    if handler is None:
        raise ctx.error("'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', "
                        f"'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '{sub}'")
    handler(ctx)
    ctx.state.notes_for(ctx.px).tcp_check_rules = True


def _tcp_append(ctx: Ctx, rule: TcpCheckRule) -> None:
    notes = ctx.state.notes_for(ctx.px)
    if rule.comment is None and notes.pending_comment is not None:
        rule.comment = notes.pending_comment
    notes.pending_comment = None
    ctx.px.check.tcp_rules.append(rule)


def _tcp_comment(ctx: Ctx) -> None:
    if not ctx.arg(2):
        raise ctx.error("'tcp-check comment' : expects a string as argument.")
    ctx.state.notes_for(ctx.px).pending_comment = ctx.arg(2)


def _tcp_connect(ctx: Ctx) -> None:
    rule = TcpCheckRule(action="connect")
    i = 2
    while ctx.arg(i):
        word, value = ctx.arg(i), ctx.arg(i + 1)
        if word == "port":
            if not value:
                raise ctx.error("'tcp-check connect' : 'port' expects a port number or a sample "
                                "expression as argument..")
            if not value.isdigit():
                raise ctx.unsupported("tcp-check connect port <expression>")
            rule.port = int(value)
            i += 2
        elif word == "addr":
            if not value:
                raise ctx.error("'tcp-check connect' : 'addr' expects an address as argument..")
            rule.addr = value
            i += 2
        elif word == "comment":
            if not value:
                raise ctx.error("'tcp-check connect' : 'comment' expects a string as argument..")
            rule.comment = value
            i += 2
        elif word in ("ssl", "sni", "alpn", "send-proxy", "via-socks4", "linger", "default", "proto"):
            raise ctx.unsupported(f"tcp-check connect {word}")
        else:
            raise ctx.error("'tcp-check connect' : expects 'comment', 'port', 'addr', 'send-proxy', 'ssl', "
                            "'sni', 'alpn' or 'via-socks4', 'linger', 'default' but got "
                            f"'{word}' as argument..")
    rules = ctx.px.check.tcp_rules
    if rules and rules[0].action != "connect":
        raise ctx.error("'tcp-check connect' : first step MUST also be a 'connect', optionally preceded "
                        "by a 'set-var', an 'unset-var' or a 'comment', when there is a 'connect' step "
                        "in the tcp-check ruleset.")
    _tcp_append(ctx, rule)


def _tcp_send(ctx: Ctx) -> None:
    kind = ctx.arg(1)
    data = ctx.arg(2)
    if not data:
        what = "string" if kind == "send" else "binary"
        raise ctx.error(f"'tcp-check {kind}' : '{what}' expects a send as argument.")
    rule = TcpCheckRule(action=kind)  # type: ignore[arg-type]
    if ctx.arg(3) == "comment":
        rule.comment = ctx.arg(4)
    elif ctx.arg(3):
        raise ctx.error(f"'tcp-check {kind}' : expects 'comment' but got '{ctx.arg(3)}' as argument..")
    if kind == "send":
        rule.data = data.encode("latin-1", "replace")
    else:
        rule.data = _hex(ctx, kind, data)
    _tcp_append(ctx, rule)


def _hex(ctx: Ctx, kind: str, text: str) -> bytes:
    for c in text:
        if c not in "0123456789abcdefABCDEF":
            raise ctx.error(f"'tcp-check {kind}' : '{text}' invalid binary string (an hex digit is expected "
                            f"(found '{c}')).\n.")
    if len(text) % 2:
        raise ctx.error(f"'tcp-check {kind}' : '{text}' invalid binary string (an even number of hex "
                        "digit is expected).\n.")
    return bytes.fromhex(text)


_TCP_MATCHES = ("string", "rstring", "binary", "rbinary")


def _tcp_expect(ctx: Ctx) -> None:
    i = 2
    rule = TcpCheckRule(action="expect")
    while ctx.arg(i):
        word = ctx.arg(i)
        if word == "!":
            rule.negate = True
            i += 1
        elif word == "comment":
            rule.comment = ctx.arg(i + 1)
            i += 2
        elif word in _TCP_MATCHES:
            if rule.match is not None:
                raise _tcp_expect_junk(ctx, word)
            pattern = ctx.arg(i + 1)
            if not pattern:
                raise ctx.error(f"'tcp-check expect' : '{word}' expects a <pattern> as argument.")
            rule.match = word
            if word == "binary":
                rule.data = _hex(ctx, "expect", pattern)
            else:
                if word in ("rstring", "rbinary"):
                    _check_regex(ctx, "tcp-check expect", pattern)
                rule.data = pattern.encode("latin-1", "replace")
            i += 2
        elif word in ("min-recv", "ok-status", "error-status", "tout-status", "on-success", "on-error",
                      "status-code", "string-lf", "binary-lf"):
            raise ctx.unsupported(f"tcp-check expect {word}")
        else:
            raise _tcp_expect_junk(ctx, word)
    if rule.match is None:
        raise ctx.error("'tcp-check expect' : expects at least a matching pattern as arguments.")
    _tcp_append(ctx, rule)


def _tcp_expect_junk(ctx: Ctx, word: str) -> Exception:
    return ctx.error("'tcp-check expect' : 'only supports min-recv, [!]binary, [!]string, [!]rstring, "
                     f"[!]string-lf or comment but got '{word}' as argument..")


def _tcp_unsupported(ctx: Ctx) -> None:
    raise ctx.unsupported(f"tcp-check {ctx.arg(1)}")


_TCP_CHECK = {
    "comment": _tcp_comment,
    "connect": _tcp_connect,
    "send": _tcp_send,
    "send-binary": _tcp_send,
    "expect": _tcp_expect,
    "send-lf": _tcp_unsupported,
    "send-binary-lf": _tcp_unsupported,
    "set-var": _tcp_unsupported,
    "set-var-fmt": _tcp_unsupported,
    "unset-var": _tcp_unsupported,
}


def opt_unsupported_check(ctx: Ctx) -> None:
    if ctx.warn_not_cap("be", name=ctx.arg(1)):
        return
    raise ctx.unsupported(f"option {ctx.arg(1)}")


CHECK_OPTIONS = {
    "httpchk": opt_httpchk,
    "tcp-check": opt_tcp_check,
    "ssl-hello-chk": opt_ssl_hello_chk,
    **{name: opt_unsupported_check for name in (
        "smtpchk", "pgsql-check", "redis-check", "mysql-check", "ldap-check",
        "spop-check", "external-check")},
}

KEYWORDS = [
    Keyword("http-check", kw_http_check, "dfbl"),
    Keyword("tcp-check", kw_tcp_check, "dfbl"),
]

