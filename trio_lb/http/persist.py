"""Cookie persistence on the wire (HAProxy 2.6's http_manage_client_side_cookies(),
http_manage_server_side_cookies() and the Set-Cookie insertion of http_process_res_common()).

Theory of operation
-------------------
A transaction carries one `Persist` record, HAProxy's cookie-related txn and stream flags:

1. `choose()` runs once the backend is known, before load balancing. It evaluates the backend's
   `force-persist` / `ignore-persist` rules (first match wins), then walks every `Cookie` request
   header. The persistence cookie (`NAME=SRV[|last[|first]]`, or `NAME=SRV~VALUE` in prefix mode)
   designates the first server, in configuration order, whose cookie value equals SRV and which
   is running (not MAINT and operationally up; DRAIN and NOLB still count: persistent clients keep
   reaching a draining server) -- or any such server with `option persist` or a matching
   `force-persist`. That server is returned and the request is "direct"; otherwise the balancer
   decides. Dates past `maxidle`/`maxlife` (or more than a day in the future) void the cookie.
   The same pass computes the headers sent to the server: prefix mode strips "SRV~",
   insert+indirect removes the cookie, every other byte is kept as HAProxy keeps it.
2. `response_headers()` walks the response's `Set-Cookie` (then `Set-Cookie2`) headers: the
   server's own persistence cookie is left alone (preserve), deleted (insert mode, or indirect on
   a direct request), rewritten (rewrite: value := server cookie) or prefixed (prefix). Then, in
   insert mode, a `Set-Cookie` is appended when the request was not direct, or dates need
   refreshing, unless postonly and not POST, or ignore-persist. `nocache` adds
   `cache-control: private` when HAProxy would have found the response cacheable.
3. `log_flags()` gives the two %tsc cookie characters: request side N I D V E O U, response side
   N P D I R U, or "--" without a cookie mode (HAProxy's PR_CK_ANY).

The header scanners are ports of HAProxy's pointer loops onto a bytearray holding one header
value: indices stand for the C pointers and slice assignments for its memmove()s, so the bytes
produced (spaces around '=' stripped, a delimiter kept when a middle cookie is removed, ...) are
HAProxy's. Header names added are lower-case, as HAProxy's HTX sends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from trio_lb.config.keywords.persist import CookieSpec, PersistRule
from trio_lb.config.model import Proxy
from trio_lb.rules.cond import eval_condition
from trio_lb.state.servers import MAINT

Headers = list[tuple[bytes, bytes]]

# request-side states (HAProxy's TX_CK_*, in sess_cookie[] order) and response-side (TX_SCK_*)
CK_NONE, CK_INVALID, CK_DOWN, CK_VALID, CK_EXPIRED, CK_OLD, CK_UNUSED = "NIDVEOU"
SCK_NONE, SCK_FOUND, SCK_DELETED, SCK_INSERTED, SCK_REPLACED, SCK_UPDATED = "NPDIRU"

_SPHT = b" \t"
_EQ, _SEMI, _COMMA, _DQUOTE, _BSLASH, _DOLLAR = (ord(c) for c in '=;,"\\$')
_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64REV = {c: i for i, c in enumerate(_B64)}
_EXPIRED_COOKIE = "; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/"
_CACHEABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_CACHEABLE_STATUSES = frozenset({200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501})
_NO_CACHE = frozenset({"private", "no-cache", "no-store", "max-age=0", "s-maxage=0"})


@dataclass
class Persist:
    """One transaction's persistence state (HAProxy's txn cookie flags, SF_DIRECT and friends)."""

    server: Any = None  # the server the cookie designated and which takes the request (SF_ASSIGNED)
    direct: bool = False  # SF_DIRECT: the client reached the server it asked for
    assigned: bool = False  # SF_ASSIGNED: some rule already chose the server
    force: bool = False  # a force-persist rule matched (SF_FORCE_PRST)
    ignore: bool = False  # an ignore-persist rule matched (SF_IGNORE_PRST)
    ck: str = CK_NONE  # %CC-like request cookie state
    sck: str = SCK_NONE  # response Set-Cookie state
    sck_present: bool = False  # some Set-Cookie was seen in the response (TX_SCK_PRESENT)
    first_date: int = 0  # dates read from the cookie, UNIX seconds (4 s resolution)
    last_date: int = 0
    headers: Headers = field(default_factory=list)  # the request headers to send to the server

    def redispatched(self) -> None:
        """The connection to the designated server failed and the balancer picks another one."""
        self.direct = self.assigned = False
        self.server = None


# -- entry points -------------------------------------------------------------------------

def persist_verdict(rules: Sequence[PersistRule], view: Any) -> str | None:
    """The first force-persist/ignore-persist rule whose condition holds: "force", "ignore" or None."""
    for rule in rules:
        if eval_condition(rule.cond, view):
            return rule.kind
    return None


def choose(backend: Proxy, servers: Sequence[Any], view: Any, now: float, *,
           assigned: Any = None) -> tuple[Any, Persist]:
    """Before load balancing: the server the request's cookie designates (None: the balancer
    decides) and the transaction's Persist record, whose `headers` go to the server.

    `servers` are the backend's ServerStates in configuration order; `assigned` is a server some
    earlier rule (use-server) already chose, in which case the cookie is only logged ("U")."""
    verdict = persist_verdict(backend.persist_rules, view)
    p = Persist(force=verdict == "force", ignore=verdict == "ignore")
    if assigned is not None:
        p.server, p.assigned, p.direct = assigned, True, True
    spec = backend.cookie
    if spec is None:
        p.headers = list(view.headers)
        return p.server, p
    scan = _ClientScan(spec, servers, p, int(now), "persist" in backend.options)
    p.headers = scan.headers(view.headers)
    return p.server, p


def request_headers(spec: CookieSpec | None, headers: Headers) -> Headers:
    """What goes to the server (the rewriting part of choose(), which does not depend on the choice)."""
    if spec is None:
        return list(headers)
    return _ClientScan(spec, (), Persist(), 0, False).headers(headers)


def response_headers(spec: CookieSpec | None, headers: Headers, server: Any, p: Persist, now: float,
                     method: str, status: int) -> Headers:
    """The response headers HAProxy sends to the client; updates p.sck. `server` is the server
    that answered (None for a response not from a server)."""
    if spec is None or (status < 200 and status != 101):
        return list(headers)
    out = _server_side(spec, headers, server, p)
    cacheable = method in _CACHEABLE_METHODS and status in _CACHEABLE_STATUSES
    if spec.nocache:
        cacheable = _response_cacheable(out, status, cacheable)
    if server is not None and _wants_insert(spec, p, int(now), method):
        out.append((b"set-cookie", _set_cookie_value(spec, server, p, int(now))))
        p.sck = SCK_UPDATED if (_cookie_of(server) and p.direct) else SCK_INSERTED
        if spec.nocache and cacheable:
            out.append((b"cache-control", b"private"))
    return out


def log_flags(spec: CookieSpec | None, p: Persist | None) -> str:
    """The cookie part of %tsc: request then response state, "--" without a cookie mode."""
    if spec is None or p is None or not spec.any_mode:
        return "--"
    return p.ck + p.sck


# -- request side -------------------------------------------------------------------------

def _cookie_of(server: Any) -> str | None:
    """A server's cookie value (a runtime `cookie` attribute wins over the configured one)."""
    value = getattr(server, "cookie", None)
    return value if value is not None else server.spec.cookie


def _running(server: Any) -> bool:
    """HAProxy's cur_state != SRV_ST_STOPPED: MAINT or a failed health check stop a server."""
    return server.admin != MAINT and server.op_up


class _ClientScan:
    """http_manage_client_side_cookies() for one transaction."""

    def __init__(self, spec: CookieSpec, servers: Sequence[Any], p: Persist, now: int, persist: bool) -> None:
        self.spec, self.servers, self.p, self.now, self.persist = spec, servers, p, now, persist
        self.name = spec.name.encode("latin-1")

    def headers(self, headers: Headers) -> Headers:
        out: Headers = []
        for name, value in headers:
            if name.lower() == b"cookie":
                new = self.header(bytearray(value))
                if new is None:
                    continue
                value = new
            out.append((name, value))
        return out

    def header(self, buf: bytearray) -> bytes | None:
        """One Cookie header value: its new bytes, or None to remove the header."""
        orig_len = len(buf)
        del_from: int | None = None
        preserve = False
        is_first = True
        prev = 0
        while prev < len(buf):
            hdr_end = len(buf)
            att_beg = prev if is_first else prev + 1
            is_first = False
            att_beg, att_end, equal, val_beg, val_end, nxt = _split(buf, att_beg, hdr_end, b"=,;")
            if att_beg < hdr_end and buf[att_beg] == _DOLLAR:
                prev = nxt  # RFC2109 attribute: follows its cookie
                continue
            if equal == nxt:  # no '=': not ours, keep it; drop a pending removal
                preserve = True
                if del_from is not None:
                    delta, _ = _del_value(buf, del_from, prev)
                    nxt += delta
                    del_from = None
                prev = nxt
                continue
            equal, val_beg, val_end, nxt = _strip_equal(buf, att_end, equal, val_beg, val_end, nxt)
            if buf[att_beg:att_end] == self.name:
                delim = self.ours(buf, val_beg, val_end)
                if self.spec.prefix and delim != val_end:
                    del buf[val_beg:delim + 1]
                    nxt += val_beg - (delim + 1)
                    del_from = None
                    preserve = True
                elif del_from is None and self.spec.insert and self.spec.indirect:
                    del_from = prev
            else:
                preserve = True
                if del_from is not None:
                    delta, _ = _del_value(buf, del_from, prev)
                    nxt += delta
                    del_from = None
            prev = nxt
        hdr_end = len(buf)
        if del_from is not None:
            hdr_end = del_from if preserve else 0
        if hdr_end != orig_len and hdr_end == 0:
            return None
        return bytes(buf[:hdr_end])

    def ours(self, buf: bytearray, val_beg: int, val_end: int) -> int:
        """Our cookie's value is buf[val_beg:val_end]: decide, return the end of the server part."""
        spec, p = self.spec, self.p
        if spec.prefix:
            delim = buf.find(b"~", val_beg, val_end)
            delim = val_end if delim < 0 else delim
        else:
            delim = self.dates(buf, val_beg, val_end)
        now = self.now
        if p.first_date and spec.maxlife and (now - p.first_date > spec.maxlife or p.first_date - now > 86400):
            p.ck, delim, p.first_date, p.last_date = CK_OLD, val_beg, 0, 0
        elif p.last_date and spec.maxidle and (now - p.last_date > spec.maxidle or p.last_date - now > 86400):
            p.ck, delim, p.first_date, p.last_date = CK_EXPIRED, val_beg, 0, 0
        found = None
        if delim != val_beg and not (p.ignore or p.assigned):
            wanted = bytes(buf[val_beg:delim])
            for srv in self.servers:
                cookie = _cookie_of(srv)
                if cookie is None or cookie.encode("latin-1") != wanted:
                    continue
                running = _running(srv)
                if running or self.persist or p.force:
                    p.ck = CK_VALID if running else CK_DOWN
                    p.direct = p.assigned = True
                    p.server = found = srv
                    break
                p.ck = CK_DOWN  # keep looking: another server may share the cookie
        # HAProxy tests (flags & (DOWN|EXPIRED|OLD)), which is its whole TX_CK_MASK: any state set
        if found is None and p.ck == CK_NONE:
            p.ck = CK_UNUSED if (p.ignore or p.assigned) else CK_INVALID
        return delim

    def dates(self, buf: bytearray, val_beg: int, val_end: int) -> int:
        """SRV|last|first: read the dates into p, return the end of SRV."""
        bar = buf.find(b"|", val_beg, val_end)
        if bar < 0:
            return val_end
        delim, bar = bar, bar + 1
        if val_end - bar >= 5:
            val = b64tos30(bytes(buf[bar:bar + 5]))
            if val > 0:
                self.p.last_date = val << 2
        bar2 = buf.find(b"|", bar, val_end)
        if bar2 >= 0 and val_end - bar2 > 5:
            val = b64tos30(bytes(buf[bar2 + 1:bar2 + 6]))
            if val > 0:
                self.p.first_date = val << 2
        return delim


# -- response side ------------------------------------------------------------------------

def _server_side(spec: CookieSpec, headers: Headers, server: Any, p: Persist) -> Headers:
    """http_manage_server_side_cookies(): Set-Cookie headers first, then Set-Cookie2 ones."""
    out: Headers = list(headers)
    for wanted, cookie2 in ((b"set-cookie", False), (b"set-cookie2", True)):
        i = 0
        while i < len(out):
            name, value = out[i]
            if name.lower() != wanted:
                i += 1
                continue
            p.sck_present = True
            new = _set_cookie_header(spec, bytearray(value), cookie2, server, p)
            if new is None:
                del out[i]
                continue
            out[i] = (name, new)
            i += 1
    return out


def _set_cookie_header(spec: CookieSpec, buf: bytearray, cookie2: bool, server: Any, p: Persist) -> bytes | None:
    name = spec.name.encode("latin-1")
    delims = b"=;," if cookie2 else b"=;"
    is_first = True
    prev = 0
    while prev < len(buf):
        hdr_end = len(buf)
        att_beg = prev if is_first else prev + 1
        is_first = False
        att_beg, att_end, equal, val_beg, val_end, nxt = _split(buf, att_beg, hdr_end, delims)
        if nxt < hdr_end:  # Set-Cookie: the rest is attributes (commas may be in dates)
            nxt = _hdr_value_end(buf, nxt, hdr_end) if cookie2 else hdr_end
        if equal == val_end:
            prev = nxt
            continue
        equal, val_beg, val_end, nxt = _strip_equal(buf, att_end, equal, val_beg, val_end, nxt)
        if not p.ignore and buf[att_beg:att_end] == name:
            p.sck = SCK_FOUND
            cookie = _cookie_of(server) if server is not None else None
            if spec.preserve:
                pass
            elif (server is not None and spec.insert) or (p.direct and spec.indirect):
                p.sck = SCK_DELETED
                if prev == 0 and nxt == len(buf):
                    return None
                _, prev = _del_value(buf, prev, nxt)
                nxt = prev
            elif cookie is not None and (spec.rewrite or spec.prefix):
                value = cookie.encode("latin-1")
                if spec.rewrite:
                    buf[val_beg:val_end] = value
                    nxt += len(value) - (val_end - val_beg)
                else:
                    buf[val_beg:val_beg] = value + b"~"
                    nxt += len(value) + 1
                p.sck = SCK_REPLACED
        prev = nxt
    return bytes(buf)


def _wants_insert(spec: CookieSpec, p: Persist, now: int, method: str) -> bool:
    if not spec.insert or p.ignore or (p.sck == SCK_FOUND and spec.preserve):
        return False
    if spec.postonly and method != "POST":
        return False
    refresh = (
        ((spec.maxidle or p.last_date) and (not p.last_date or p.last_date - now < 0))
        or (spec.maxlife and not p.first_date)  # set the first date
        or (not spec.maxlife and p.first_date)  # remove it
    )
    return not p.direct or bool(refresh)


def _set_cookie_value(spec: CookieSpec, server: Any, p: Persist, now: int) -> bytes:
    cookie = _cookie_of(server)
    if cookie is None:
        text = spec.name + "=" + _EXPIRED_COOKIE
    else:
        text = f"{spec.name}={cookie}"
        if spec.maxidle or spec.maxlife:
            text += "|" + s30tob64((now + 3) >> 2)
            if spec.maxlife:
                text += "|" + s30tob64((p.first_date >> 2) if p.first_date else (now + 3) >> 2)
        text += "; path=/"
    if spec.domain:
        text += f"; domain={spec.domain}"
    if spec.httponly:
        text += "; HttpOnly"
    if spec.secure:
        text += "; Secure"
    if spec.attrs:
        text += f"; {spec.attrs}"
    return text.encode("latin-1")


def _response_cacheable(headers: Headers, status: int, cacheable: bool) -> bool:
    """http_check_response_for_cacheability(), reduced to TX_CACHEABLE."""
    if status < 200:
        return False
    pragma = next((v for n, v in headers if n.lower() == b"pragma"), None)
    if pragma is not None and pragma.lower() == b"no-cache":
        return False
    fresh = False
    for value in _values(headers, b"cache-control"):
        low = value.lower()
        if low == "public":
            cacheable = True
        elif low in _NO_CACHE:
            cacheable = False
        elif low.startswith('no-cache="set-cookie'):
            pass  # only TX_CACHE_COOK, which nothing here reads
        elif low.startswith(("s-maxage", "max-age")):
            fresh = True
    if not fresh:
        present = {n.lower() for n, _ in headers}
        fresh = b"expires" in present
        if not fresh and not (b"etag" in present or b"last-modified" in present):
            cacheable = False
    return cacheable


def _values(headers: Headers, wanted: bytes) -> list[str]:
    """Every comma-separated value of the headers named <wanted>, trimmed (http_find_header full=0)."""
    out = []
    for name, value in headers:
        if name.lower() != wanted:
            continue
        buf = bytearray(value)
        start = 0
        while True:
            end = _hdr_value_end(buf, start, len(buf))
            out.append(bytes(buf[start:end]).strip(b" \t").decode("latin-1"))
            if end >= len(buf):
                break
            start = end + 1
    return out


# -- byte-level helpers (HAProxy's http.c / http_ana.c) --------------------------------------

def _split(buf: bytearray, att_beg: int, hdr_end: int, delims: bytes) -> tuple[int, int, int, int, int, int]:
    """Locate one `NAME = VALUE` from att_beg: (att_beg, att_end, equal, val_beg, val_end, next)."""
    while att_beg < hdr_end and buf[att_beg] in _SPHT:
        att_beg += 1
    equal = att_end = att_beg
    while equal < hdr_end:
        c = buf[equal]
        if c in delims:
            break
        equal += 1
        if c not in _SPHT:
            att_end = equal
    if equal < hdr_end and buf[equal] == _EQ:
        val_beg = equal + 1
        while val_beg < hdr_end and buf[val_beg] in _SPHT:
            val_beg += 1
        nxt = _cookie_value_end(buf, val_beg, hdr_end)
        val_end = nxt
        while val_end > val_beg and buf[val_end - 1] in _SPHT:
            val_end -= 1
    else:
        val_beg = val_end = nxt = equal
    return att_beg, att_end, equal, val_beg, val_end, nxt


def _strip_equal(buf: bytearray, att_end: int, equal: int, val_beg: int, val_end: int,
                 nxt: int) -> tuple[int, int, int, int]:
    """Remove the spaces around '=' in place; returns the moved (equal, val_beg, val_end, next)."""
    shift = 0
    if att_end != equal:
        del buf[att_end:equal]
        shift = att_end - equal
        equal += shift
        val_beg += shift
    if val_beg > equal + 1:
        after = equal + 1 - val_beg
        del buf[equal + 1:val_beg]
        val_beg += after
        shift += after
    return equal, val_beg, val_end + shift, nxt + shift


def _value_end(buf: bytearray, s: int, e: int, stops: tuple[int, ...]) -> int:
    """The first of <stops> outside double quotes (with backslash pairs inside them)."""
    quoted = qdpair = False
    while s < e:
        c = buf[s]
        if qdpair:
            qdpair = False
        elif quoted:
            if c == _BSLASH:
                qdpair = True
            elif c == _DQUOTE:
                quoted = False
        elif c == _DQUOTE:
            quoted = True
        elif c in stops:
            return s
        s += 1
    return s


def _cookie_value_end(buf: bytearray, s: int, e: int) -> int:
    """http_find_cookie_value_end(): the first unquoted ',' or ';'."""
    return _value_end(buf, s, e, (_COMMA, _SEMI))


def _hdr_value_end(buf: bytearray, s: int, e: int) -> int:
    """http_find_hdr_value_end(): the first unquoted ','."""
    return _value_end(buf, s, e, (_COMMA,))


def _del_value(buf: bytearray, frm: int, nxt: int) -> tuple[int, int]:
    """http_del_hdr_value(): remove buf[frm:nxt] keeping one delimiter; returns (delta, new from)."""
    end = len(buf)
    prev = frm
    if prev == 0:
        if nxt < end:
            nxt += 1  # eat the delimiter
        while nxt < end and buf[nxt] in _SPHT:
            nxt += 1
    else:
        while prev > 0 and buf[prev - 1] in _SPHT:
            prev -= 1
        frm = prev
        if nxt < end:  # keep the delimiter and, if there was room, one space
            buf[prev] = buf[nxt]
            prev += 1
            nxt += 1
            if prev + 1 < nxt:
                buf[prev] = 0x20
                prev += 1
            while nxt < end and buf[nxt] in _SPHT:
                nxt += 1
    del buf[prev:nxt]
    return prev - nxt, frm


def s30tob64(value: int) -> str:
    """HAProxy's s30tob64(): the low 30 bits as 5 base64 characters, most significant first."""
    return "".join(chr(_B64[(value >> shift) & 0x3F]) for shift in (24, 18, 12, 6, 0))


def b64tos30(text: bytes) -> int:
    """HAProxy's b64tos30(): the inverse of s30tob64(), -1 on a character outside the alphabet."""
    out = 0
    for c in text[:5]:
        digit = _B64REV.get(c)
        if digit is None:
            return -1
        out = (out << 6) + digit
    return out if len(text) >= 5 else -1
