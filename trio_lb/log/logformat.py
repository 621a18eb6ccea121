"""HAProxy log-format strings: compile once, render one line per transaction (pure).

Theory of operation (mirrors parse_logformat_string() / sess_build_logline() of HAProxy 2.6):

1. The lexer turns the format into nodes: literal text, separators, `%var` variables and
   `%[fetch,conv...]` sample expressions. Every space is a separator (HAProxy always compiles
   log-formats with LOG_OPT_MERGE_SPACES). `%{+Q,-M}` flags set the options of the next
   node; `%{...}o` changes the default options of all the following nodes. The defaults
   start as M (mandatory: an absent string renders "-").
2. Each variable name maps, in `VARIABLES`, to a factory that takes the node's options and
   returns a renderer `TxnLog -> str | None`. Options are resolved at compile time, so
   rendering only runs the small closures.
3. Rendering concatenates the node outputs. A separator emits one space unless the last
   thing written was already a separator (or nothing yet); %hr %hs %hrl %hsl write nothing at
   all -- not even for the separator logic -- when no capture is configured (they return
   None). Separators whose outcome is known at compile time are folded into the text, so most
   formats render with a plain join.

Options: Q quotes strings (never numbers or dates), X prints some numbers/addresses in hex,
E backslash-escapes `"`, `\\` and `]`, M prints "-" for an absent string. URIs are encoded
with '#XX' for control, non-ASCII, `"` and `#` bytes; captured headers also for `{|}`.
"""

from __future__ import annotations

import ipaddress
import os
import re
import time
from collections.abc import Callable
from string import ascii_letters, digits

from trio_lb.log.record import TxnLog

TCPLOG = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"
HTTPLOG = (
    "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc "
    "%sq/%bq %hr %hs %{+Q}r"
)
HTTPLOG_CLF = (
    '%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc '
    "%ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl"
)
HTTPSLOG = (
    HTTPLOG + " %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] "
    "%[ssl_fc_sni]/%sslv/%sslc"
)

Renderer = Callable[[TxnLog], "str | None"]


class LogFormatError(ValueError):
    """A log-format that HAProxy would reject; str() is HAProxy's message (without the
    `Parsing [file:line]: failed to parse log-format : ` prefix and the final dot)."""


# --- options --------------------------------------------------------------------------------

M, Q, X, E = 1, 2, 4, 8
_FLAGS = {"M": M, "Q": Q, "X": X, "E": E}


def _apply_flags(options: int, arg: str) -> int:
    """`+Q,-M,...`: the last '+'/'-' of each comma item selects the flag; others are ignored."""
    for item in arg.split(","):
        k = max(item.rfind("+"), item.rfind("-"))
        if k < 0:
            continue
        bit = _FLAGS.get(item[k + 1:])
        if bit is None:
            continue
        options = options | bit if item[k] == "+" else options & ~bit
    return options


# --- encoders -------------------------------------------------------------------------------

class _Encoding:
    """A byte-wise encoding: '#XX' for the bytes in `hex_codes`, '\\' before `escaped`."""

    __slots__ = ("table", "needs")

    def __init__(self, hex_codes: set[int], escaped: str = "") -> None:
        self.table = {c: f"#{c:02X}" for c in hex_codes}
        for ch in escaped:
            self.table.setdefault(ord(ch), "\\" + ch)
        self.needs = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(self.table))
                                + "\u0100-\U0010ffff]")

    def __call__(self, s: str) -> str:
        if self.needs.search(s) is None:
            return s  # the common case: nothing to encode
        return _bytewise(s).translate(self.table)


def _bytewise(s: str) -> str:
    """Chars above 0xFF become their UTF-8 bytes (as latin-1 chars) so they get '#XX'."""
    try:
        s.encode("latin-1")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogateescape").decode("latin-1")


_CTL_HIGH = set(range(32)) | set(range(127, 256))
_RFC5424_ESCAPED = '"\\]'
_URL = _Encoding(_CTL_HIGH | {ord('"'), ord("#")})
_URL_E = _Encoding(_CTL_HIGH | {ord('"'), ord("#")}, _RFC5424_ESCAPED)
_HDR = _Encoding(_CTL_HIGH | {ord(c) for c in '"#{|}'})
_HDR_E = _Encoding(_CTL_HIGH | {ord(c) for c in '"#{|}'}, _RFC5424_ESCAPED)
_ESC_MAP = {ord(c): "\\" + c for c in _RFC5424_ESCAPED}


def _text(s: str | None, opts: int) -> str:
    """HAProxy's lf_text_len(): quoting, +E escaping, "-" for absent when mandatory."""
    if not s:
        if opts & Q:
            return '""'
        return "-" if opts & M else ""
    if opts & E:
        s = s.translate(_ESC_MAP)
    return f'"{s}"' if opts & Q else s


def _quoted(s: str, opts: int) -> str:
    return f'"{s}"' if opts & Q else s


# --- dates ----------------------------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _split(ts: float) -> tuple[int, int]:
    """Epoch float -> (seconds, milliseconds), rounding to the microsecond first."""
    sec, usec = divmod(round(ts * 1_000_000), 1_000_000)
    return sec, usec // 1000


def _dmy(tm: time.struct_time) -> str:
    return (f"{tm.tm_mday:02d}/{_MONTHS[tm.tm_mon - 1]}/{tm.tm_year:04d}:"
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}")


_last_local: list[object] = [None, ""]  # one-entry cache: lines come in time order


def _local_dmy(sec: int) -> str:
    key = (sec, time.timezone, time.altzone)  # the zone is part of the key (tzset())
    if _last_local[0] != key:
        _last_local[:] = [key, _dmy(time.localtime(sec))]
    return _last_local[1]  # type: ignore[return-value]


def date_ms(ts: float) -> str:
    """%t / %tr: local "22/Nov/2026:10:00:00.123"."""
    sec, ms = _split(ts)
    return f"{_local_dmy(sec)}.{ms:03d}"


def date_gmt(ts: float) -> str:
    """%T / %trg: "22/Nov/2026:10:00:00 +0000"."""
    return _dmy(time.gmtime(_split(ts)[0])) + " +0000"


def date_local(ts: float) -> str:
    """%Tl / %trl: local "22/Nov/2026:11:00:00 +0100"."""
    tm = time.localtime(_split(ts)[0])
    off = tm.tm_gmtoff // 60
    sign = "-" if off < 0 else "+"
    off = abs(off)
    return f"{_dmy(tm)} {sign}{off // 60:02d}{off % 60:02d}"


def _request_date(rec: TxnLog) -> float:
    if rec.request_date is not None:
        return rec.request_date
    return rec.accept_date + ((rec.Ti + rec.Th) / 1000 if rec.Ti >= 0 else 0.0)


# --- derived values -------------------------------------------------------------------------

def _tq(rec: TxnLog) -> int:
    return rec.TR + rec.Th + max(rec.Ti, 0) if rec.TR >= 0 else -1


def _ta(rec: TxnLog) -> int:
    if rec.Ta is not None:
        return rec.Ta
    return rec.Tt - (rec.Ti + rec.Th if rec.Ti >= 0 else 0)


def _tu(rec: TxnLog) -> int:
    return rec.Tt - max(rec.Ti, 0)


def _td(rec: TxnLog, http: bool) -> int:
    """Data transfer time: Tt minus everything before the response (HTTP) or connect (TCP)."""
    if rec.Td is not None:
        return rec.Td
    before = rec.Th + max(rec.Ti, 0) + max(rec.TR, 0) + max(rec.Tw, 0)
    if http:
        return rec.Tt - (before + max(rec.Tc, 0) + rec.Tr) if rec.Tr >= 0 else -1
    return rec.Tt - (before + rec.Tc) if rec.Tc >= 0 else -1


_HOSTNAME = os.uname().nodename


# --- request line pieces (%HM %HU %HP %HPO %HQ %HV), "<BADREQ>" when unparsed -----------------

_BADREQ = "<BADREQ>"


def _req_method(rec: TxnLog) -> str:
    return rec.method if rec.method is not None and rec.uri is not None else _BADREQ


def _req_uri(rec: TxnLog) -> str:
    return rec.uri if rec.method is not None and rec.uri is not None else _BADREQ


def _req_path(rec: TxnLog) -> str:
    uri = _req_uri(rec)
    return uri if uri is _BADREQ else uri.split("?", 1)[0]


def _req_path_only(rec: TxnLog) -> str:
    uri = _req_uri(rec)
    if uri is _BADREQ:
        return uri
    if not uri.startswith("/"):
        scheme = uri.find("://")
        if scheme < 0:
            return ""  # "*" or authority-form
        slash = uri.find("/", scheme + 3)
        uri = uri[slash:] if slash >= 0 else ""
    return uri.split("?", 1)[0]


def _req_query(rec: TxnLog) -> str:
    if rec.method is None:
        return _BADREQ
    uri = rec.uri or ""
    q = uri.find("?")
    return uri[q:] if q >= 0 else ""


def _req_version(rec: TxnLog) -> str:
    if rec.method is None or rec.uri is None:
        return _BADREQ
    return rec.version if rec.version is not None else "HTTP/0.9"


# --- variable renderer factories: (options, http mode) -> Renderer -------------------------

Factory = Callable[[int, bool], Renderer]


def _string(get: Callable[[TxnLog], str | None]) -> Factory:
    def make(opts: int, http: bool) -> Renderer:
        return lambda rec: _text(get(rec), opts)
    return make


def _raw(get: Callable[[TxnLog], str]) -> Factory:
    """Written as is: never quoted nor escaped (%ts, %tsc)."""
    def make(opts: int, http: bool) -> Renderer:
        return get
    return make


def _number(get: Callable[[TxnLog], int]) -> Factory:
    def make(opts: int, http: bool) -> Renderer:
        return lambda rec: str(get(rec))
    return make


def _hexable(get: Callable[[TxnLog], int], width: int) -> Factory:
    def make(opts: int, http: bool) -> Renderer:
        if opts & X:
            return lambda rec: f"{get(rec) & 0xFFFFFFFF:0{width}X}"
        return lambda rec: str(get(rec))
    return make


def _plus(get: Callable[[TxnLog], int], flag: Callable[[TxnLog], bool]) -> Factory:
    """Numbers HAProxy prefixes with '+' (logasap totals, redispatched retries)."""
    def make(opts: int, http: bool) -> Renderer:
        return lambda rec: ("+" if flag(rec) else "") + str(get(rec))
    return make


def _ip(get: Callable[[TxnLog], str | None]) -> Factory:
    def make(opts: int, http: bool) -> Renderer:
        if not opts & X:
            return lambda rec: _text(get(rec), opts)

        def render(rec: TxnLog) -> str:
            ip = get(rec)
            try:
                return ipaddress.ip_address(ip).packed.hex().upper() if ip else _text(ip, opts)
            except ValueError:
                return _text(ip, opts)
        return render
    return make


def _port(get: Callable[[TxnLog], int | None]) -> Factory:
    def make(opts: int, http: bool) -> Renderer:
        hexa = bool(opts & X)

        def render(rec: TxnLog) -> str:
            port = get(rec)
            if port is None:
                return _text(None, opts)
            return f"{port:04X}" if hexa else str(port)
        return render
    return make


def _date(fmt: Callable[[float], str], get: Callable[[TxnLog], float]) -> Factory:
    def make(opts: int, http: bool) -> Renderer:
        return lambda rec: fmt(get(rec))
    return make


def _uri_part(get: Callable[[TxnLog], str]) -> Factory:
    """Request-line pieces: '#XX'-encoded, quoted with Q, never "-"."""
    def make(opts: int, http: bool) -> Renderer:
        encode = _URL_E if opts & E else _URL
        return lambda rec: _quoted(encode(get(rec)), opts)
    return make


def _request(opts: int, http: bool) -> Renderer:
    encode = _URL_E if opts & E else _URL

    def render(rec: TxnLog) -> str:
        return _quoted(encode(rec.request_line or _BADREQ), opts)
    return render


def _capture_block(get: Callable[[TxnLog], object]) -> Factory:
    """%hr / %hs: "{a|b}"; silent (None) when no capture is configured."""
    def make(opts: int, http: bool) -> Renderer:
        encode = _HDR_E if opts & E else _HDR

        def render(rec: TxnLog) -> str | None:
            caps = get(rec)
            if not caps:
                return None
            body = "|".join(encode(h) if h else "" for h in caps)  # type: ignore[attr-defined]
            return _quoted("{" + body + "}", opts)
        return render
    return make


def _capture_list(get: Callable[[TxnLog], object]) -> Factory:
    """%hrl / %hsl: space-separated, "-" (or "") for a header that was not present."""
    def make(opts: int, http: bool) -> Renderer:
        encode = _HDR_E if opts & E else _HDR
        absent = '""' if opts & Q else "-"

        def render(rec: TxnLog) -> str | None:
            caps = get(rec)
            if not caps:
                return None
            return " ".join(absent if h is None else _quoted(encode(h), opts)
                            for h in caps)  # type: ignore[attr-defined]
        return render
    return make


def _frontend_xprt(opts: int, http: bool) -> Renderer:
    return lambda rec: _quoted(rec.frontend + ("~" if rec.frontend_ssl else ""), opts)


def _status(opts: int, http: bool) -> Renderer:
    none = "-1" if http else "0"
    return lambda rec: none if rec.status is None else str(rec.status)


def _td_var(opts: int, http: bool) -> Renderer:
    return lambda rec: str(_td(rec, http))


def _ms(opts: int, http: bool) -> Renderer:
    if opts & X:
        return lambda rec: f"{_split(rec.accept_date)[1]:02X}"
    return lambda rec: f"{_split(rec.accept_date)[1]:03d}"


def _ts(opts: int, http: bool) -> Renderer:
    if opts & X:
        return lambda rec: f"{_split(rec.accept_date)[0] & 0xFFFFFFFF:04X}"
    return lambda rec: str(_split(rec.accept_date)[0])


def _tsc(rec: TxnLog) -> str:
    ts = rec.termination_state
    return ts if len(ts) >= 4 else (ts + "----")[:4]


# name -> (factory, HTTP only)
VARIABLES: dict[str, tuple[Factory, bool]] = {
    "B": (_plus(lambda r: r.bytes_read, lambda r: r.logasap), False),
    "CC": (_string(lambda r: r.cookie_client), True),
    "CS": (_string(lambda r: r.cookie_server), True),
    "H": (_string(lambda r: r.hostname or _HOSTNAME), False),
    "ID": (_string(lambda r: r.unique_id), False),
    "ST": (_status, False),
    "T": (_date(date_gmt, lambda r: r.accept_date), False),
    "Ta": (_plus(_ta, lambda r: r.logasap), True),
    "Tc": (_number(lambda r: r.Tc), False),
    "Th": (_number(lambda r: r.Th), False),
    "Ti": (_number(lambda r: r.Ti), True),
    "Tl": (_date(date_local, lambda r: r.accept_date), False),
    "Tq": (_number(_tq), True),
    "Tr": (_number(lambda r: r.Tr), True),
    "TR": (_number(lambda r: r.TR), True),
    "Td": (_td_var, False),
    "Ts": (_ts, False),
    "Tt": (_plus(lambda r: r.Tt, lambda r: r.logasap), False),
    "Tu": (_plus(_tu, lambda r: r.logasap), False),
    "Tw": (_number(lambda r: r.Tw), False),
    "U": (_number(lambda r: r.bytes_uploaded), False),
    "ac": (_number(lambda r: r.actconn), False),
    "b": (_string(lambda r: r.backend if r.backend is not None else r.frontend), False),
    "bc": (_number(lambda r: r.beconn), False),
    "bi": (_ip(lambda r: r.backend_src_ip), False),
    "bp": (_port(lambda r: r.backend_src_port), False),
    "bq": (_number(lambda r: r.backend_queue), False),
    "ci": (_ip(lambda r: r.client_ip), False),
    "cp": (_port(lambda r: r.client_port), False),
    "f": (_string(lambda r: r.frontend), False),
    "fc": (_number(lambda r: r.feconn), False),
    "fi": (_ip(lambda r: r.frontend_ip), False),
    "fp": (_port(lambda r: r.frontend_port), False),
    "ft": (_frontend_xprt, False),
    "hr": (_capture_block(lambda r: r.captured_request_headers), False),
    "hrl": (_capture_list(lambda r: r.captured_request_headers), False),
    "hs": (_capture_block(lambda r: r.captured_response_headers), False),
    "hsl": (_capture_list(lambda r: r.captured_response_headers), False),
    "HM": (_uri_part(_req_method), True),
    "HP": (_uri_part(_req_path), True),
    "HPO": (_uri_part(_req_path_only), True),
    "HQ": (_uri_part(_req_query), True),
    "HU": (_uri_part(_req_uri), True),
    "HV": (_uri_part(_req_version), True),
    "lc": (_hexable(lambda r: r.log_counter, 4), False),
    "ms": (_ms, False),
    "pid": (_hexable(lambda r: r.pid if r.pid is not None else os.getpid(), 4), False),
    "r": (_request, True),
    "rc": (_plus(lambda r: r.retries, lambda r: r.redispatched), False),
    "rt": (_hexable(lambda r: r.request_counter, 4), False),
    "s": (_string(lambda r: r.server if r.server is not None else "<NOSRV>"), False),
    "sc": (_number(lambda r: r.srv_conn), False),
    "si": (_ip(lambda r: r.server_ip), False),
    "sp": (_port(lambda r: r.server_port), False),
    "sq": (_number(lambda r: r.srv_queue), False),
    "sslc": (_string(lambda r: r.ssl_cipher), False),
    "sslv": (_string(lambda r: r.ssl_version), False),
    "t": (_date(date_ms, lambda r: r.accept_date), False),
    "tr": (_date(date_ms, _request_date), True),
    "trg": (_date(date_gmt, _request_date), True),
    "trl": (_date(date_local, _request_date), True),
    "ts": (_raw(lambda r: r.termination_state[:2]), False),
    "tsc": (_raw(_tsc), False),
}
_SILENT_CAPABLE = frozenset({"hr", "hs", "hrl", "hsl"})


# --- %[sample] expressions: the fetches a TxnLog can answer; anything else renders "-" -------

def _capture(get: Callable[[TxnLog], object]) -> Callable[[TxnLog, str | None], str | None]:
    def fetch(rec: TxnLog, arg: str | None) -> str | None:
        caps = get(rec)
        try:
            return caps[int(arg or "")]  # type: ignore[index]
        except (ValueError, IndexError, TypeError):
            return None
    return fetch


def _opt_str(v: object) -> str | None:
    return None if v is None else str(v)


FETCHES: dict[str, Callable[[TxnLog, str | None], str | None]] = {
    "src": lambda r, a: r.client_ip,
    "src_port": lambda r, a: _opt_str(r.client_port),
    "dst": lambda r, a: r.frontend_ip,
    "dst_port": lambda r, a: _opt_str(r.frontend_port),
    "fe_name": lambda r, a: r.frontend,
    "be_name": lambda r, a: r.backend if r.backend is not None else r.frontend,
    "srv_name": lambda r, a: r.server,
    "bc_src": lambda r, a: r.backend_src_ip,
    "bc_src_port": lambda r, a: _opt_str(r.backend_src_port),
    "status": lambda r, a: _opt_str(r.status),
    "unique-id": lambda r, a: r.unique_id,
    "capture.req.hdr": _capture(lambda r: r.captured_request_headers),
    "capture.res.hdr": _capture(lambda r: r.captured_response_headers),
    "capture.req.method": lambda r, a: r.method,
    "capture.req.uri": lambda r, a: r.uri if r.method is not None else None,
    "capture.req.ver": lambda r, a: r.version if r.method is not None else None,
    "ssl_fc": lambda r, a: "1" if r.frontend_ssl else "0",
    "ssl_fc_protocol": lambda r, a: r.ssl_version,
    "ssl_fc_cipher": lambda r, a: r.ssl_cipher,
    "ssl_fc_sni": lambda r, a: r.ssl_sni,
}

CONVERTERS: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "hex": lambda s: _bytewise(s).encode("latin-1").hex().upper(),
}


def _expression(fetch: str, arg: str | None, convs: list[str], opts: int) -> Renderer:
    get = FETCHES.get(fetch)
    chain = [CONVERTERS.get(c) for c in convs]
    if get is None or None in chain:
        return lambda rec: _text(None, opts)
    steps = [c for c in chain if c is not None]

    def render(rec: TxnLog) -> str:
        value = get(rec, arg)
        if value:
            for conv in steps:
                value = conv(value)
        return _text(value, opts)
    return render


# --- lexer ------------------------------------------------------------------------------------

_IDCHARS = frozenset(ascii_letters + digits + "._-+$")
_ALNUM = frozenset(ascii_letters + digits)
_ALPHA = frozenset(ascii_letters)

_SEP = object()  # a separator node


def _scan_name(fmt: str, i: int, chars: frozenset[str]) -> int:
    while i < len(fmt) and fmt[i] in chars:
        i += 1
    return i


def _scan_args(fmt: str, i: int) -> int:
    """Index of the ')' closing the argument list opened at fmt[i-1], or -1."""
    for j in range(i, len(fmt)):
        if fmt[j] == ")":
            return j
        if fmt[j] == "]":
            return -1
    return -1


def _lex_expression(fmt: str, i: int) -> tuple[str, str | None, list[str], int]:
    """Parse `fetch[(args)][,conv[(args)]...]` from fmt[i:] up to the closing ']'.

    Returns (fetch, fetch args, converters, index after ']')."""
    text = fmt[i:]

    def fail(msg: str) -> LogFormatError:
        return LogFormatError(f"failed to parse sample expression <{text}> : {msg}")

    j = _scan_name(fmt, i, _IDCHARS)
    if j == i:
        raise fail("missing fetch method")
    fetch, arg = fmt[i:j], None
    if j < len(fmt) and fmt[j] == "(":
        k = _scan_args(fmt, j + 1)
        if k < 0:
            raise fail(f"fetch method '{fetch}' : expected ')'")
        arg, j = fmt[j + 1:k], k + 1
    convs: list[str] = []
    while j < len(fmt) and fmt[j] == ",":
        while j < len(fmt) and fmt[j] == ",":
            j += 1
        start = j
        j = _scan_name(fmt, j, _IDCHARS)
        name = fmt[start:j]
        if not name:
            raise fail("unknown converter ''")
        if j < len(fmt) and fmt[j] == "(":
            k = _scan_args(fmt, j + 1)
            if k < 0:
                raise fail(f"invalid arg 1 in converter '{name}' : expected ')' before ']'")
            j = k + 1
        convs.append(name)
    if j >= len(fmt):
        raise LogFormatError(f"missing ']' after '{fmt[i:j]}'")
    if fmt[j] != "]":
        c = fmt[j]
        if c.isascii() and c.isprintable():
            raise LogFormatError(f"expected ']' after '{fmt[i:j]}', but found '{c}'")
        raise LogFormatError(f"missing ']' after '{fmt[i:j]}'")
    return fetch, arg, convs, j + 1


def _lex(fmt: str, http: bool) -> list[object]:
    """Format string -> nodes: str (text), _SEP, or (renderer, may be silent)."""
    nodes: list[object] = []
    text: list[str] = []
    defaults = M
    i, n = 0, len(fmt)

    def flush() -> None:
        if text:
            nodes.append("".join(text))
            text.clear()

    while i < n:
        c = fmt[i]
        if c == " ":
            flush()
            nodes.append(_SEP)
            i += 1
            continue
        if c != "%":
            text.append(c)
            i += 1
            continue
        i += 1
        if i >= n:
            raise LogFormatError("truncated line after '%'")
        c = fmt[i]
        opts = defaults
        arg = None
        if c == "{":
            close = fmt.find("}", i + 1)
            if close < 0:
                raise LogFormatError(f"truncated line after '{fmt[i + 1:]}'")
            arg = fmt[i + 1:close]
            opts = _apply_flags(opts, arg)
            i = close + 1
            c = fmt[i] if i < n else ""
            if c != "[" and (not c or c not in _ALNUM):
                raise LogFormatError(
                    f"parse argument modifier without variable name near '%{{{arg}}}'")
        if c == "[":
            fetch, farg, convs, i = _lex_expression(fmt, i + 1)
            flush()
            nodes.append((_expression(fetch, farg, convs, opts), False))
        elif c in _ALPHA or (arg is not None and c in _ALNUM):
            end = _scan_name(fmt, i, _ALNUM)
            name = fmt[i:end]
            i = end
            if name == "o":
                defaults = opts
                continue
            entry = VARIABLES.get(name)
            if entry is None:
                raise LogFormatError(
                    f"no such format variable '{name}'. If you wanted to emit the '%' "
                    f"character verbatim, you need to use '%%'")
            factory, http_only = entry
            if http_only and not http:
                raise LogFormatError(f"format variable '{name}' is reserved for HTTP mode")
            flush()
            nodes.append((factory(opts, http), name in _SILENT_CAPABLE))
        elif c == "%":
            text.append("%")
            i += 1
        elif c in digits or c in " \t":
            raise LogFormatError(
                f"unexpected variable name near '{c}' at position {i} line : '{fmt}'. "
                f"Maybe you want to write a single '%', use the syntax '%%'")
        # any other character: HAProxy drops the '%' and keeps the character as text
    flush()
    return nodes


# --- compile ----------------------------------------------------------------------------------

def _plan(nodes: list[object]) -> tuple[list[object], bool]:
    """Fold separators whose output is known at compile time into text.

    Returns (plan, dynamic): plan items are str, _SEP (decided at render time) or
    (renderer, silent_capable); `dynamic` says whether any _SEP is left."""
    plan: list[object] = []
    last_space: bool | None = True  # None: unknown until render time
    dynamic = False

    def add_text(text: str) -> None:
        if plan and isinstance(plan[-1], str):
            plan[-1] += text
        else:
            plan.append(text)

    for node in nodes:
        if node is _SEP:
            if last_space is None:
                plan.append(_SEP)
                dynamic = True
            elif not last_space:
                add_text(" ")
            last_space = True
        elif isinstance(node, str):
            add_text(node)
            last_space = False
        else:
            plan.append(node)
            last_space = None if node[1] else False  # type: ignore[index]
    return plan, dynamic


def _segments(plan: list[object]) -> list[tuple[int, object, bool]]:
    """Group the plan for rendering: (_STATIC, callables, ends with a space) for runs that
    always write, (_SILENT, renderer, False) for %hr-like nodes, (_DYNSEP, None, False)."""
    segments: list[tuple[int, object, bool]] = []
    run: list[Renderer] = []
    ends_space = False

    def close_run() -> None:
        if run:
            segments.append((_STATIC, tuple(run), ends_space))
            run.clear()

    for item in plan:
        if item is _SEP:
            close_run()
            segments.append((_DYNSEP, None, False))
        elif isinstance(item, str):
            run.append(lambda rec, s=item: s)
            ends_space = item[-1] == " "  # literal text never holds a space: a folded separator
        else:
            renderer, silent = item  # type: ignore[misc]
            if silent:
                close_run()
                segments.append((_SILENT, renderer, False))
            else:
                run.append(renderer)
                ends_space = False
    close_run()
    return segments


_STATIC, _SILENT, _DYNSEP = 0, 1, 2


def compile_format(fmt: str, *, mode: str = "http") -> Callable[[TxnLog], str]:
    """Compile a log-format string into `render(TxnLog) -> str`.

    `mode` is the frontend's mode: HTTP-only variables are rejected in "tcp" mode, and
    %ST / %Td follow the mode as in HAProxy. Raises LogFormatError (a ValueError)."""
    plan, dynamic = _plan(_lex(fmt, http=mode == "http"))
    segments = _segments(plan)
    if not segments:
        return lambda rec: ""
    if not dynamic and len(segments) == 1 and segments[0][0] == _STATIC:
        parts: tuple[Renderer, ...] = segments[0][1]  # type: ignore[assignment]
        if len(plan) == 1 and isinstance(plan[0], str):
            const = plan[0]
            return lambda rec: const

        def render(rec: TxnLog) -> str:
            return "".join([p(rec) for p in parts])  # type: ignore[misc]
        return render

    def render_segments(rec: TxnLog) -> str:
        out: list[str] = []
        last_space = True
        for kind, payload, ends_space in segments:
            if kind == _STATIC:
                out.append("".join([p(rec) for p in payload]))  # type: ignore[attr-defined]
                last_space = ends_space
            elif kind == _SILENT:
                value = payload(rec)  # type: ignore[operator]
                if value is not None:
                    out.append(value)
                    last_space = False
            elif not last_space:
                out.append(" ")
                last_space = True
        return "".join(out)
    return render_segments
