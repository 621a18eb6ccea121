"""The answers trio-lb makes itself: reasons, replies of deny/return/redirect, errorfiles.

A `Reply` is the Outcome of a final rule that answers the client: status, header lines (lower-case
names, as HAProxy's H1 output), body, and the termination state for the log. `reply_bytes()` is
what goes on the wire. `parse_reply()` / `build_reply()` compile and render the payload options of
`deny`, `return` and `http-error` (`content-type`, `string`, `lf-string`, `file`, `lf-file`,
`hdr`). An `errorfile` is read once at parse time (`load_errorfile`, HAProxy's checks) and sent
verbatim: its own status line, its headers (names lower-cased, `connection` dropped) and body.
A generated error takes the backend's errorfile, else the frontend's, else HAProxy's page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from trio_lb.http.errorpages import error_response
from trio_lb.rules.actions import Outcome
from trio_lb.rules.expr import Fmt, ParseCtx, compile_fmt
from trio_lb.rules.sample import RequestView

# HAProxy's http_get_reason()
REASONS = {
    100: "Continue", 101: "Switching Protocols", 102: "Processing", 200: "OK", 201: "Created", 202: "Accepted",
    203: "Non-Authoritative Information", 204: "No Content", 205: "Reset Content", 206: "Partial Content",
    207: "Multi-Status", 210: "Content Different", 226: "IM Used", 300: "Multiple Choices",
    301: "Moved Permanently", 302: "Moved Temporarily", 303: "See Other", 304: "Not Modified", 305: "Use Proxy",
    307: "Temporary Redirect", 308: "Permanent Redirect", 310: "Too many Redirects", 400: "Bad Request",
    401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    406: "Not Acceptable", 407: "Proxy Authentication Required", 408: "Request Time-out", 409: "Conflict",
    410: "Gone", 411: "Length Required", 412: "Precondition Failed", 413: "Request Entity Too Large",
    414: "Request-URI Too Long", 415: "Unsupported Media Type", 416: "Requested range unsatisfiable",
    417: "Expectation failed", 418: "I'm a teapot", 421: "Misdirected Request", 422: "Unprocessable Content",
    423: "Locked", 424: "Method failure", 425: "Too Early", 426: "Upgrade Required", 428: "Precondition Required",
    429: "Too Many Requests", 431: "Request Header Fields Too Large", 449: "Retry With",
    450: "Blocked by Windows Parental Controls", 451: "Unavailable For Legal Reasons",
    456: "Unrecoverable Error", 499: "client has closed connection", 500: "Internal Server Error",
    501: "Not Implemented", 502: "Bad Gateway or Proxy Error", 503: "Service Unavailable",
    504: "Gateway Time-out", 505: "HTTP Version not supported", 506: "Variant also negotiate",
    507: "Insufficient storage", 508: "Loop detected", 509: "Bandwidth Limit Exceeded", 510: "Not extended",
    511: "Network authentication required", 520: "Web server is returning an unknown error",
}
_CLASS_REASONS = {1: "Informational", 2: "Success", 3: "Redirection", 4: "Client Error", 5: "Server Error"}

# the statuses HAProxy has an error page for (http_err_codes[])
ERROR_CODES = (200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 425, 429, 500, 501, 502, 503, 504)

BUFSIZE = 16384  # tune.bufsize: the largest `file` payload


def http_reason(status: int) -> str:
    return REASONS.get(status) or _CLASS_REASONS.get(status // 100, "Other")


# ---------------------------------------------------------------- replies


@dataclass
class Reply(Outcome):
    """A response trio-lb sends itself. `version`/`reason` are those of the status line."""

    version: str = "1.1"
    reason: str = ""
    verbatim: bool = False  # from an `errorfile`: sent as written (status line, no framing), then close


def reply_bytes(reply: Outcome) -> bytes:
    """The bytes of <reply> on the wire (HTTP/1.1 framing, header names as given). b"" for an
    empty errorfile (version ""): send nothing and close the connection."""
    version = getattr(reply, "version", "1.1")
    if not version:
        return b""
    reason = getattr(reply, "reason", "") or http_reason(reply.status)
    head = [f"HTTP/{version} {reply.status} {reason}\r\n".encode("latin-1")]
    for name, value in reply.headers or ():
        head.append(name + b": " + value + b"\r\n")
    head.append(b"\r\n")
    return b"".join(head) + reply.body


def parse_raw_response(raw: bytes) -> tuple[str, int, str, list[tuple[bytes, bytes]], bytes]:
    """(version, status, reason, headers, body) of a raw HTTP response (an errorfile, an error page).
    Header names come out lower-case and `connection` is dropped, as HAProxy's H1 output does."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    version, _, rest = lines[0].partition(b" ")
    code, _, reason = rest.partition(b" ")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        lname = name.strip().lower()
        if lname == b"connection":
            continue
        headers.append((lname, value.strip()))
    return (version.decode("latin-1").removeprefix("HTTP/"), int(code or 0), reason.decode("latin-1"),
            headers, body)


def errorfile_reply(raw: bytes, status: int, termination: str, verbatim: bool = False) -> Reply:
    if not raw:  # an empty errorfile: nothing is sent, the connection closes
        return Reply(kind="reply", status=status, headers=[], body=b"", termination=termination, version="",
                     verbatim=True)
    version, code, reason, headers, body = parse_raw_response(raw)
    return Reply(kind="reply", status=code or status, headers=headers, body=body, termination=termination,
                 version=version or "1.1", reason=reason, verbatim=verbatim)


def proxy_errorfile(status: int, *proxies: Any) -> bytes | None:
    """The first of <proxies> (backend, then frontend) with an `errorfile` for <status>."""
    for px in proxies:
        raw = getattr(px, "errorfiles", {}).get(status) if px is not None else None
        if raw is not None:
            return raw
    return None


def error_reply(status: int, view: RequestView | None, termination: str = "PR") -> Reply:
    """The error page for <status>: the backend's errorfile, the frontend's, or HAProxy's own."""
    ctx = getattr(view, "ctx", None)
    raw = proxy_errorfile(status, getattr(ctx, "backend", None), getattr(ctx, "frontend", None))
    if raw is not None:
        return errorfile_reply(raw, status, termination, verbatim=True)
    return errorfile_reply(error_response(status), status, termination)


@dataclass(frozen=True)
class ReplySpec:
    """A compiled http reply (deny / return): see http_parse_http_reply()."""

    status: int
    kind: str  # "empty" | "errmsg" (default error page) | "errfile" | "raw" | "logfmt"
    ctype: str | None = None
    body: bytes = b""  # raw payload, or the errorfile's bytes
    fmt: Fmt | None = None  # log-format payload
    hdrs: tuple[tuple[str, Fmt], ...] = ()


def _read_file(path: str, limit: int = BUFSIZE) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError:
        raise ValueError(f"error opening file '{path}'") from None
    if len(data) > limit:
        import os

        raise ValueError(f"file '{path}' exceeds the buffer size ({os.path.getsize(path)} > {limit})")
    return data


def parse_reply(words: list[str], i: int, pctx: ParseCtx, default_status: int) -> tuple[ReplySpec, int]:
    """http_parse_http_reply(): the reply options from words[i]; stops at the first other word."""
    status = default_status
    kind, act_arg = "empty", ""
    ctype: str | None = None
    body = b""
    fmt: Fmt | None = None
    lf_text: str | None = None
    hdrs: list[tuple[str, Fmt]] = []

    def arg(k: int) -> str:
        return words[k] if k < len(words) else ""

    def payload(name: str) -> None:
        nonlocal act_arg
        if kind != "empty":
            raise ValueError(f"unexpected '{name}' argument, '{act_arg}' already defined")
        act_arg = name

    while arg(i):
        word = arg(i)
        if word == "status":
            if not arg(i + 1):
                raise ValueError("'status' expects <status_code> as argument")
            from trio_lb.config.keywords import atol

            status = atol(arg(i + 1))
            if status < 200 or status > 599:
                raise ValueError(f"Unexpected status code '{status}'")
            i += 2
        elif word == "content-type":
            if not arg(i + 1):
                raise ValueError("'content-type' expects <ctype> as argument")
            ctype = arg(i + 1)
            i += 2
        elif word == "errorfiles":
            payload(word)
            raise ValueError("'errorfiles' (http-errors sections) is not supported by trio-lb yet")
        elif word == "default-errorfiles":
            payload(word)
            kind = "errmsg"
            i += 1
        elif word == "errorfile":
            payload(word)
            if not arg(i + 1):
                raise ValueError("'errorfile' expects <fmt> as argument")
            body = load_errorfile(arg(i + 1))
            kind = "errfile"
            i += 2
        elif word in ("file", "lf-file"):
            payload(word)
            if not arg(i + 1):
                raise ValueError(f"'{word}' expects <file> as argument")
            data = _read_file(arg(i + 1))
            if word == "file":
                kind, body = "raw", data
            else:
                kind, lf_text = "logfmt", data.decode("utf-8", "surrogateescape")
            i += 2
        elif word in ("string", "lf-string"):
            payload(word)
            if not arg(i + 1):
                raise ValueError(f"'{word}' expects <{'str' if word == 'string' else 'fmt'}> as argument")
            if word == "string":
                kind, body = "raw", arg(i + 1).encode("utf-8", "surrogateescape")
            else:
                kind, lf_text = "logfmt", arg(i + 1)
            i += 2
        elif word == "hdr":
            if not arg(i + 1) or not arg(i + 2):
                raise ValueError("'hdr' expects <name> and <value> as arguments")
            name = arg(i + 1)
            if name.lower() in ("content-length", "transfer-encoding", "content-type"):
                pctx.warn(f"header '{name}' always ignored by the http reply.")
            else:
                hdrs.append((name, compile_fmt(arg(i + 2), pctx)))
            i += 3
        else:
            break

    if kind == "empty":
        if ctype:
            pctx.warn(f"content-type '{ctype}' ignored by the http reply because neither errorfile nor "
                      "payload defined.")
            ctype = None
    elif kind in ("errmsg", "errfile"):
        if kind == "errmsg" and status not in ERROR_CODES:
            raise ValueError(f"status code '{status}' not handled by default with '{act_arg}' argument.")
        if ctype:
            pctx.warn(f"content-type '{ctype}' ignored by the http reply when used with an erorrfile.")
            ctype = None
        if hdrs:
            pctx.warn("hdr parameters ignored by the http reply when used with an erorrfile.")
            hdrs = []
    elif kind == "raw":
        if status in (204, 304) and body:
            raise ValueError(f"No body expected for {status} responses")
        if not ctype and body:
            raise ValueError("a content type must be defined when non-empty payload is configured")
        if ctype and not body:
            pctx.warn(f"content-type '{ctype}' ignored by the http reply when used with an empty payload.")
            ctype = None
    else:  # logfmt
        if status in (204, 304):
            raise ValueError(f"No body expected for {status} responses")
        if not ctype:
            raise ValueError("a content type must be defined with a log-format payload")
        fmt = compile_fmt(lf_text or "", pctx)
    return ReplySpec(status, kind, ctype, body, fmt, tuple(hdrs)), i


def build_reply(spec: ReplySpec, view: RequestView, termination: str) -> Reply:
    """http_reply_to_htx(): the response for a compiled reply."""
    if spec.kind == "errmsg":
        return error_reply(spec.status, view, termination)
    if spec.kind == "errfile":
        reply = errorfile_reply(spec.body, spec.status, termination)
        return reply
    if spec.kind == "logfmt":
        assert spec.fmt is not None
        body = spec.fmt.render(view).encode("latin-1", "replace")
    else:
        body = spec.body
    headers = []
    for name, fmt in spec.hdrs:
        value = fmt.render(view)
        if value:
            headers.append((name.lower().encode("latin-1"), value.encode("latin-1", "replace")))
    headers.append((b"content-length", str(len(body)).encode()))
    if body and spec.ctype:
        headers.append((b"content-type", spec.ctype.encode("latin-1", "replace")))
    return Reply(kind="reply", status=spec.status, headers=headers, body=body, termination=termination,
                 reason=http_reason(spec.status))


# ---------------------------------------------------------------- errorfiles


def load_errorfile(path: str) -> bytes:
    """http_load_errorfile(): the file's bytes, checked as an HTTP response; ValueError otherwise
    (HAProxy's texts, which end with a period)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        raise ValueError(f"error opening file '{path}'.") from None
    err = check_errorfile(data)
    if err:
        raise ValueError(f"'{path}': {err}")
    return data


def check_errorfile(data: bytes) -> str | None:
    """http_parse_errorfile()'s checks, or None when the message is acceptable. An empty file is
    accepted: HAProxy then sends nothing and closes (`errorfile 503 /dev/null`)."""
    if not data:
        return None
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    m = re.fullmatch(rb"(HTTP/\d\.\d) (\d{3})(?: .*)?", first)
    if not sep or m is None:
        return "unable to parse headers (error offset: 0)"
    lengths = [line.split(b":", 1)[1].strip() for line in head.split(b"\n")[1:]
               if line.lower().startswith(b"content-length:")]
    if lengths and lengths[-1].isdigit() and int(lengths[-1]) != len(body):
        return f"payload size does not match the announced content-length ({len(body)} != {int(lengths[-1])})"
    return None
