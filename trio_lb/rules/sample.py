"""Sample fetches: the values a rule can read from a request (HAProxy's sample.c and http_fetch.c).

How it works
------------
The proxy builds one `RequestView` per request (per connection in TCP mode). Construction only stores
what it is given; everything derived -- path, query, the header index, comma-split header values,
parsed addresses -- is computed on first use and cached in a slot, so a request that no rule inspects
costs a handful of assignments.

`FETCHES` maps each supported fetch keyword to a `FetchDef`: output type, argument types and a function
`(view, args) -> list | None`. A fetch returns None when the sample does not exist (no such header, an
HTTP fetch on a TCP connection, ...) and otherwise a non-empty list: an ACL matches when *any* value
matches, which is how HAProxy iterates over header occurrences and repeated query parameters.

Values are typed like HAProxy's samples: "str" -> str, "sint" and "bool" -> int, "addr" -> an
ipaddress object, "meth" -> the method token. `caster()` gives HAProxy's sample_casts entry: what a
value becomes when an ACL wants another type (`dst_port -m str`, `hdr(x) -m ip`), a cast returning
None meaning "this value cannot match". `CAN_CAST` is the same matrix as the config checker sees it.

`make_arg_list()` parses `(<arg>,<arg>)` the way HAProxy's arg.c does (quotes, backslash escapes, an
empty optional integer ends the list) and raises `ArgError` with HAProxy's wording.

Strings are Python str decoded as latin-1 from the wire bytes, so they round-trip byte for byte.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Callable, Union

IpAddr = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

T_BOOL, T_SINT, T_ADDR, T_STR, T_BIN, T_METH = "bool", "sint", "addr", "str", "bin", "meth"

# The eight methods HAProxy knows by number (find_http_meth() is case-sensitive).
KNOWN_METHODS = frozenset({"OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT"})

MAX_HDR_HISTORY = 10

_UNSET: Any = object()
_LWS = " \t\r\n"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_TO_LOWER = str.maketrans(_UPPER, _LOWER)
_TO_UPPER = str.maketrans(_LOWER, _UPPER)
_IDCHARS = frozenset(_UPPER + _LOWER + "0123456789._-+$")
_INT64_PREFIX = re.compile(r"[-+]?[0-9]*")
_SCHEME_CHARS = frozenset(_UPPER + _LOWER + "0123456789+-.")


def ascii_lower(s: str) -> str:
    """tolower() in the C locale: only A-Z change (HAProxy compares with strncasecmp)."""
    return s.lower() if s.isascii() else s.translate(_TO_LOWER)


def ascii_upper(s: str) -> str:
    """toupper() in the C locale."""
    return s.upper() if s.isascii() else s.translate(_TO_UPPER)


def wire(text: str) -> str:
    """Config text (read as UTF-8, undecodable bytes surrogate-escaped) as the latin-1 string of the
    same bytes, i.e. the form request values have: "/café" in the config matches the raw bytes."""
    if text.isascii():
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("latin-1")


def ident_end(word: str) -> int:
    """Length of the keyword at the start of <word> (HAProxy's is_idchar())."""
    i = 0
    while i < len(word) and word[i] in _IDCHARS:
        i += 1
    return i


# ---------------------------------------------------------------- text helpers (HAProxy's parsers)


def read_int64(s: str) -> tuple[int, int]:
    """read_int64(): optional sign then digits, saturating; returns (value, chars consumed)."""
    m = _INT64_PREFIX.match(s)
    assert m is not None  # the pattern matches the empty string
    text = m.group()
    digits = text.lstrip("+-")
    value = int(digits) if digits else 0
    if text.startswith("-"):
        value = max(-value, -(1 << 63))
    else:
        value = min(value, (1 << 63) - 1)
    return value, m.end()


def strl2ic(s: str) -> int:
    """strl2ic(): what hdr_val() does with a header value. Like HAProxy it only stops on a
    character above '9', so a '.' or a space still counts (as a negative digit), in 32-bit arithmetic."""
    neg = s.startswith("-")
    i = 0
    for ch in s[1:] if neg else s:
        j = ord(ch) - 48
        if j > 9:
            break
        i = i * 10 - j if neg else i * 10 + j
        i = ((i + 0x80000000) & 0xFFFFFFFF) - 0x80000000
    return i


_ip_cache: dict[str, IpAddr | None] = {}
_IP_CACHE_SIZE = 4096


def parse_ip(text: str) -> IpAddr | None:
    """inet_pton(AF_INET) then inet_pton(AF_INET6); None if neither (no names, no scope ids).
    Results are memoized (client addresses repeat; ipaddress parsing costs microseconds)."""
    addr = _ip_cache.get(text, _UNSET)
    if addr is _UNSET:
        try:
            addr = None if "%" in text else ipaddress.ip_address(text)
        except ValueError:
            addr = None
        if len(_ip_cache) >= _IP_CACHE_SIZE:
            _ip_cache.clear()
        _ip_cache[text] = addr
    return addr


def ip_to_str(addr: IpAddr) -> str:
    """inet_ntop(): like str(), but IPv4-mapped and -compatible IPv6 addresses end in dotted quad."""
    if addr.version == 4:
        return str(addr)
    n = int(addr)
    if n >> 32 == 0xFFFF:
        return "::ffff:" + str(ipaddress.IPv4Address(n & 0xFFFFFFFF))
    if n >> 32 == 0 and (n >> 16) & 0xFFFF:
        return "::" + str(ipaddress.IPv4Address(n))
    return str(addr)


def split_values(line: str) -> list[str]:
    """Split one header line on commas outside quoted strings and trim LWS around each value,
    as HAProxy's http_find_header() does when it is not asked for full lines."""
    if '"' not in line:
        if "," not in line:
            return [line.strip(_LWS)]
        return [part.strip(_LWS) for part in line.split(",")]
    parts: list[str] = []
    start = 0
    quoted = qdpair = False
    for i, ch in enumerate(line):
        if qdpair:
            qdpair = False
        elif quoted:
            if ch == "\\":
                qdpair = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == ",":
            parts.append(line[start:i].strip(_LWS))
            start = i + 1
    parts.append(line[start:].strip(_LWS))
    return parts


def path_of(target: str | None) -> str:
    """http_get_path() cut before '?': the path of an origin-form or absolute-form URI, "" if none
    (no target, '*', an authority-form CONNECT target, or an absolute URI without a slash)."""
    if not target or target[0] == "*":
        return ""
    i = 0
    first = target[0]
    if first.isascii() and first.isalpha():
        i = 1
        n = len(target)
        while i < n and target[i] in _SCHEME_CHARS:
            i += 1
        if target[i : i + 3] != "://":
            return ""
        i += 3
    slash = target.find("/", i)
    if slash < 0:
        return ""
    q = target.find("?", slash)
    return target[slash:] if q < 0 else target[slash:q]


def url_param_values(target: str, name: str, delim: str = "?") -> list[str]:
    """Every value of query parameter <name> (all of them for an empty name), in order.

    As HAProxy: the list starts after the first <delim>, parameters are separated by '&', ';' or
    <delim>, names compare case-sensitively and a parameter without '=' has no value."""
    if not delim:
        return []
    start = target.find(delim[0])
    if start < 0:
        return []
    qs = target[start + 1 :]
    seps = "&;" + delim[0]
    if name:
        prefix = name + "="
        values = []
        for seg in _split_params(qs, delim[0]):
            if seg.startswith(prefix):
                values.append(seg[len(prefix) :])
        return values
    values = []
    pos = 0
    while True:  # empty name: from each '=' to the next delimiter
        eq = qs.find("=", pos)
        if eq < 0:
            return values
        end = eq + 1
        while end < len(qs) and qs[end] not in seps:
            end += 1
        values.append(qs[eq + 1 : end])
        pos = end


def _split_params(qs: str, delim: str) -> list[str]:
    if delim not in "&;":
        qs = qs.replace(delim, "&")
    return qs.replace(";", "&").split("&")


# ---------------------------------------------------------------- the request view


class RequestView:
    """One request (or TCP connection) as seen by ACLs and load balancing. Build it once per request;
    every derived value is computed lazily and cached.

    headers are h11's (name, value) byte pairs; version is "1.0"/"1.1"; method is None on a TCP
    connection (HTTP fetches then find nothing). req_len is the number of request bytes buffered when
    the rules run (HAProxy's req.len, used by the REQ_CONTENT predefined ACL).
    """

    __slots__ = (
        "src", "src_port", "dst", "dst_port", "method", "target", "headers", "version", "ssl",
        "req_len", "ctx", "tls", "_path", "_query", "_lines", "_values", "_src_addr", "_dst_addr",
    )  # fmt: skip

    def __init__(
        self,
        src: str,
        src_port: int,
        dst: str,
        dst_port: int,
        *,
        method: str | None = None,
        target: str | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
        version: str = "1.1",
        ssl: bool = False,
        req_len: int = 0,
    ) -> None:
        self.src = src
        self.src_port = src_port
        self.dst = dst
        self.dst_port = dst_port
        self.method = method
        self.target = target
        self.headers = headers if headers is not None else []
        self.version = version
        self.ssl = ssl
        self.req_len = req_len
        self.ctx: Any = None  # the stream's rules.context.RuleContext, when rules need one
        self.tls: Any = None  # the client connection's TLS facts (trio_lb.tls), None in clear
        self._path = _UNSET
        self._query = _UNSET
        self._lines: dict[str, list[str]] | None = None
        self._values: dict[str, list[str]] | None = None
        self._src_addr = _UNSET
        self._dst_addr = _UNSET

    def __repr__(self) -> str:
        return f"<RequestView {self.src}:{self.src_port} -> {self.dst}:{self.dst_port} {self.method} {self.target}>"

    def refresh(self, msg: Any) -> None:
        """A rule rewrote the request (a rules.context.HttpMessage): show the new one."""
        self.method, self.target, self.headers, self.version = msg.method, msg.target, msg.headers, msg.version
        self._path = self._query = _UNSET
        self._lines = self._values = None

    @property
    def path(self) -> str:
        """The URI path without the query string ("" when the target has none, e.g. '*')."""
        p = self._path
        if p is _UNSET:
            p = self._path = path_of(self.target)
        return p

    @property
    def query(self) -> str | None:
        """Everything after the first '?' of the target, or None without a '?'."""
        q = self._query
        if q is _UNSET:
            t = self.target
            i = -1 if t is None else t.find("?")
            q = self._query = None if i < 0 else t[i + 1 :]  # type: ignore[index]
        return q

    @property
    def src_addr(self) -> IpAddr | None:
        a = self._src_addr
        if a is _UNSET:
            a = self._src_addr = parse_ip(self.src)
        return a

    @property
    def dst_addr(self) -> IpAddr | None:
        a = self._dst_addr
        if a is _UNSET:
            a = self._dst_addr = parse_ip(self.dst)
        return a

    def header_lines(self, name: str) -> list[str]:
        """Every line of header <name> (case-insensitive; "" = all headers), not comma-split.
        The list is shared with the cache: do not modify it."""
        key = ascii_lower(name)
        cache = self._lines
        if cache is None:
            cache = self._lines = {}
        lines = cache.get(key)
        if lines is None:
            if key:
                wanted = key.encode("latin-1", "replace")
                lines = [v.decode("latin-1") for n, v in self.headers if n == wanted or n.lower() == wanted]
            else:
                lines = [v.decode("latin-1") for _, v in self.headers]
            cache[key] = lines
        return lines

    def header_values(self, name: str) -> list[str]:
        """All values of header <name>, comma-split as HAProxy does for hdr() ("" = all headers).
        The list is shared with the cache: do not modify it."""
        key = ascii_lower(name)
        cache = self._values
        if cache is None:
            cache = self._values = {}
        values = cache.get(key)
        if values is None:
            lines = self.header_lines(key)
            if len(lines) == 1 and "," not in lines[0] and '"' not in lines[0]:
                values = [lines[0].strip(_LWS)]
            else:
                values = [v for line in lines for v in split_values(line)]
            cache[key] = values
        return values

    def header(self, name: str) -> str | None:
        """The last value of header <name>, as HAProxy's hdr(<name>) outside ACLs; None if absent.
        (HAProxy's `balance hdr(<name>)` hashes the first value: header_values(name)[0].)"""
        values = self.header_values(name)
        return values[-1] if values else None

    def url_param(self, name: str) -> str | None:
        """The first value of query parameter <name> (as `balance url_param` uses it), or None."""
        if self.target is None:
            return None
        values = url_param_values(self.target, name)
        return values[0] if values else None


# ---------------------------------------------------------------- fetch functions

FetchFn = Callable[[RequestView, tuple], Union[list, None]]


def _pick(values: list, args: tuple) -> list | None:
    """HAProxy's occurrence argument: 0/absent = all, n > 0 = n-th, n < 0 = n-th from the end."""
    occ = args[1] if len(args) > 1 else 0
    if occ == 0:
        return values or None
    if occ > 0:
        return [values[occ - 1]] if occ <= len(values) else None
    return [values[occ]] if -occ <= min(len(values), MAX_HDR_HISTORY) else None


def _f_path(view: RequestView, args: tuple) -> list | None:
    p = view.path
    return [p] if p else None


def _f_url(view: RequestView, args: tuple) -> list | None:
    return None if view.target is None else [view.target]


def _f_query(view: RequestView, args: tuple) -> list | None:
    q = view.query
    return None if q is None else [q]


def _f_url_param(view: RequestView, args: tuple) -> list | None:
    if view.target is None:
        return None
    name = args[0] if args else ""
    delim = args[1] if len(args) > 1 else "?"
    return url_param_values(view.target, name, delim) or None


def _f_hdr(view: RequestView, args: tuple) -> list | None:
    if not args or view.method is None:  # no name argument at all: HAProxy finds nothing
        return None
    return _pick(view.header_values(args[0]), args)


def _f_hdr_val(view: RequestView, args: tuple) -> list | None:
    values = _f_hdr(view, args)
    return None if values is None else [strl2ic(v) for v in values]


def _f_hdr_cnt(view: RequestView, args: tuple) -> list | None:
    if view.method is None:
        return None
    return [len(view.header_values(args[0] if args else ""))]


def _f_fhdr(view: RequestView, args: tuple) -> list | None:
    if not args or view.method is None:
        return None
    return _pick(view.header_lines(args[0]), args)


def _f_fhdr_cnt(view: RequestView, args: tuple) -> list | None:
    if view.method is None:
        return None
    return [len(view.header_lines(args[0] if args else ""))]


def _f_src(view: RequestView, args: tuple) -> list | None:
    a = view.src_addr
    return None if a is None else [a]


def _f_dst(view: RequestView, args: tuple) -> list | None:
    a = view.dst_addr
    return None if a is None else [a]


def _f_src_port(view: RequestView, args: tuple) -> list | None:
    return [view.src_port] if view.src_port else None


def _f_dst_port(view: RequestView, args: tuple) -> list | None:
    return [view.dst_port] if view.dst_port else None


def _f_method(view: RequestView, args: tuple) -> list | None:
    return None if view.method is None else [view.method]


def _f_req_ver(view: RequestView, args: tuple) -> list | None:
    return None if view.method is None or not view.version else [view.version]


def _f_proto_http(view: RequestView, args: tuple) -> list | None:
    return None if view.method is None else [1]


def _f_req_len(view: RequestView, args: tuple) -> list | None:
    return [view.req_len]


def _f_ssl_fc(view: RequestView, args: tuple) -> list | None:
    return [1 if view.ssl else 0]


def _f_true(view: RequestView, args: tuple) -> list | None:
    return [1]


def _f_false(view: RequestView, args: tuple) -> list | None:
    return [0]


def _val_hdr(args: tuple) -> str | None:
    if len(args) > 1 and args[1] < -MAX_HDR_HISTORY:
        return f"header occurrence must be >= {-MAX_HDR_HISTORY}"
    return None


@dataclass(frozen=True)
class FetchDef:
    name: str
    out_type: str
    fn: FetchFn
    arg_types: tuple[str, ...] = ()  # "str" | "sint", in order
    min_args: int = 0
    validate: Callable[[tuple], str | None] | None = None  # returns HAProxy's error text


_HDR_ARGS = {"arg_types": ("str", "sint"), "validate": _val_hdr}


def _defs(*defs: FetchDef) -> dict[str, FetchDef]:
    return {d.name: d for d in defs}


FETCHES: dict[str, FetchDef] = _defs(
    FetchDef("always_false", T_BOOL, _f_false),
    FetchDef("always_true", T_BOOL, _f_true),
    FetchDef("dst", T_ADDR, _f_dst),
    FetchDef("dst_port", T_SINT, _f_dst_port),
    FetchDef("hdr", T_STR, _f_hdr, **_HDR_ARGS),  # type: ignore[arg-type]
    FetchDef("hdr_cnt", T_SINT, _f_hdr_cnt, ("str",)),
    FetchDef("hdr_val", T_SINT, _f_hdr_val, **_HDR_ARGS),  # type: ignore[arg-type]
    FetchDef("method", T_METH, _f_method),
    FetchDef("path", T_STR, _f_path),
    FetchDef("query", T_STR, _f_query),
    FetchDef("req.fhdr", T_STR, _f_fhdr, **_HDR_ARGS),  # type: ignore[arg-type]
    FetchDef("req.fhdr_cnt", T_SINT, _f_fhdr_cnt, ("str",)),
    FetchDef("req.hdr", T_STR, _f_hdr, **_HDR_ARGS),  # type: ignore[arg-type]
    FetchDef("req.hdr_cnt", T_SINT, _f_hdr_cnt, ("str",)),
    FetchDef("req.hdr_val", T_SINT, _f_hdr_val, **_HDR_ARGS),  # type: ignore[arg-type]
    FetchDef("req.len", T_SINT, _f_req_len),
    FetchDef("req.proto_http", T_BOOL, _f_proto_http),
    FetchDef("req.ver", T_STR, _f_req_ver),
    FetchDef("req_len", T_SINT, _f_req_len),
    FetchDef("req_proto_http", T_BOOL, _f_proto_http),
    FetchDef("req_ver", T_STR, _f_req_ver),
    FetchDef("src", T_ADDR, _f_src),
    FetchDef("src_port", T_SINT, _f_src_port),
    FetchDef("ssl_fc", T_BOOL, _f_ssl_fc),
    FetchDef("url", T_STR, _f_url),
    FetchDef("url_param", T_STR, _f_url_param, ("str", "str")),
    FetchDef("urlp", T_STR, _f_url_param, ("str", "str")),
)


# ---------------------------------------------------------------- casts (sample_casts[from][to])


def _int2str(v: int) -> str:
    return str(v)


def _int2bin(v: int) -> bytes:
    return (v & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")


def _int2addr(v: int) -> IpAddr:
    return ipaddress.IPv4Address(v & 0xFFFFFFFF)


def _bool2bin(v: int) -> bytes:
    return (1 if v else 0).to_bytes(8, "big")


def _str2int(v: str) -> int | None:
    return read_int64(v)[0] if v else None


def _str2bin(v: str) -> bytes:
    try:
        return v.encode("latin-1")
    except UnicodeEncodeError:
        return v.encode("utf-8")


def _addr2int(v: IpAddr) -> int | None:
    return int(v) if v.version == 4 else None


def _addr2bin(v: IpAddr) -> bytes:
    return v.packed


def _same(v: Any) -> Any:
    return v


_CASTS: dict[tuple[str, str], Callable[[Any], Any]] = {
    (T_BOOL, T_SINT): _same,
    (T_BOOL, T_STR): _int2str,
    (T_BOOL, T_BIN): _bool2bin,
    (T_SINT, T_ADDR): _int2addr,
    (T_SINT, T_STR): _int2str,
    (T_SINT, T_BIN): _int2bin,
    (T_ADDR, T_SINT): _addr2int,
    (T_ADDR, T_STR): ip_to_str,
    (T_ADDR, T_BIN): _addr2bin,
    (T_STR, T_SINT): _str2int,
    (T_STR, T_ADDR): parse_ip,
    (T_STR, T_BIN): _str2bin,
    (T_METH, T_STR): _same,
    (T_METH, T_BIN): _str2bin,
}
# bool and sint are the same C type, so bool takes sint's casts... except to addresses.
_CASTS[(T_SINT, T_BOOL)] = _same

_TYPES = (T_BOOL, T_SINT, T_ADDR, T_STR, T_BIN, T_METH)
CAN_CAST: frozenset[tuple[str, str]] = frozenset(_CASTS) | {(t, t) for t in _TYPES}


def caster(src: str, dst: str) -> Callable[[Any], Any] | None:
    """The function converting a <src>-typed value to <dst> (None when nothing is needed).
    Raises KeyError when HAProxy refuses the conversion at configuration time."""
    if src == dst:
        return None
    return _CASTS[(src, dst)]


# ---------------------------------------------------------------- converters (only the trivial ones)


@dataclass(frozen=True)
class ConvDef:
    name: str
    in_type: str
    out_type: str
    fn: Callable[[Any], Any]


CONVERTERS: dict[str, ConvDef] = {
    "lower": ConvDef("lower", T_STR, T_STR, ascii_lower),
    "upper": ConvDef("upper", T_STR, T_STR, ascii_upper),
}


# ---------------------------------------------------------------- argument lists (arg.c)

_ARG_TYPE_NAMES = {"str": "string", "sint": "integer"}


class ArgError(ValueError):
    """An argument list HAProxy would refuse; `pos` is the 1-based argument it reports."""

    def __init__(self, msg: str, pos: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.pos = pos


def make_arg_list(text: str, types: tuple[str, ...], min_args: int = 0) -> tuple[tuple, int]:
    """Parse the "(a,b)" that may start <text>; returns (args, characters consumed).

    A port of HAProxy's make_arg_list(): arguments end on an unquoted ',' or ')', quotes are
    removed, backslash escapes \\\\ \\' \\" \\<space> \\r \\n \\t, an empty optional integer stops the
    list, and "()" on a fetch taking strings yields one empty string."""
    n = len(text)
    empty = n == 0 or text[0] != "("
    i = 0 if empty else 1
    args: list[Any] = []
    pos = 0
    if types and not (empty and not min_args):
        while pos < len(types):
            word, i = _read_arg(text, i, 0 if empty else n, types[pos], pos)
            if types[pos] == "sint":
                if not word:
                    if pos >= min_args:
                        break
                    raise ArgError(f"expected type 'integer' at position {pos + 1}, but got nothing", pos + 1)
                value, used = read_int64(word)
                if used < len(word):
                    raise ArgError(f"failed to parse '{word}' as type 'integer' at position {pos + 1}", pos + 1)
                args.append(value)
            else:
                args.append(word)
            pos += 1
            if empty or i >= n or text[i] == ")" or pos >= len(types):
                break
            i += 1  # the comma
    if pos < min_args:
        tname = _ARG_TYPE_NAMES[types[pos]]
        raise ArgError(f"missing arguments (got {pos}/{min_args}), type '{tname}' expected", pos + 1)
    if empty:
        return tuple(args), 0
    if i < n and text[i] == ")":
        return tuple(args), i + 1
    rest = text[i:]
    msg = f"expected ')' before '{rest}'" if rest else "expected ')'"
    # as HAProxy: the empty part before a missing ')' already counted as an argument
    raise ArgError(msg, (pos - 1 if pos > 1 else pos) + 1)


_ESCAPES = {"\\": "\\", " ": " ", '"': '"', "'": "'", "r": "\r", "n": "\n", "t": "\t"}


def _read_arg(text: str, i: int, limit: int, atype: str, pos: int) -> tuple[str, int]:
    """One argument from text[i:limit] up to an unquoted ',' or ')'; returns (word, new index)."""
    out: list[str] = []
    squote = dquote = False
    while i < limit:
        ch = text[i]
        if ch == '"' and not squote:
            dquote = not dquote
            i += 1
        elif ch == "'" and not dquote:
            squote = not squote
            i += 1
        elif ch == "\\" and not squote:
            if i + 1 >= limit:
                tname = _ARG_TYPE_NAMES[atype]
                raise ArgError(
                    f"failed to parse '{text[i:]}' after '{''.join(out)}' as type '{tname}' at position {pos + 1}",
                    pos + 1,
                )
            esc = _ESCAPES.get(text[i + 1])
            if esc is None:
                out.append("\\")
                i += 1
            else:
                out.append(esc)
                i += 2
        elif not squote and not dquote and ch in ",)":
            break
        else:
            out.append(ch)
            i += 1
    return "".join(out), i


# ---------------------------------------------------------------- public convenience


def fetch(name: str, args: tuple[str | int, ...], view: RequestView) -> list[str | int] | None:
    """Evaluate sample fetch <name> (e.g. "hdr", ("host",)) on <view>: None when the sample does not
    exist, else every value (addresses as text, booleans as 0/1). Raises ValueError for an unknown
    fetch or bad arguments. ACLs do not go through here: they bind the FetchDef at parse time."""
    fdef = FETCHES.get(name)
    if fdef is None:
        raise ValueError(f"unknown fetch method '{name}'")
    if len(args) > len(fdef.arg_types):
        raise ValueError(f"fetch method '{name}' takes at most {len(fdef.arg_types)} arguments")
    typed: list[Any] = []
    for atype, arg in zip(fdef.arg_types, args):
        if atype == "sint" and isinstance(arg, str):
            value, used = read_int64(arg)
            if not arg or used < len(arg):
                raise ValueError(f"failed to parse '{arg}' as type 'integer'")
            arg = value
        elif atype == "str" and not isinstance(arg, str):
            raise ValueError(f"argument '{arg}' of fetch method '{name}' must be a string")
        typed.append(arg)
    if fdef.validate is not None:
        err = fdef.validate(tuple(typed))
        if err:
            raise ValueError(err)
    values = fdef.fn(view, tuple(typed))
    if values is None:
        return None
    if fdef.out_type == T_ADDR:
        return [ip_to_str(v) for v in values]
    return values
