"""One CLI connection as a sans-IO state machine: request bytes in, reply bytes out.

How it works (HAProxy 2.6 src/cli.c, cli_io_handler and cli_parse_request, verified against
2.6.12 over a Unix socket):

* Input accumulates in a buffer. A request ends at the first `\\n` or `;` that a backslash does
  not escape; one `\\r` before it is dropped. A request that does not fit in the buffer
  (bufsize - maxrewrite = 15360 bytes by default) closes the connection; one never terminated is
  never run (at EOF only a remainder ending in an escaped LF still runs, as in HAProxy).
* A request whose last two bytes are `<<` starts a payload: the following lines are collected
  (no `;` splitting, no escapes) until an empty line, then the command runs with them.
* The request is cut into words the way the C code does it, byte for byte: spaces and tabs
  separate, `\\x` escapes x, a NUL byte ends a word (or the request when a word would start),
  at most 64 words, a `<<` word stops the parsing and introduces the payload.
* After each request the session writes its "prompt": `\\n` in the default mode (so every reply
  block ends with an empty line), nothing after `operator -`/`user -` or while a payload is
  collected, `\\n> ` in interactive mode (`prompt`) and `+ ` there while collecting a payload.
* In the default mode the session closes as soon as everything received has been answered and
  nothing is pending; `quit` closes at once, without output. `closed` tells the I/O layer.

The session never reads a clock: the I/O layer enforces `timeout` (which `set timeout cli`
changes) between reads.
"""

from __future__ import annotations

import re
from typing import Any

from trio_lb.admin import messages
from trio_lb.admin.messages import Message
from trio_lb.admin.registry import LEVELS, Args, Command, Registry
from trio_lb.errors import CommandError

MAX_ARGS = 64  # MAX_CLI_ARGS
PAYLOAD_PATTERN = b"<<"

# up to the first unescaped LF or ';' (a backslash escapes any byte, LF included)
_REQUEST = re.compile(rb"(?:[^\\\n;]|\\.)*", re.DOTALL)

# text written after each request: (interactive, collecting a payload, no-LF asked) -> prompt
_PROMPTS = {
    (False, False, False): "\n",
    (False, False, True): "",
    (False, True, False): "",
    (False, True, True): "",
    (True, False, False): "\n> ",
    (True, False, True): "\n> ",
    (True, True, False): "+ ",
    (True, True, True): "+ ",
}


class Session:
    def __init__(self, registry: Registry, ctx: object, level: str = "admin", *,
                 socket_level: str | None = None, timeout: float | None = None,
                 severity_output: str = "none", bufsize: int = 16384) -> None:
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}")
        self.registry = registry
        self.ctx: Any = ctx
        self.level = level  # lowered by `operator` / `user`
        self.socket_level = socket_level or level  # the `stats socket ... level` (never changes)
        self.timeout = timeout
        self.severity_output = severity_output  # `set severity-output` changes it
        self.socket_severity_output = severity_output  # the socket's own setting
        self.interactive = False
        self.expert = False
        self.experimental = False
        self.closed = False
        self._bufsize = bufsize
        self._request_max = bufsize - min(1024, bufsize // 2)  # what the channel can hold
        self._buf = bytearray()
        self._scanned = 0  # how far the pending request was searched for its end already
        self._payload: list[bytes] | None = None  # lines collected after a `<<` request
        self._payload_cmd = b""
        self._chunk = 0  # bytes the pending request takes in HAProxy's request chunk
        self._nolf = False
        self._quit = False

    # -- the I/O layer's side ----------------------------------------------------------------

    def feed(self, data: bytes) -> bytes:
        """Consume received bytes; return what to send (possibly b"")."""
        if self.closed:
            return b""
        self._buf += data
        out: list[str] = []
        while not self.closed:
            request = self._take_request()
            if request is None:
                break
            self._answer(request, out)
        return _encode(out)

    def eof(self) -> bytes:
        """The client shut its sending side: answer what can still be answered, then close."""
        if self.closed:
            return b""
        out: list[str] = []
        if self._payload is None and self._buf.endswith(b"\n"):
            # only possible with an escaped LF: HAProxy then takes the remainder as a request
            request = _strip_cr(bytes(self._buf[:-1]))
            self._buf.clear()
            self._answer(request, out)
        self.closed = True
        return _encode(out)

    # -- what commands may use ---------------------------------------------------------------

    def has_level(self, level: str) -> bool:
        return LEVELS[self.level] >= LEVELS[level]

    def lower_level(self, level: str) -> bool:
        """`operator` / `user`: False (Permission denied) when that would raise the level."""
        if not self.has_level(level):
            return False
        self.level = level
        self.expert = self.experimental = False
        return True

    def suppress_lf(self) -> None:
        """No `\\n` after the current command's output (`operator -`, `user -`)."""
        self._nolf = True

    def toggle_prompt(self) -> None:
        self.interactive = not self.interactive

    def quit(self) -> None:
        self._quit = True

    def can_see(self, cmd: Command) -> bool:
        """Expert/experimental commands are hidden (and refused) until the mode is on."""
        return (cmd.mode is None or (cmd.mode == "expert" and self.expert)
                or (cmd.mode == "experimental" and self.experimental))

    def help_text(self, words: list[str]) -> Message:
        """`help [words]`: `words` are those after `help`."""
        return messages.info(self.registry.usage_message(words, is_help=True, visible=self.can_see))

    # -- requests ----------------------------------------------------------------------------

    def _take_request(self) -> bytes | None:
        """The next complete request (delimiter and a `\\r` before it removed), or None."""
        if self._payload is None:
            limit = self._request_max
            m = _REQUEST.match(self._buf, self._scanned, limit)
            end = m.end()
            self._scanned = end  # escapes are whole there: a later search can resume at `end`
            if end >= min(len(self._buf), limit) or self._buf[end] == 0x5C:
                end = -1  # not found (or a backslash whose escaped byte is beyond the limit)
        else:
            limit = min(self._request_max, self._bufsize - self._chunk - 1)
            end = self._buf.find(b"\n", self._scanned, max(limit, 0))
            self._scanned = len(self._buf) if end < 0 else 0
        if end < 0:
            if len(self._buf) >= limit:
                self.closed = True  # the request cannot fit: HAProxy gives up on the connection
            return None
        self._scanned = 0
        request = bytes(self._buf[:end])
        del self._buf[: end + 1]
        return _strip_cr(request)

    def _answer(self, request: bytes, out: list[str]) -> None:
        out.append(self._request(request))
        if self._quit:
            self.closed = True
            return
        out.append(_PROMPTS[self.interactive, self._payload is not None, self._nolf])
        self._nolf = False
        if not self.interactive and not self._buf and self._payload is None:
            self.closed = True

    def _request(self, request: bytes) -> str:
        if self._payload is not None:
            if request:
                self._payload.append(request)
                self._chunk += len(request) + 1
                return ""
            lines, self._payload = self._payload, None
            return self._run(self._payload_cmd, lines)
        if len(request) >= 2 and request.endswith(PAYLOAD_PATTERN):
            self._payload, self._payload_cmd = [], request
            self._chunk = len(request) + 1
            return ""
        return self._run(request, None)

    def _run(self, request: bytes, lines: list[bytes] | None) -> str:
        words, payload = split_request(request, lines)
        args = Args(_text(w) for w in words)
        return self._execute(args, None if payload is None else _text(payload))

    def _execute(self, args: Args, payload: str | None) -> str:
        cmd = self.registry.find(args)
        if cmd is None:
            usage = self.registry.usage_message(args, is_help=False, visible=self.can_see)
            return self._render(messages.info(usage))
        if cmd.mode == "expert" and not self.expert:
            return self._render(messages.error(messages.EXPERT_ONLY))
        if cmd.mode == "experimental" and not self.experimental:
            return self._render(messages.error(messages.EXPERIMENTAL_ONLY))
        if not self.has_level(cmd.level):
            return self._render(messages.error(messages.PERMISSION_DENIED))
        try:
            result = cmd.handler(self.ctx, args, payload, self)
        except CommandError as exc:
            return self._render(messages.error(exc.text))
        return self._render(result)

    def _render(self, result: str | None) -> str:
        if result is None:
            return ""
        if isinstance(result, Message):
            return messages.with_severity(str(result), result.severity, self.severity_output)
        return str(result)


def split_request(request: bytes, lines: list[bytes] | None) -> tuple[list[bytes], bytes | None]:
    """cli_parse_request(): the words of `request` and the payload, exactly as HAProxy's C code
    finds them in its request chunk (`request` NUL, then the payload lines)."""
    if lines is None:
        buf, end = bytearray(request + b"\0"), len(request)
    elif lines:
        body = b"\n".join(lines)
        buf, end = bytearray(request + b"\0" + body + b"\0\n\0"), len(request) + 1 + len(body)
    else:  # an empty payload: HAProxy's pointer lands on the "\n" it wrote
        buf, end = bytearray(request + b"\0\n\0"), len(request)
    words: list[bytes] = []
    payload: bytes | None = None
    p = 0
    while len(words) < MAX_ARGS and p < end:
        while buf[p] in (0x20, 0x09):
            p += 1
        if buf[p] == 0:
            break
        if _cstr(buf, p) == PAYLOAD_PATTERN:
            payload = _cstr(buf, p + 3) if p + 3 < len(buf) else b""
            break
        start = p
        while True:
            while buf[p] not in (0, 0x20, 0x09, 0x5C):
                p += 1
            if buf[p] != 0x5C:
                break
            p += 1
            if buf[p] == 0:
                break
            p += 1
            if buf[p] == 0:
                break
        words.append(_unescape(bytes(buf[start:p])))
        buf[p] = 0
        p += 1
    return words, payload


def _cstr(buf: bytearray, p: int) -> bytes:
    return bytes(buf[p: buf.index(0, p)])


def _unescape(word: bytes) -> bytes:
    """`\\\\` -> `\\`, `\\x` -> x, a trailing lone backslash is dropped."""
    out = bytearray()
    k = 0
    while k < len(word):
        if word[k] == 0x5C:
            if word[k + 1: k + 2] != b"\\":
                k += 1
                continue
            k += 1
        out.append(word[k])
        k += 1
    return bytes(out)


def _strip_cr(request: bytes) -> bytes:
    return request[:-1] if request.endswith(b"\r") else request


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _encode(parts: list[str]) -> bytes:
    return "".join(parts).encode("utf-8", "surrogateescape")
