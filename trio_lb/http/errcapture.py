"""Capture of invalid HTTP/1 messages and the `show errors` dump (HAProxy 2.6).

Theory of operation
-------------------
HAProxy keeps, per proxy, the last invalid request (on the frontend) and the last invalid
response (on the backend): a copy of the input buffer, the position where its H1 parser stopped
and the parser's state. This module does the same in two parts:

* `analyze()` is a port of 2.6.12's `h1_headers_to_hdr_list()` (src/h1.c) wrapped the way the H1
  multiplexer calls it (`h1_parse_msg_hdrs()` in src/h1_htx.c, `h1_handle_headers()` in
  src/mux_h1.c), in strict mode (no `option accept-invalid-http-request|response`). The parser is
  a byte-at-a-time state machine: `_STEPS` maps each `H1_MSG_*` state to the function handling
  one byte in it. A step either consumes the byte (C's EAT_AND_JUMP_OR_RETURN) or moves to
  another state on the same byte (C's `goto`). Running out of bytes leaves the state where it is
  (`next` is then the end of the data, as for HAProxy's "headers too large" case). It keeps the
  parser's quirks that are visible in the positions: the 4-bytes-at-once URI scan that lets DEL
  (0x7f) through, NUL and control characters accepted in header values and reason phrases, the
  version checked only once the whole head is parsed (the error then points at the version, the
  state being MSG_DATA), the header count limit (tune.maxhdr, default 101), duplicate Host,
  Content-Length and Transfer-Encoding checks, the authority/Host checks, and the in-place
  rewriting of the buffer (obsolete line folding turned into spaces, `Connection` values
  cleaned) so that the captured bytes are those HAProxy would show.
* `ErrorLog` keeps the snapshots and `render()` prints them exactly like
  `cli_io_handler_show_errors()` (src/proxy.c), the text lines with a port of
  `dump_text_line()` (src/tools.c).

Values with no equivalent in trio-lb are printed as HAProxy 2.6.12 prints them for a message
read into an empty buffer (recorded from a real run, tests/data/errcapture_oracle.json):
"buffer starts at 0 (including 0 out)", "wraps at" = bufsize - 48 (the size of the HTX header
the mux reserves in front of its input buffer), the H1 connection flags 0x00000100 (a new
client connection, no stream yet) or 0x00000120 when the head did not fit in the buffer, and
0x80002200 on the server side; the H1 stream flags 0x00000810 (request) or 0x00004810
(response). The H1 message flags, chunk length and body length are those the parser computes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

# -- enum h1m_state (include/haproxy/h1.h) -----------------------------------------------------

_STATE_NAMES = (
    "MSG_RQBEFORE", "MSG_RQBEFORE_CR", "MSG_RQMETH", "MSG_RQMETH_SP", "MSG_RQURI", "MSG_RQURI_SP",
    "MSG_RQVER", "MSG_RQLINE_END", "MSG_RPBEFORE", "MSG_RPBEFORE_CR", "MSG_RPVER", "MSG_RPVER_SP",
    "MSG_RPCODE", "MSG_RPCODE_SP", "MSG_RPREASON", "MSG_RPLINE_END", "MSG_HDR_FIRST", "MSG_HDR_NAME",
    "MSG_HDR_COL", "MSG_HDR_L1_SP", "MSG_HDR_L1_LF", "MSG_HDR_L1_LWS", "MSG_HDR_VAL", "MSG_HDR_L2_LF",
    "MSG_HDR_L2_LWS", "MSG_LAST_LF", "MSG_CHUNK_SIZE", "MSG_DATA", "MSG_CHUNK_CRLF", "MSG_TRAILERS",
    "MSG_DONE", "MSG_TUNNEL",
)
H1_STATES: dict[str, int] = {name: num for num, name in enumerate(_STATE_NAMES)}
(RQBEFORE, RQBEFORE_CR, RQMETH, RQMETH_SP, RQURI, RQURI_SP, RQVER, RQLINE_END, RPBEFORE, RPBEFORE_CR,
 RPVER, RPVER_SP, RPCODE, RPCODE_SP, RPREASON, RPLINE_END, HDR_FIRST, HDR_NAME, HDR_COL, HDR_L1_SP,
 HDR_L1_LF, HDR_L1_LWS, HDR_VAL, HDR_L2_LF, HDR_L2_LWS, LAST_LF, CHUNK_SIZE, DATA, CHUNK_CRLF,
 TRAILERS, DONE, TUNNEL) = range(32)

# -- H1_MF_* message flags ---------------------------------------------------------------------

MF_CLEN, MF_CHNK, MF_RESP, MF_VER_11 = 0x1, 0x2, 0x4, 0x10
MF_CONN_CLO, MF_CONN_KAL, MF_CONN_UPG, MF_XFER_LEN = 0x20, 0x40, 0x80, 0x100
MF_XFER_ENC, MF_NO_PHDR, MF_CLEAN_CONN_HDR = 0x200, 0x400, 0x1000
MF_UPG_WEBSOCKET, MF_TE_CHUNKED, MF_TE_OTHER = 0x8000, 0x10000, 0x20000
MF_INITIAL = MF_NO_PHDR | MF_CLEAN_CONN_HDR  # what the H1 mux sets before parsing

# connection / stream flags printed for trio-lb's snapshots (see the module docstring)
C_FLAGS_FRONT, C_FLAGS_IN_FULL, C_FLAGS_BACK = 0x00000100, 0x00000020, 0x80002200
S_FLAGS_REQUEST, S_FLAGS_RESPONSE = 0x00000810, 0x00004810
HTX_RESERVE = 48  # sizeof(struct htx): the mux's input buffer starts that far in
DEFAULT_BUFSIZE = 16384
DEFAULT_MAXHDR = 101
_U64 = (1 << 64) - 1

# -- character classes (http_char_classes in src/http.c) ---------------------------------------

_TOKEN = frozenset(b"!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz|~")
_VER = frozenset(b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SPHT = frozenset(b" \t")
_LWS = frozenset(b" \t\r\n")
_CRLF = frozenset(b"\r\n")
_DIGIT = frozenset(b"0123456789")
_CR, _LF = 13, 10
_METHODS = {b"GET": "GET", b"HEAD": "HEAD", b"POST": "POST", b"CONNECT": "CONNECT", b"PUT": "PUT",
            b"OPTIONS": "OPTIONS", b"DELETE": "DELETE", b"TRACE": "TRACE"}


class _Invalid(Exception):
    """http_msg_invalid / http_output_full: the parser stops at (state, ptr)."""

    def __init__(self, state: int, ptr: int) -> None:
        super().__init__(state, ptr)
        self.state = state
        self.ptr = ptr


@dataclass
class H1Result:
    """Where HAProxy's parser stopped on a message head, and what it had seen."""

    pos: int  # error position (or end of what was parsed)
    state: int  # H1 state number
    flags: int  # H1_MF_* message flags
    curr_len: int = 0
    body_len: int = 0
    error: bool = True  # False: HAProxy accepts this head
    incomplete: bool = False  # ran out of data before the end of the head
    data: bytes = b""  # the bytes as they are in HAProxy's buffer after parsing

    @property
    def state_name(self) -> str:
        return _STATE_NAMES[self.state]


@dataclass
class _Header:
    name: bytes
    value: bytes
    vptr: int  # where the (trimmed) value starts in the buffer


class _Parser:
    """One run of h1_headers_to_hdr_list() over a whole buffer (never "restarting")."""

    def __init__(self, data: bytes, response: bool, maxhdr: int) -> None:
        self.buf = bytearray(data)
        self.end = len(data)
        self.ptr = 0
        self.start = 0  # after the skipped leading CRLFs
        self.flags = MF_INITIAL | (MF_RESP if response else 0)
        self.state = RPBEFORE if response else RQBEFORE
        self.curr_len = self.body_len = 0
        self.hdr_num = maxhdr
        self.hdrs: list[_Header] = []
        self.host_idx = -1
        self.sol = self.col = self.eol = self.sov = 0
        self.meth = "OTHER"
        self.m_ptr = self.u_ptr = self.v_ptr = 0
        self.u_len = self.v_len = 0
        self.status = 0

    # -- the driving loop ------------------------------------------------------------------

    def run(self) -> tuple[str, int]:
        """("done"|"ood"|"invalid", position)."""
        try:
            while self.ptr < self.end:
                if self.state in (DATA, CHUNK_SIZE):
                    return "done", self.ptr
                _STEPS[self.state](self, self.buf[self.ptr])
            if self.state in (DATA, CHUNK_SIZE):
                return "done", self.ptr
            return "ood", self.ptr
        except _Invalid as exc:
            self.state = exc.state
            return "invalid", exc.ptr

    def eat(self, state: int) -> None:
        self.ptr += 1
        self.state = state

    def invalid(self, state: int, ptr: int | None = None) -> None:
        raise _Invalid(state, self.ptr if ptr is None else ptr)

    # -- request line ----------------------------------------------------------------------

    def rqbefore(self, c: int) -> None:
        if c in _TOKEN:
            self.start = self.ptr
            self.m_ptr = self.ptr
            self.state = RQMETH
        elif c not in _CRLF:
            self.invalid(RQBEFORE)
        else:
            self.eat(RQBEFORE if c == _LF else RQBEFORE_CR)

    def rqbefore_cr(self, c: int) -> None:
        if c != _LF:
            self.invalid(RQBEFORE_CR)
        self.eat(RQBEFORE)

    def rqmeth(self, c: int) -> None:
        if c in _TOKEN:
            self.eat(RQMETH)
        elif c in _SPHT:
            self.meth = _METHODS.get(bytes(self.buf[self.m_ptr:self.ptr]), "OTHER")
            self.eat(RQMETH_SP)
        elif c in _CRLF:  # HTTP/0.9 request
            self.meth = _METHODS.get(bytes(self.buf[self.m_ptr:self.ptr]), "OTHER")
            self.u_ptr, self.u_len = self.ptr, 0
            self.v_ptr, self.v_len = self.ptr, 0
            self.rqline_eol()
        else:
            self.invalid(RQMETH)

    def rqmeth_sp(self, c: int) -> None:
        if c not in _LWS:
            self.u_ptr = self.ptr
            self.state = RQURI
            self.uri_speedup()
        elif c in _SPHT:
            self.eat(RQMETH_SP)
        else:  # CR/LF: HTTP/0.9
            self.u_ptr, self.u_len = self.ptr, 0
            self.v_ptr, self.v_len = self.ptr, 0
            self.rqline_eol()

    def uri_speedup(self) -> None:
        """The HA_UNALIGNED_LE loop skipping 4 bytes at once when none of them looks outside
        0x24..0x7e; its test is loose (a DEL among printable bytes passes) and kept as is."""
        while self.ptr <= self.end - 4:
            x = (int.from_bytes(self.buf[self.ptr:self.ptr + 4], "little") - 0x24242424) & 0xFFFFFFFF
            if x & 0x80808080:
                break
            x = (x - 0x5B5B5B5B) & 0xFFFFFFFF
            if not x & 0x80808080:
                break
            self.ptr += 4

    def rquri(self, c: int) -> None:
        if 33 <= c <= 126:
            if c == 0x23:  # '#' is not part of a request target (Debian's 2.6.12 patch)
                self.invalid(RQURI)
            self.eat(RQURI)
        elif c in _SPHT:
            self.u_len = self.ptr - self.u_ptr
            self.eat(RQURI_SP)
        elif c in _CRLF:  # HTTP/0.9
            self.u_len = self.ptr - self.u_ptr
            self.v_ptr, self.v_len = self.ptr, 0
            self.rqline_eol()
        else:  # 0..31, 127, and 128..255 in strict mode
            self.invalid(RQURI)

    def rquri_sp(self, c: int) -> None:
        if c not in _LWS:
            self.v_ptr = self.ptr
            self.state = RQVER
        elif c in _SPHT:
            self.eat(RQURI_SP)
        else:
            self.v_ptr, self.v_len = self.ptr, 0
            self.rqline_eol()

    def rqver(self, c: int) -> None:
        if c in _VER:
            self.eat(RQVER)
        elif c in _CRLF:
            self.v_len = self.ptr - self.v_ptr
            self.rqline_eol()
        else:
            self.invalid(RQVER)

    def rqline_eol(self) -> None:
        if self.v_len == 8 and self._ver_11(self.v_ptr):
            self.flags |= MF_VER_11
        self.sol = self.ptr
        if self.buf[self.ptr] == _CR:
            self.eat(RQLINE_END)
        else:
            self.state = RQLINE_END

    def rqline_end(self, c: int) -> None:
        if self.v_len == 0:
            self.state = LAST_LF
            return
        if c != _LF:
            self.invalid(RQLINE_END)
        self.eat(HDR_FIRST)

    def _ver_11(self, v: int) -> bool:
        major, minor = self.buf[v + 5], self.buf[v + 7]
        return major > ord("1") or (major == ord("1") and minor >= ord("1"))

    # -- status line -----------------------------------------------------------------------

    def rpbefore(self, c: int) -> None:
        if c in _TOKEN:
            self.start = self.ptr
            self.v_ptr = self.ptr
            self.state = RPVER
        elif c not in _CRLF:
            self.invalid(RPBEFORE)
        else:
            self.eat(RPBEFORE if c == _LF else RPBEFORE_CR)

    def rpbefore_cr(self, c: int) -> None:
        if c != _LF:
            self.invalid(RPBEFORE_CR)
        self.eat(RPBEFORE)

    def rpver(self, c: int) -> None:
        if c in _VER:
            self.eat(RPVER)
        elif c in _SPHT:
            self.v_len = self.ptr - self.v_ptr
            if self.v_len == 8 and self._ver_11(self.v_ptr):
                self.flags |= MF_VER_11
            self.eat(RPVER_SP)
        else:
            self.invalid(RPVER)

    def rpver_sp(self, c: int) -> None:
        if c not in _LWS:
            self.status = 0
            self.state = RPCODE
        elif c in _SPHT:
            self.eat(RPVER_SP)
        else:
            self.invalid(RPVER_SP)

    def rpcode(self, c: int) -> None:
        if c in _DIGIT:
            self.status = self.status * 10 + c - 48
            self.eat(RPCODE)
        elif c not in _LWS:
            self.invalid(RPCODE)
        elif c in _SPHT:
            self.eat(RPCODE_SP)
        else:
            self.rpline_eol()

    def rpcode_sp(self, c: int) -> None:
        if c not in _LWS:
            self.state = RPREASON
        elif c in _SPHT:
            self.eat(RPCODE_SP)
        else:
            self.rpline_eol()

    def rpreason(self, c: int) -> None:
        if c not in _CRLF:
            self.eat(RPREASON)
        else:
            self.rpline_eol()

    def rpline_eol(self) -> None:
        self.sol = self.ptr
        if self.buf[self.ptr] == _CR:
            self.eat(RPLINE_END)
        else:
            self.state = RPLINE_END

    def rpline_end(self, c: int) -> None:
        if c != _LF:
            self.invalid(RPLINE_END)
        self.eat(HDR_FIRST)

    # -- headers ---------------------------------------------------------------------------

    def hdr_first(self, c: int) -> None:
        self.sol = self.ptr
        if c not in _CRLF:
            self.state = HDR_NAME
        elif c == _CR:
            self.eat(LAST_LF)
        else:
            self.state = LAST_LF

    def hdr_name(self, c: int) -> None:
        if c in _TOKEN:
            self.eat(HDR_NAME)
        elif c == ord(":"):
            self.col = self.ptr
            if self.col <= self.sol:
                self.invalid(HDR_NAME)
            self.eat(HDR_L1_SP)
        else:  # strict mode: any other character is an error
            self.invalid(HDR_NAME)

    def hdr_l1_sp(self, c: int) -> None:
        if c in _SPHT:
            self.eat(HDR_L1_SP)
            return
        self.sov = self.ptr
        if c not in _CRLF:
            self.state = HDR_VAL
        elif c == _CR:
            self.eat(HDR_L1_LF)
        else:
            self.state = HDR_L1_LF

    def hdr_l1_lf(self, c: int) -> None:
        if c != _LF:
            self.invalid(HDR_L1_LF)
        self.eat(HDR_L1_LWS)

    def hdr_l1_lws(self, c: int) -> None:
        if c in _SPHT:  # folded line: the CR LF become spaces
            self.buf[self.sov:self.ptr] = b" " * (self.ptr - self.sov)
            self.sov = self.ptr
            self.state = HDR_L1_SP
            return
        self.eol = self.sov  # a header made only of spaces
        self.complete_header()

    def hdr_val(self, c: int) -> None:
        if c not in _CRLF:
            self.eat(HDR_VAL)
            return
        self.eol = self.ptr
        if c == _CR:
            self.eat(HDR_L2_LF)
        else:
            self.state = HDR_L2_LF

    def hdr_l2_lf(self, c: int) -> None:
        if c != _LF:
            self.invalid(HDR_L2_LF)
        self.eat(HDR_L2_LWS)

    def hdr_l2_lws(self, c: int) -> None:
        if c in _SPHT:  # folded line: the CR LF become spaces
            self.buf[self.eol:self.ptr] = b" " * (self.ptr - self.eol)
            self.eol = self.ptr
            self.state = HDR_VAL
            return
        self.complete_header()

    def complete_header(self) -> None:
        """http_msg_complete_header: index the header that just ended, then the next line."""
        sov, eol = self.sov, self.eol
        while sov < eol and self.buf[sov] in _LWS:
            sov += 1
        while eol - 1 > sov and self.buf[eol - 1] in _LWS:
            eol -= 1
        self.index_header(bytes(self.buf[self.sol:self.col]), sov, eol)
        self.sol = self.ptr
        c = self.buf[self.ptr]
        if c not in _CRLF:
            self.state = HDR_NAME
        elif c == _CR:
            self.eat(LAST_LF)
        else:
            self.state = LAST_LF

    def index_header(self, name: bytes, vptr: int, vend: int) -> None:
        if len(self.hdrs) >= self.hdr_num:
            self.invalid(HDR_L2_LWS)
        lname = name.lower()
        value = bytes(self.buf[vptr:vend])
        if lname == b"transfer-encoding":
            if not self.parse_xfer_enc(value):
                self.invalid(HDR_L2_LWS, vptr)
        elif lname == b"content-length":
            found = self.parse_cont_len(vptr, vend)
            if found is None:
                self.invalid(HDR_L2_LWS, vptr)
            if not found:
                return  # a repeated identical value: dropped
        elif lname == b"connection":
            vend = self.parse_connection(vptr, vend)
            if vend == vptr:
                return
            value = bytes(self.buf[vptr:vend])
        elif lname == b"upgrade":
            self.parse_upgrade(value)
        elif not self.flags & MF_RESP and lname == b"host":
            if self.host_idx == -1:
                self.host_idx = len(self.hdrs)
            else:
                if value.lower() != self.hdrs[self.host_idx].value.lower():
                    self.invalid(HDR_L2_LWS, vptr)
                return
        self.hdrs.append(_Header(name, value, vptr))

    def last_lf(self, c: int) -> None:
        if c != _LF:
            self.invalid(LAST_LF)
        self.ptr += 1
        if len(self.hdrs) >= self.hdr_num:
            self.invalid(LAST_LF)
        if not self.flags & MF_RESP:
            self.check_authority()
        self.state = DATA
        if self.flags & MF_XFER_ENC:
            if self.flags & MF_CLEN:  # T-E + C-L: force close and remove C-L
                self.flags = (self.flags | MF_CONN_CLO) & ~MF_CLEN
            elif not self.flags & MF_VER_11:
                self.flags |= MF_CONN_CLO
            if self.flags & MF_CHNK:
                self.state = CHUNK_SIZE
            elif not self.flags & MF_RESP:  # T-E without chunked in a request
                self.invalid(DATA)

    def check_authority(self) -> None:
        uri = bytes(self.buf[self.u_ptr:self.u_ptr + self.u_len])
        scheme, authority = _parse_scheme_authority(uri)
        host = self.hdrs[self.host_idx] if self.host_idx != -1 else None
        if self.meth == "CONNECT":
            ret = _validate_connect_authority(authority, host.value if host else None)
            if ret < 0:
                self.invalid(LAST_LF, self.u_ptr if ret == -1 or host is None else host.vptr)
        elif host is not None and authority and authority.lower() != host.value.lower() and \
                not _mismatch_allowed(scheme, authority, host.value):
            self.invalid(LAST_LF, host.vptr)

    # -- header value parsers (h1_parse_*_header) ------------------------------------------

    def parse_xfer_enc(self, value: bytes) -> bool:
        self.flags |= MF_XFER_ENC
        for word in _words(value):
            self.flags &= ~MF_CHNK
            if word.lower() == b"chunked":
                if self.flags & MF_TE_CHUNKED:
                    return False
                self.flags |= MF_TE_CHUNKED | MF_CHNK
            else:
                if self.flags & (MF_RESP | MF_TE_CHUNKED) == MF_TE_CHUNKED:
                    return False
                self.flags |= MF_TE_OTHER
        return True

    def parse_cont_len(self, vptr: int, vend: int) -> bool | None:
        """h1_parse_cont_len_header(): None if invalid, True to index it, False for a repeated
        identical value (dropped). Every comma-separated value must be the same number."""
        not_first = bool(self.flags & MF_CLEN)
        buf, word = self.buf, vptr
        while True:
            if word >= vend:
                return None  # empty value, or nothing after a comma (Debian's CVE fix)
            if buf[word] in _LWS:
                word += 1
                continue
            n, cl = word, 0
            while n < vend and buf[n] in _DIGIT:
                if cl > _U64 // 10:
                    return None  # multiply overflow
                cl = cl * 10 + buf[n] - 48
                if cl > _U64:
                    return None  # addition overflow
                n += 1
            if n == word:
                return None  # no digit
            while n < vend and buf[n] in _LWS:
                n += 1
            if n < vend and buf[n] != 0x2C:
                return None
            if self.flags & MF_CLEN and cl != self.body_len:
                return None
            self.flags |= MF_CLEN
            self.curr_len = self.body_len = cl
            if n == vend:
                break
            word = n + 1
        return not not_first

    def parse_connection(self, vptr: int, vend: int) -> int:
        """h1_parse_connection_header() with H1_MF_CLEAN_CONN_HDR: sets the CONN_* flags and
        removes close/keep-alive from the value in the buffer; returns the value's new end."""
        buf = self.buf
        length = 0  # of the cleaned value, from vptr
        prev = vptr  # end of the previous word (HAProxy's p)
        word = vptr
        while word < vend:
            if buf[word] in _LWS:
                word += 1
                continue
            n = _value_end(buf, word, vend)
            w_end = n
            while w_end > word and buf[w_end - 1] in _LWS:
                w_end -= 1
            token = bytes(buf[word:w_end]).lower()
            if token in (b"keep-alive", b"close"):
                self.flags |= MF_CONN_KAL if token == b"keep-alive" else MF_CONN_CLO
            else:
                if token == b"upgrade":
                    self.flags |= MF_CONN_UPG
                if vptr + length == prev:  # no rewrite done until now
                    length = n - vptr
                else:
                    if length:
                        buf[vptr + length] = 0x2C
                        length += 1
                    chunk = bytes(buf[word:w_end])
                    if vend - vptr >= length + len(chunk):  # istcat()
                        buf[vptr + length:vptr + length + len(chunk)] = chunk
                        length += len(chunk)
            prev = n
            word = n + 1
        return vptr + length

    def parse_upgrade(self, value: bytes) -> None:
        self.flags &= ~MF_UPG_WEBSOCKET
        for word in _words(value):
            if word.lower() == b"websocket":
                self.flags |= MF_UPG_WEBSOCKET


_STEPS: dict[int, Callable[[_Parser, int], None]] = {
    RQBEFORE: _Parser.rqbefore, RQBEFORE_CR: _Parser.rqbefore_cr, RQMETH: _Parser.rqmeth,
    RQMETH_SP: _Parser.rqmeth_sp, RQURI: _Parser.rquri, RQURI_SP: _Parser.rquri_sp,
    RQVER: _Parser.rqver, RQLINE_END: _Parser.rqline_end,
    RPBEFORE: _Parser.rpbefore, RPBEFORE_CR: _Parser.rpbefore_cr, RPVER: _Parser.rpver,
    RPVER_SP: _Parser.rpver_sp, RPCODE: _Parser.rpcode, RPCODE_SP: _Parser.rpcode_sp,
    RPREASON: _Parser.rpreason, RPLINE_END: _Parser.rpline_end,
    HDR_FIRST: _Parser.hdr_first, HDR_NAME: _Parser.hdr_name, HDR_L1_SP: _Parser.hdr_l1_sp,
    HDR_L1_LF: _Parser.hdr_l1_lf, HDR_L1_LWS: _Parser.hdr_l1_lws, HDR_VAL: _Parser.hdr_val,
    HDR_L2_LF: _Parser.hdr_l2_lf, HDR_L2_LWS: _Parser.hdr_l2_lws, LAST_LF: _Parser.last_lf,
}


# -- helpers from src/http.c -------------------------------------------------------------------

def _value_end(buf: bytes | bytearray, pos: int, end: int) -> int:
    """http_find_hdr_value_end(): the next comma outside a quoted string, or `end`."""
    quoted = qdpair = False
    while pos < end:
        c = buf[pos]
        if qdpair:
            qdpair = False
        elif quoted:
            if c == 0x5C:
                qdpair = True
            elif c == 0x22:
                quoted = False
        elif c == 0x22:
            quoted = True
        elif c == 0x2C:
            return pos
        pos += 1
    return end


def _words(value: bytes) -> list[bytes]:
    """The comma-separated words of a header value, blanks trimmed, empty ones skipped."""
    words, pos = [], 0
    while pos < len(value):
        if value[pos] in _LWS:
            pos += 1
            continue
        n = _value_end(value, pos, len(value))
        word = value[pos:n]
        while word and word[-1] in _LWS:
            word = word[:-1]
        words.append(word)
        pos = n + 1
    return words


def _parse_scheme_authority(uri: bytes) -> tuple[bytes | None, bytes | None]:
    """http_parse_scheme() then http_parse_authority(no_userinfo=1) on a request target:
    (scheme with its "://" or None, authority or None)."""
    if not uri or uri[:1] in (b"*", b"/"):
        return None, None
    scheme = None
    ptr = 0
    if uri[:1].isalpha():
        p = 1
        while p < len(uri) and (uri[p:p + 1].isalnum() or uri[p] in b"+-."):
            p += 1
        if uri[p:p + 3] == b"://":
            scheme, ptr = uri[:p + 3], p + 3
    start = ptr
    while ptr < len(uri) and uri[ptr] != ord("/"):
        ptr += 1
        if uri[ptr - 1] == ord("@"):
            start = ptr
    return scheme, uri[start:ptr]


def _host_port(host: bytes) -> bytes | None:
    """http_get_host_port(): the digits after the last ':' (b"" for "host:"), None if no port."""
    p = len(host)
    while p > 0 and host[p - 1:p].isdigit():
        p -= 1
    if p == 0 or host[p - 1] != ord(":"):
        return None
    return host[p:]


def _is_default_port(scheme: bytes | None, port: bytes | None) -> bool:
    if not port:
        return True
    if scheme is None:
        return port in (b"443", b"80")
    return (port == b"443" and scheme.lower() == b"https://") or (port == b"80" and scheme.lower() == b"http://")


def _validate_connect_authority(authority: bytes | None, host: bytes | None) -> int:
    """h1_validate_connect_authority(): 0 ok, -1 bad authority, -2 bad Host."""
    if authority is None:
        return -1
    uri_port = _host_port(authority)
    if not uri_port:
        return -1
    uri_host = authority[:len(authority) - len(uri_port) - 1]
    if host is None:
        return 0
    host_port = _host_port(host)
    hostname = host[:len(host) - len(host_port) - 1] if host_port is not None else host
    if host_port:
        if hostname.lower() != uri_host.lower() or host_port != uri_port:
            return -2
    elif not _is_default_port(None, uri_port) or hostname.lower() != uri_host.lower():
        return -2
    return 0


def _mismatch_allowed(scheme: bytes | None, authority: bytes, host: bytes) -> bool:
    """h1_validate_mismatch_authority() == 0: only a default port makes them differ."""
    if scheme is None:
        return False
    uri_port, host_port = _host_port(authority), _host_port(host)
    uri_host = authority[:len(authority) - len(uri_port) - 1] if uri_port is not None else authority
    hostname = host[:len(host) - len(host_port) - 1] if host_port is not None else host
    if uri_port is None and host_port is None:
        return False
    if uri_port is not None and not _is_default_port(scheme, uri_port):
        return False
    if host_port is not None and not _is_default_port(scheme, host_port):
        return False
    return uri_host.lower() == hostname.lower()


# -- the H1 mux around the parser --------------------------------------------------------------

def analyze(data: bytes, *, response: bool = False, maxhdr: int = DEFAULT_MAXHDR) -> H1Result:
    """Run HAProxy 2.6's H1 head parsing (strict mode) over `data`, as read in one go."""
    p = _Parser(data, response, maxhdr)
    outcome, pos = p.run()

    def result(pos: int, error: bool = True, incomplete: bool = False) -> H1Result:
        return H1Result(pos, p.state, p.flags, p.curr_len, p.body_len, error, incomplete, bytes(p.buf))

    if outcome == "invalid":
        return result(pos)
    if outcome == "ood":
        return result(pos, incomplete=True)
    # the whole head parsed: h1_process_req_vsn() / h1_process_res_vsn() in strict mode
    if not _version_ok(p, response):
        return result(p.v_ptr)
    if not response:
        if p.v_len == 8 and p._ver_11(p.v_ptr):
            p.flags |= MF_VER_11
        p.flags |= MF_XFER_LEN
        if p.meth == "CONNECT":
            p.flags &= ~(MF_CLEN | MF_CHNK)
            p.curr_len = p.body_len = 0
    else:
        _postparse_response(p)
    if (p.flags & MF_CLEN and p.body_len == 0) or p.flags & (MF_XFER_LEN | MF_CLEN | MF_CHNK) == MF_XFER_LEN:
        p.state = DONE
    # h1_handle_headers(): checks done on a well-formed head
    if not response and not p.flags & MF_VER_11 and p.meth in ("GET", "HEAD", "DELETE") and \
            ((p.flags & MF_CLEN and p.body_len) or p.flags & MF_CHNK):
        return result(pos)  # HTTP/1.0 GET/HEAD/DELETE with a payload (413)
    if p.flags & MF_TE_OTHER:
        return result(pos)  # unknown transfer-encoding
    if p.flags & (MF_CONN_UPG | MF_UPG_WEBSOCKET) == MF_CONN_UPG | MF_UPG_WEBSOCKET and not _has_ws_key(p, response):
        return result(pos)
    return result(pos, error=False)


def _version_ok(p: _Parser, response: bool) -> bool:
    v = bytes(p.buf[p.v_ptr:p.v_ptr + p.v_len])
    if len(v) != 8 or not (v[5:6].isdigit() and v[6:7] == b"." and v[7:8].isdigit()):
        return False
    return v[4:5] == b"/" if response else v[:5] == b"HTTP/"


def _postparse_response(p: _Parser) -> None:
    code = p.status
    if p.flags & (MF_CONN_UPG | MF_UPG_WEBSOCKET) and code != 101:
        p.flags &= ~(MF_CONN_UPG | MF_UPG_WEBSOCKET)
    if code == 101 or 100 <= code < 200 or code in (204, 304):
        p.flags = (p.flags & ~(MF_CLEN | MF_CHNK)) | MF_XFER_LEN
        p.curr_len = p.body_len = 0
    elif p.flags & (MF_CLEN | MF_CHNK):
        p.flags |= MF_XFER_LEN


def _has_ws_key(p: _Parser, response: bool) -> bool:
    for hdr in p.hdrs:
        name = hdr.name.lower()
        if not response and name == b"sec-websocket-key" and len(hdr.value) == 24:
            return True
        if response and name == b"sec-websocket-accept":
            return True
    return False


def find_request_error(data: bytes) -> tuple[int, str]:
    """Where HAProxy 2.6 rejects the request head `data`, and its parser state's name, e.g.
    (7, "MSG_RQVER"). For a head it accepts: the end of the head and the state reached."""
    res = analyze(data)
    return res.pos, res.state_name


def find_response_error(data: bytes) -> tuple[int, str]:
    """Same as find_request_error() for a response head (MSG_RPVER, MSG_RPCODE, ...)."""
    res = analyze(data, response=True)
    return res.pos, res.state_name


# -- dump_text_line() (src/tools.c) ------------------------------------------------------------

_ESCAPES = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x1B: "\\e", 0x5C: "\\\\"}
_LINE_WIDTH = 80


def dump_text_line(buf: bytes, bsize: int, length: int, bol: int, ptr: int) -> tuple[str, int, int]:
    """One output line for the bytes at `ptr` (`bol`: start of the current input line).
    Returns (line with its LF, new ptr, new bol). Lines hold 70 characters at most; a line
    continuing a cut one is marked with "+" after the offset."""
    out = [f"  {ptr:05d}{' ' if ptr == bol else '+'} "]
    used = len(out[0])
    end = _LINE_WIDTH
    while ptr < length and ptr < bsize:
        c = buf[ptr]
        if 0x20 <= c < 0x7F and c != 0x5C:
            if used > end - 2:
                break
            text = chr(c)
        elif c in _ESCAPES:
            if used > end - 3:
                break
            text = _ESCAPES[c]
        else:
            if used > end - 5:
                break
            text = f"\\x{c:02X}"
        out.append(text)
        used += len(text)
        ptr += 1
        if c == 0x0A:
            out.append("\n")
            return "".join(out), ptr, ptr
    out.append("\n")
    return "".join(out), ptr, bol


def dump_text(buf: bytes, bsize: int = DEFAULT_BUFSIZE) -> str:
    """All the lines of a snapshot's buffer, as `show errors` prints them."""
    lines, ptr, bol = [], 0, 0
    while ptr < len(buf) and ptr < bsize:
        line, ptr, bol = dump_text_line(buf, bsize, len(buf), bol, ptr)
        lines.append(line)
    return "".join(lines)


# -- snapshots and `show errors` ---------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_date(when: float) -> str:
    """[dd/Mon/yyyy:HH:MM:SS.mmm] in local time, milliseconds truncated as HAProxy does."""
    usec = round(when * 1_000_000)
    sec, usec = divmod(usec, 1_000_000)
    tm = time.localtime(sec)
    return (f"[{tm.tm_mday:02d}/{_MONTHS[tm.tm_mon - 1]}/{tm.tm_year:04d}:"
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}.{usec // 1000:03d}]")


@dataclass
class Snapshot:
    """One captured message (HAProxy's struct error_snapshot with the H1 context)."""

    direction: str
    when: float
    ev_id: int
    proxy: tuple[str, int]  # frontend for a request, backend for a response
    other: tuple[str, int] | None  # the other end (backend of a request, frontend of a response)
    server: tuple[str, int] | None
    src: str
    data: bytes
    err_pos: int
    state: int
    c_flags: int
    s_flags: int
    m_flags: int
    curr_len: int
    body_len: int
    bufsize: int = DEFAULT_BUFSIZE

    def render(self) -> str:
        other = self.other or ("<NONE>", -1)
        if self.direction == "request":
            head = (f" frontend {self.proxy[0]} (#{self.proxy[1]}): invalid request\n"
                    f"  backend {other[0]} (#{other[1]})")
        else:
            head = (f" backend {self.proxy[0]} (#{self.proxy[1]}): invalid response\n"
                    f"  frontend {other[0]} (#{other[1]})")
        server = self.server or ("<NONE>", -1)
        return (
            f" \n{format_date(self.when)}{head}, server {server[0]} (#{server[1]}), "
            f"event #{self.ev_id}, src {self.src}\n"
            f"  buffer starts at 0 (including 0 out), {self.bufsize - len(self.data)} free,\n"
            f"  len {len(self.data)}, wraps at {self.bufsize - HTX_RESERVE}, error at position {self.err_pos}\n"
            f"  H1 connection flags 0x{self.c_flags:08x}, H1 stream flags 0x{self.s_flags:08x}\n"
            f"  H1 msg state {_STATE_NAMES[self.state]}({self.state}), H1 msg flags 0x{self.m_flags:08x}\n"
            f"  H1 chunk len {self.curr_len} bytes, H1 body len {self.body_len} bytes :\n"
            f"  \n" + dump_text(self.data, self.bufsize)
        )


@dataclass
class ErrorLog:
    """The last invalid request of each frontend and the last invalid response of each backend,
    plus the process-wide event counter (HAProxy's error_snapshot_id)."""

    maxhdr: int = DEFAULT_MAXHDR
    events: int = 0
    snapshots: dict[tuple[int, str], Snapshot] = field(default_factory=dict)

    def record(self, *, direction: str, when: float, frontend: tuple[str, int],
               backend: tuple[str, int] | None, server: tuple[str, int] | None, src: str,
               data: bytes, bufsize: int = DEFAULT_BUFSIZE) -> Snapshot:
        """Capture an invalid message: `data` is what was buffered (at most `bufsize` bytes are
        kept), `when` the unix time. The snapshot replaces the previous one of its proxy and
        direction; it belongs to the frontend for a request, to the backend for a response."""
        if direction not in ("request", "response"):
            raise ValueError(f"direction must be 'request' or 'response', not {direction!r}")
        response = direction == "response"
        if response and backend is None:
            raise ValueError("a response error needs its backend")
        data = bytes(data[:bufsize])
        res = analyze(data, response=response, maxhdr=self.maxhdr)
        if response:
            proxy, other, c_flags, s_flags = backend, frontend, C_FLAGS_BACK, S_FLAGS_RESPONSE
        else:
            proxy, other, s_flags = frontend, backend, S_FLAGS_REQUEST
            c_flags = C_FLAGS_FRONT | (C_FLAGS_IN_FULL if res.incomplete else 0)
        assert proxy is not None
        snap = Snapshot(direction, when, self.events, proxy, other, server, src, res.data, res.pos,
                        res.state, c_flags, s_flags, res.flags, res.curr_len, res.body_len, bufsize)
        self.events += 1
        self.snapshots[(proxy[1], direction)] = snap
        return snap

    def render(self, now: float, proxy_ids: set[int] | list[int] | None = None,
               direction: str | None = None, order: list[int] | None = None) -> str:
        """`show errors` output. `proxy_ids`: only the snapshots of these proxies or whose other
        end is one of them (HAProxy's iid filter); `direction`: "request" or "response" only;
        `order`: proxy ids in configuration order (default: by id)."""
        out = [f"Total events captured on {format_date(now)} : {self.events}\n"]
        ids = {pid for pid, _ in self.snapshots}
        rank = {pid: i for i, pid in enumerate(order or [])}
        for pid in sorted(ids, key=lambda i: (rank.get(i, len(rank)), i)):
            for kind in ("request", "response"):
                snap = self.snapshots.get((pid, kind))
                if snap is None or (direction is not None and kind != direction):
                    continue
                if proxy_ids is not None and pid not in proxy_ids and \
                        (snap.other is None or snap.other[1] not in proxy_ids):
                    continue
                out.append(snap.render())
        return "".join(out)
