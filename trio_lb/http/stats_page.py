"""The stats applet of a proxy with `stats enable` / `stats uri` (HAProxy 2.6's `/haproxy?stats`).

Theory of operation
-------------------
Pure: a request (method, target, headers, body) in, (status, headers, body) out; the data plane
reads the POST body and writes the reply. One `StatsApplet` is built per proxy with `stats`
lines; `respond()` follows HAProxy's http_handle_stats() then the stats applet:

1. `stats auth` set and no valid Basic credentials: HAProxy's 401 with the realm. Nothing else
   runs, so a bad password never reaches the page nor changes state.
2. The URL options are searched anywhere after the prefix, as HAProxy does: `;csv`, `;json`,
   `;json-schema`, `;typed`, `;up`, `;no-maint`, `;norefresh` (only when `stats refresh` is set),
   `;st=<CODE>` and `scope=<text>` (the HTML scope box, max 20 chars).
3. `stats admin if|unless <cond>` lines are evaluated on the request (rules.cond); the first
   that holds grants admin rights (the checkbox forms, and POST).
4. GET/HEAD: the page in the asked format. POST: with admin rights, the form's fields are applied
   (`_apply_post`, HAProxy's stats_process_http_post(): `b` and `action` taken from the end of
   the body, then every `s`), otherwise DENY; either way the answer is `303 See Other` to
   `<uri>;st=<CODE>[;up][;norefresh][?scope=..]` so that a reload never re-posts.

Server changes go through the Runtime API's own functions (admin.commands.server.apply_admin,
apply_health; `shutdown` kills the server's streams), with a context object that carries the
log callback: pass the daemon's AdminContext as `ctx` to share its hooks (idle pool purge).

The HTML page itself is rendered by trio_lb/http/stats_html.py.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from trio_lb.admin.commands.server import (
    apply_admin,
    apply_health,
    find_backend,
    find_in_backend,
)
from trio_lb.config.model import Proxy
from trio_lb.errors import CommandError
from trio_lb.http.errorpages import error_response
from trio_lb.http.stats_html import SCOPE_MAXLEN, HtmlPage
from trio_lb.rules.cond import eval_condition
from trio_lb.rules.sample import RequestView
from trio_lb.state.servers import DRAIN, MAINT
from trio_lb.stats import ProcessInfo, StatFilter, iter_rows, render_schema_json
from trio_lb.stats.csv import header_line, row_line
from trio_lb.stats.json_ import stat_object_json
from trio_lb.stats.typed import stat_typed_lines

DEFAULT_URI = "/haproxy?stats"
DEFAULT_REALM = "HAProxy Statistics"

Reply = tuple[int, list[tuple[bytes, bytes]], bytes]
Log = Callable[[str, str], None]

ST_CODES = ("DENY", "DONE", "ERRP", "EXCD", "NONE", "PART", "UNKN", "IVAL")  # stat_status_codes[]


# ============================================================================ request options

@dataclass
class PageOptions:
    """What the URL asked for (HAProxy's STAT_* flags of the applet context)."""

    fmt: str = "html"  # html | csv | json | json-schema | typed
    hide_down: bool = False  # ;up
    hide_maint: bool = False  # ;no-maint
    no_refresh: bool = False  # ;norefresh (only with `stats refresh`)
    st: str | None = None  # ;st=<CODE> (UNKN for an unknown code)
    scope: str = ""  # scope=<text> of the HTML form
    admin: bool = False

    def suffix(self, *, up: bool | None = None, norefresh: bool | None = None) -> str:
        """`[;up][;norefresh][?scope=..]`, the tail of the page's own links."""
        up = self.hide_down if up is None else up
        norefresh = self.no_refresh if norefresh is None else norefresh
        return (";up" if up else "") + (";norefresh" if norefresh else "") + self.scope_query()

    def scope_query(self) -> str:
        return f"?scope={self.scope}" if self.scope else ""


def parse_options(rest: str, refresh: bool) -> PageOptions:
    """The options in the URI after the stats prefix, searched as HAProxy's memcmp() loops do."""
    opts = PageOptions(hide_down=";up" in rest, hide_maint=";no-maint" in rest,
                       no_refresh=refresh and ";norefresh" in rest)
    for word, fmt in ((";csv", "csv"), (";typed", "typed"), (";json", "json"), (";json-schema", "json-schema")):
        if word in rest:
            opts.fmt = fmt
    at = rest.find(";st=")
    if at >= 0 and len(rest) - at >= 8:
        code = rest[at + 4:at + 8]
        opts.st = code if code in ST_CODES else "UNKN"
    at = rest.find("scope=")
    if at >= 0 and len(rest) - at >= 8:
        text = rest[at + 6:]
        end = next((i for i, c in enumerate(text) if c in ";& "), len(text))
        text = text[:min(end, SCOPE_MAXLEN)]
        if text and all(c.isascii() and (c.isalnum() or c in "_:.-") for c in text):
            opts.scope = text
    return opts


# ============================================================================ the applet

@dataclass
class _PageCtx:
    """The context the Runtime API's apply_* functions expect, for a POST without a daemon ctx."""

    runtime: Any
    emit: Log | None
    unchecked_health: dict = field(default_factory=dict)

    def log(self, level: str, message: str) -> None:
        if self.emit is not None:
            self.emit(level, message)


class StatsApplet:
    """Built once per proxy that has `stats` lines."""

    def __init__(self, proxy: Proxy, global_: Any = None) -> None:
        st = proxy.stats
        self.proxy = proxy
        self.uri: str = st.get("uri", DEFAULT_URI)
        self.realm: str = st.get("realm", DEFAULT_REALM)
        self.credentials = {a.encode("utf-8", "surrogateescape") for a in st.get("auth", [])}
        self.refresh = int(st.get("refresh") or 0)
        self.legends = bool(st.get("show-legends"))
        self.hide_version = bool(st.get("hide-version"))
        self.scopes: list[str] = list(st.get("scope", []))
        self.admin_rules: list[Any] = list(st.get("admin", []))
        self.node: str | None = st.get("show-node")
        self.desc: str | None = st.get("show-desc")
        self.global_ = global_

    # --- matching (http_ana.c stats_check_uri) --------------------------------------------

    def matches(self, target: str, method: str | None = None) -> bool:
        """Whether the request is for this page: GET, HEAD or POST (others go to the backend),
        and the URI (its path when the prefix starts with '/') starts with the prefix."""
        if method is not None and method not in ("GET", "HEAD", "POST"):
            return False
        return _uri_part(target, self.uri).startswith(self.uri)

    # --- the answer -------------------------------------------------------------------------

    def respond(self, method: str, target: Any, headers: Any = None, body: Any = b"", runtime: Any = None,
                now: float = 0.0, info: ProcessInfo | None = None, log: Log | None = None, *,
                ctx: Any = None) -> Reply:
        """Answer one request for the stats URI.

        `headers`: the request's RequestView (admin conditions need it), or a mapping / list of
        header pairs. `body`: the POST body. `info`: process facts for the page header. `log`:
        receives (syslog level, message) for the state changes a POST makes. `ctx`: the daemon's
        AdminContext, if any (shared hooks; `log` is then unused)."""
        view = _as_view(headers, method, target)
        if self.credentials and not self._authorized(view.header("authorization")):
            return self._unauthorized()
        opts = parse_options(_uri_part(target, self.uri)[len(self.uri):], bool(self.refresh))
        opts.admin = any(eval_condition(rule, view) for rule in self.admin_rules)
        if method == "POST":
            code = self._post(bytes(body), opts, runtime, now, ctx or _PageCtx(runtime, log))
            return self._redirect(code, opts)
        if method not in ("GET", "HEAD"):
            return self._redirect("IVAL", opts)
        reply = self._page(opts, runtime, now, info or ProcessInfo())
        if method == "HEAD":
            return reply[0], reply[1], b""
        return reply

    def _authorized(self, authorization: str | None) -> bool:
        if not authorization or authorization[:6].lower() != "basic ":
            return False
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return decoded in self.credentials

    def _unauthorized(self) -> Reply:
        raw = error_response(401)
        body = raw[raw.index(b"\r\n\r\n") + 4:]
        headers = [(b"content-length", str(len(body)).encode()), (b"cache-control", b"no-cache"),
                   (b"content-type", b"text/html"),
                   (b"www-authenticate", f'Basic realm="{self.realm}"'.encode("latin-1", "replace"))]
        return 401, headers, body

    def _redirect(self, code: str, opts: PageOptions) -> Reply:
        location = f"{self.uri};st={code}{opts.suffix()}"
        return 303, [(b"cache-control", b"no-cache"), (b"content-type", b"text/plain"),
                     (b"content-length", b"0"), (b"location", location.encode("latin-1", "replace"))], b""

    def _page(self, opts: PageOptions, runtime: Any, now: float, info: ProcessInfo) -> Reply:
        rows = [r for r in iter_rows(runtime, now, StatFilter(hide_down=opts.hide_down, hide_maint=opts.hide_maint),
                                     legends=self.legends) if self._in_scope(r.proxy, opts)]
        ctype = {"html": b"text/html", "json": b"application/json", "json-schema": b"application/json"}
        if opts.fmt == "csv":
            text = header_line() + "".join(row_line(r) for r in rows)
        elif opts.fmt == "typed":
            text = "".join(line for r in rows for line in stat_typed_lines(r))
        elif opts.fmt == "json":
            text = "[" + ",".join(stat_object_json(r) for r in rows) + "]\n"
        elif opts.fmt == "json-schema":
            text = render_schema_json(block=False)
        else:
            text = HtmlPage(self, opts, runtime, now, info).render(rows)
        body = text.encode("utf-8" if opts.fmt != "html" else "latin-1", "replace")
        headers = [(b"cache-control", b"no-cache"), (b"content-type", ctype.get(opts.fmt, b"text/plain"))]
        if self.refresh and not opts.no_refresh:
            headers.append((b"refresh", str(self.refresh).encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        return 200, headers, body

    def _in_scope(self, proxy: Proxy, opts: PageOptions) -> bool:
        """`stats scope` (exact names, '.' for this proxy) and the form's scope (substring)."""
        if self.scopes and not any(s == proxy.name or (s == "." and proxy is self.proxy) for s in self.scopes):
            return False
        return not opts.scope or opts.scope.lower() in proxy.name.lower()

    # --- POST (stats_process_http_post) ---------------------------------------------------

    def _post(self, body: bytes, opts: PageOptions, runtime: Any, now: float, ctx: Any) -> str:
        if not opts.admin:
            return "DENY"
        g = getattr(getattr(runtime, "config", None), "global_", None)
        if g is not None:
            limit = g.tune_bufsize - int(g.settings.get("tune.maxrewrite", 1024) or 1024)
            if len(body) > limit:
                return "EXCD"
        return apply_post(body, runtime, now, ctx)


# ============================================================================ POST processing

_KNOWN_ACTIONS = {"ready", "drain", "maint", "shutdown", "dhlth", "ehlth", "hrunn", "hnolb", "hdown",
                  "dagent", "eagent", "arunn", "adown", "disable", "enable", "stop", "start"}


def parse_form(body: bytes) -> list[tuple[str, str]] | None:
    """`k=v&k=v` url-decoded ('+' is a space, as url_decode(.., 1)); None on a bad %-escape."""
    pairs = []
    for part in body.split(b"&"):
        key, _, value = part.partition(b"=")
        try:
            k, v = (_url_decode(x) for x in (key, value))
        except ValueError:
            return None
        pairs.append((k, v))
    return pairs


def _url_decode(raw: bytes) -> str:
    raw = raw.replace(b"+", b" ")
    i = raw.find(b"%")
    while i >= 0:
        if len(raw) < i + 3 or not all(c in b"0123456789abcdefABCDEF" for c in raw[i + 1:i + 3]):
            raise ValueError("bad escape")
        i = raw.find(b"%", i + 3)
    return unquote_to_bytes(raw).decode("latin-1")


def apply_post(body: bytes, runtime: Any, now: float, ctx: Any) -> str:
    """Apply the admin form's fields; the `;st=` code. As HAProxy, the body is read from its
    end: the last `b` and the last `action` count, and an unknown one is ERRP at once."""
    pairs = parse_form(body)
    if pairs is None:
        return "NONE"
    backend = action = None
    for key, value in reversed(pairs):
        if key == "b" and backend is None:
            backend = find_backend(runtime, value)
            if backend is None:
                return "ERRP"
        elif key == "action" and action is None:
            if value not in _KNOWN_ACTIONS:
                return "ERRP"
            action = value
    if backend is None or action is None:
        return "NONE"
    total = altered = 0
    for key, value in reversed(pairs):
        if key != "s":
            continue
        total += 1
        server = find_in_backend(backend, value) if not value.startswith("#") else None
        if server is not None and _ACTIONS[action](ctx, backend, server, now):
            altered += 1
        elif server is not None:
            total -= 1  # HAProxy counts a known server only when the action applies to it
    if total == 0:
        return "NONE"
    if altered == 0:
        return "ERRP"
    return "DONE" if altered == total else "PART"


def _log(ctx: Any, lines: list[tuple[str, str]]) -> None:
    for level, text in lines:
        ctx.log(level, text.replace("changed from CLI", "changed from Web interface"))


def _admin(action: str, only_if: Callable[[Any], bool] | None = None) -> Callable[..., bool]:
    def run(ctx: Any, backend: Any, server: Any, now: float) -> bool:
        if only_if is not None and not only_if(server):
            return False
        _log(ctx, apply_admin(ctx, backend, server, action, now))
        return True
    return run


def _health(word: str) -> Callable[..., bool]:
    def run(ctx: Any, backend: Any, server: Any, now: float) -> bool:
        try:
            _log(ctx, apply_health(ctx, backend, server, word, now))
        except CommandError:
            return False
        return True
    return run


def _checks(on: bool) -> Callable[..., bool]:
    def run(ctx: Any, backend: Any, server: Any, now: float) -> bool:
        if server.health is None:  # no check configured: not altered
            return False
        server.set_checks(on)
        return True
    return run


def _agent(ctx: Any, backend: Any, server: Any, now: float) -> bool:
    return False  # trio-lb has no agent checks: never CONFIGURED/ENABLED, so never altered


def _shutdown(ctx: Any, backend: Any, server: Any, now: float) -> bool:
    if backend.spec.disabled:
        return False
    ctx.runtime.streams.kill_on_server(server)
    return True


# action -> f(ctx, backend, server, now) -> altered
_ACTIONS: dict[str, Callable[..., bool]] = {
    "ready": _admin("ready"), "drain": _admin("drain"), "maint": _admin("maint"),
    "disable": _admin("maint", lambda s: s.admin != MAINT),
    "enable": _admin("ready", lambda s: s.admin == MAINT),
    "stop": _admin("drain", lambda s: s.admin != DRAIN),
    "start": _admin("ready", lambda s: s.admin == DRAIN),
    "dhlth": _checks(False), "ehlth": _checks(True),
    "hrunn": _health("up"), "hnolb": _health("stopping"), "hdown": _health("down"),
    "dagent": _agent, "eagent": _agent, "arunn": _agent, "adown": _agent,
    "shutdown": _shutdown,
}


# ============================================================================ helpers

def _uri_part(target: str, prefix: str) -> str:
    """The part of the request URI compared with a prefix: the path (with its query) of an
    absolute URI when the prefix starts with '/', else the URI as is."""
    if prefix.startswith("/") and not target.startswith("/"):
        scheme = target.find("://")
        if scheme > 0:
            slash = target.find("/", scheme + 3)
            return target[slash:] if slash >= 0 else ""
    return target


def _as_view(headers: Any, method: str, target: str) -> RequestView:
    if isinstance(headers, RequestView):
        return headers
    if headers is None:
        pairs: list[tuple[bytes, bytes]] = []
    elif isinstance(headers, Mapping):
        pairs = [(_b(k), _b(v)) for k, v in headers.items()]
    else:
        pairs = [(_b(k), _b(v)) for k, v in headers]
    return RequestView("0.0.0.0", 0, "0.0.0.0", 0, method=method, target=target, headers=pairs)


def _b(x: Any) -> bytes:
    return x if isinstance(x, bytes) else str(x).encode("latin-1", "replace")
