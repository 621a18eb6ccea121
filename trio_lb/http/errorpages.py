"""HAProxy's built-in error responses, byte for byte (HAProxy 2.6, src/http.c `http_err_msgs`).

Two shapes exist on the wire, and we reproduce both:
* errors raised while the request is still being parsed (400, 408) are written raw by HAProxy's
  H1 multiplexer: capitalised header names and `Connection: close`, and the connection closes;
* errors produced once a request exists (403, 500, 502, 503, 504, ...) go through HTX and come
  out with lower-case header names and no `connection` header: the client connection stays
  usable when the request was complete.
"""

from __future__ import annotations

_TEXTS: dict[int, tuple[str, str]] = {
    200: ("OK", "Service ready."),
    400: ("Bad request", "Your browser sent an invalid request."),
    401: ("Unauthorized", "You need a valid user and password to access this content."),
    403: ("Forbidden", "Request forbidden by administrative rules."),
    404: ("Not Found", "The resource could not be found."),
    405: ("Method Not Allowed", "A request was made of a resource using a request method not supported by that resource"),
    407: ("Unauthorized", "You need a valid user and password to access this content."),
    408: ("Request Time-out", "Your browser didn't send a complete request in time."),
    410: ("Gone", "The resource is no longer available and will not be available again."),
    413: ("Payload Too Large", "The request entity exceeds the maximum allowed."),
    421: ("Misdirected Request", "Request sent to a non-authoritative server."),
    425: ("Too Early", "Your browser sent early data."),
    429: ("Too Many Requests", "You have sent too many requests in a given amount of time."),
    500: ("Internal Server Error", "An internal server error occurred."),
    501: ("Not Implemented", "The server does not support the functionality required to fulfill the request."),
    502: ("Bad Gateway", "The server returned an invalid or incomplete response."),
    503: ("Service Unavailable", "No server is available to handle this request."),
    504: ("Gateway Time-out", "The server didn't respond in time."),
}

REASONS: dict[int, str] = {code: reason for code, (reason, _) in _TEXTS.items()}


def _body(code: int) -> bytes:
    reason, text = _TEXTS[code]
    return f"<html><body><h1>{code} {reason}</h1>\n{text}\n</body></html>\n".encode()


def _raw(code: int) -> bytes:
    body = _body(code)
    head = (
        f"HTTP/1.1 {code} {REASONS[code]}\r\n"
        f"Content-length: {len(body)}\r\n"
        "Cache-Control: no-cache\r\n"
        "Connection: close\r\n"
        "Content-Type: text/html\r\n\r\n"
    )
    return head.encode() + body


def _htx(code: int, close: bool) -> bytes:
    body = _body(code)
    head = (
        f"HTTP/1.1 {code} {REASONS[code]}\r\n"
        f"content-length: {len(body)}\r\n"
        "cache-control: no-cache\r\n"
        "content-type: text/html\r\n"
        + ("connection: close\r\n" if close else "")
        + "\r\n"
    )
    return head.encode() + body


# Precomputed once: these go out on hot error paths (503 storms during an outage).
PARSE_ERRORS: dict[int, bytes] = {code: _raw(code) for code in _TEXTS}
RESPONSES: dict[int, bytes] = {code: _htx(code, False) for code in _TEXTS}
RESPONSES_CLOSE: dict[int, bytes] = {code: _htx(code, True) for code in _TEXTS}


def error_response(code: int, *, parsing: bool = False, close: bool = False) -> bytes:
    """The bytes HAProxy sends for `code` (see the module docstring for the two shapes)."""
    if parsing:
        return PARSE_ERRORS[code]
    return (RESPONSES_CLOSE if close else RESPONSES)[code]
