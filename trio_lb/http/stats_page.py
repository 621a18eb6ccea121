"""The stats applet of a proxy with `stats enable` / `stats uri` (HAProxy's `/haproxy?stats`).

Pure: a request's target and Authorization header in, (status, headers, body) out. Answers:
* `<uri>;csv` (plus `;up`, `;no-maint`): the same CSV as `show stat`, as HAProxy's page serves it;
* `<uri>` otherwise: an HTML report with one table per proxy (frontend, servers, backend rows);
* `stats auth` set and no valid Basic credentials: HAProxy's 401 with the realm; a bad password
  never reaches the page.
Headers and 401 body are byte-compatible with HAProxy 2.6 (checked with curl against 2.6.12).
"""

from __future__ import annotations

import base64
import binascii
import html
from typing import Any

from trio_lb import __version__
from trio_lb.config.model import Proxy
from trio_lb.http.errorpages import error_response
from trio_lb.stats import BY_NAME, StatFilter, iter_rows, render_csv

DEFAULT_URI = "/haproxy?stats"
DEFAULT_REALM = "HAProxy Statistics"

Reply = tuple[int, list[tuple[bytes, bytes]], bytes]

# the columns of the HTML tables: (heading, column name)
_HTML_COLUMNS = [
    ("Name", "svname"), ("Status", "status"), ("Weight", "weight"), ("Act", "act"), ("Bck", "bck"),
    ("Cur", "scur"), ("Max", "smax"), ("Limit", "slim"), ("Total", "stot"), ("LbTot", "lbtot"),
    ("Queue", "qcur"), ("Bytes in", "bin"), ("Bytes out", "bout"), ("Req err", "ereq"),
    ("Conn err", "econ"), ("Resp err", "eresp"), ("Retr", "wretr"), ("Redis", "wredis"),
    ("Check", "check_status"), ("Chk", "chkfail"), ("Dwn", "chkdown"), ("LastChg", "lastchg"),
]


class StatsApplet:
    """Built once per proxy that has `stats` lines."""

    def __init__(self, proxy: Proxy) -> None:
        st = proxy.stats
        self.proxy = proxy
        self.uri = st.get("uri", DEFAULT_URI)
        self.realm = st.get("realm", DEFAULT_REALM)
        self.credentials = {base64.b64encode(a.encode()).decode() for a in st.get("auth", [])}
        self.refresh = st.get("refresh")
        self.legends = bool(st.get("show-legends"))
        self.hide_version = bool(st.get("hide-version"))

    def matches(self, target: str) -> bool:
        return target.startswith(self.uri)

    def respond(self, target: str, authorization: str | None, runtime: Any, now: float) -> Reply:
        if self.credentials and not self._authorized(authorization):
            return self._unauthorized()
        options = set(target[len(self.uri):].split(";")[1:])
        flt = StatFilter(hide_down="up" in options, hide_maint="no-maint" in options)
        headers = [(b"cache-control", b"no-cache")]
        if "csv" in options:
            body = render_csv(runtime, now, filter=flt, legends=self.legends, block=False).encode()
            headers.append((b"content-type", b"text/plain"))
        else:
            body = self._html(runtime, now, flt).encode("latin-1", "replace")
            headers.append((b"content-type", b"text/html"))
        if self.refresh and "norefresh" not in options:
            headers.append((b"refresh", str(int(self.refresh)).encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        return 200, headers, body

    def _authorized(self, authorization: str | None) -> bool:
        if not authorization or not authorization[:6].lower() == "basic ":
            return False
        token = authorization[6:].strip()
        try:
            base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):
            return False
        return token in self.credentials

    def _unauthorized(self) -> Reply:
        raw = error_response(401)
        body = raw[raw.index(b"\r\n\r\n") + 4:]
        headers = [(b"content-length", str(len(body)).encode()), (b"cache-control", b"no-cache"),
                   (b"content-type", b"text/html"),
                   (b"www-authenticate", f'Basic realm="{self.realm}"'.encode())]
        return 401, headers, body

    def _html(self, runtime: Any, now: float, flt: StatFilter) -> str:
        tables: dict[str, list[Any]] = {}
        for row in iter_rows(runtime, now, flt, legends=self.legends):
            if row.kind != "L":
                tables.setdefault(row.proxy.name, []).append(row)
        version = "" if self.hide_version else f" version {__version__}"
        parts = [_HEAD.format(refresh=""), f"<h1>trio-lb{version}</h1>",
                 f"<p>pid = {runtime.pid}; uptime = {int(now - runtime.start_time)}s; "
                 f"current conns = {runtime.actconn}</p>"]
        for name, rows in tables.items():
            parts.append(_table(name, rows))
        parts.append("</body></html>\n")
        return "\n".join(parts)


def _table(name: str, rows: list[Any]) -> str:
    head = "".join(f"<th>{h}</th>" for h, _ in _HTML_COLUMNS)
    lines = [f'<table class="px"><caption>{html.escape(name)}</caption><tr>{head}</tr>']
    for row in rows:
        values = [BY_NAME[col].value(row) if row.kind in BY_NAME[col].rows else "" for _, col in _HTML_COLUMNS]
        status = str(values[1] or "")
        cells = "".join(f"<td>{html.escape(str(v if v is not None else ''))}</td>" for v in values)
        lines.append(f'<tr class="{_status_class(row.kind, status)}">{cells}</tr>')
    lines.append("</table>")
    return "\n".join(lines)


def _status_class(kind: str, status: str) -> str:
    if kind == "F":
        return "frontend"
    if kind == "B":
        return "backend " + ("up" if status.startswith("UP") else "down")
    word = status.split(" ")[0].lower()
    going = " going" if "/" in status else ""
    return {"up": "up", "down": "down", "maint": "maint", "drain": "drain", "no": "nocheck"}.get(word, "other") + going


_HEAD = """<!DOCTYPE html>
<html><head><title>Statistics Report for trio-lb</title>{refresh}
<meta http-equiv="content-type" content="text/html; charset=iso-8859-1">
<style>
body {{ font-family: arial, helvetica, sans-serif; font-size: 12px; }}
table.px {{ border-collapse: collapse; margin-bottom: 1.5em; }}
table.px caption {{ text-align: left; font-weight: bold; background: #7070c0; color: #fff; padding: 2px 6px; }}
table.px th, table.px td {{ border: 1px solid #999; padding: 1px 5px; text-align: right; }}
table.px td:first-child, table.px td:nth-child(2) {{ text-align: left; }}
tr.frontend, tr.backend {{ background: #e8e8d0; font-weight: bold; }}
tr.up {{ background: #c0ffc0; }} tr.up.going {{ background: #ffffa0; }}
tr.down {{ background: #ff9090; }} tr.down.going {{ background: #ffd020; }}
tr.maint {{ background: #c07820; }} tr.drain {{ background: #20a0ff; }} tr.nocheck {{ background: #e0e0e0; }}
</style></head><body>"""
