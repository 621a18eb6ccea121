"""The HTML of the stats page, as HAProxy 2.6 lays it out (src/stats.c stats_dump_html_*).

`HtmlPage` renders one page for a StatsApplet (trio_lb/http/stats_page.py, which parses the
request and answers the other formats): the header with the process information, the legend,
one table per proxy with its frontend, server and backend rows, the status classes HAProxy's CSS
uses (`active_up`, `active_going_down`, `backup_draining`, `maintain`, ...), the tips, and the
admin form when the request has admin rights. Every proxy, server and user text is escaped.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from trio_lb.config.model import Proxy
from trio_lb.stats import ProcessInfo, Row
from trio_lb.stats.columns import header_names, values
from trio_lb.stats.info import VERSION, info_values

if TYPE_CHECKING:  # pragma: no cover
    from trio_lb.http.stats_page import PageOptions, StatsApplet

SCOPE_MAXLEN = 20  # STAT_SCOPE_TXT_MAXLEN
PRODUCT_URL = "http://www.haproxy.org/"

# `;st=` codes and their banner: (css class of the div, message HTML)
STATUS_BANNERS: dict[str, tuple[str, str]] = {
    "DONE": ("active_up", "Action processed successfully."),
    "NONE": ("active_going_down", "Nothing has changed."),
    "PART": ("active_going_down", ("Action partially processed.<br>"
             "Some server names are probably unknown or ambiguous (duplicated names in the backend).")),
    "ERRP": ("active_down", ("Action not processed because of invalid parameters.<ul>"
             "<li>The action is maybe unknown.</li><li>Invalid key parameter (empty or too long).</li>"
             "<li>The backend name is probably unknown or ambiguous (duplicated names).</li>"
             "<li>Some server names are probably unknown or ambiguous (duplicated names in the backend).</li>"
             "</ul>")),
    "EXCD": ("active_down", ("<b>Action not processed : the buffer couldn't store all the data.<br>"
             "You should retry with less servers at a time.</b>")),
    "DENY": ("active_down", "<b>Action denied.</b>"),
    "IVAL": ("active_down", "<b>Invalid requests (unsupported method or chunked encoded request).</b>"),
    "UNKN": ("active_no_check", "Unexpected result."),
}

# the admin form's <select>: (value, label)
FORM_ACTIONS = [
    ("", ""), ("ready", "Set state to READY"), ("drain", "Set state to DRAIN"), ("maint", "Set state to MAINT"),
    ("dhlth", "Health: disable checks"), ("ehlth", "Health: enable checks"), ("hrunn", "Health: force UP"),
    ("hnolb", "Health: force NOLB"), ("hdown", "Health: force DOWN"), ("dagent", "Agent: disable checks"),
    ("eagent", "Agent: enable checks"), ("arunn", "Agent: force UP"), ("adown", "Agent: force DOWN"),
    ("shutdown", "Kill Sessions"),
]


def u2h(n: Any) -> str:
    """HAProxy's U2H(): the number with every thousands digit in <span class="rls">."""
    digits = str(int(n or 0))
    out = []
    for i, d in enumerate(reversed(digits)):
        out.append(f'<span class="rls">{d}</span>' if i % 3 == 0 and i else d)
    return "".join(reversed(out))


def lim(n: Any, alt: str = "-") -> str:
    """LIM2A(): the number, or `alt` when it is 0 / unset."""
    return str(n) if n not in (None, "", 0) else alt


def human_time(t: Any) -> str:
    """human_time(t, 1): the two most significant of d/h/m/s, '0s' for zero, '?' if negative."""
    if t in (None, "") or int(t) < 0:
        return "?"
    t = int(t)
    out, cnt = "", 2
    if t >= 86400:
        out, cnt = f"{t // 86400}d", 1
    if cnt and t % 86400 // 3600:
        out, cnt = out + f"{t % 86400 // 3600}h", cnt - 1
    if cnt and t % 3600 // 60:
        out, cnt = out + f"{t % 3600 // 60}m", cnt - 1
    if (cnt and t % 60) or not t:
        out += f"{t % 60}s"
    return out


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _n(f: dict[str, Any], name: str) -> int:
    v = f.get(name)
    return int(v) if v not in (None, "") else 0


def _has(f: dict[str, Any], name: str) -> bool:
    return f.get(name) not in (None, "")


def _tips(head: str, rows: list[str]) -> str:
    return f"<u>{head}<div class=tips><table class=det>{''.join(rows)}</table></div></u>"


def _tr(label: str, value: str, extra: str | None = None) -> str:
    tail = f"<td>{extra}</td>" if extra is not None else ""
    return f"<tr><th>{label}</th><td>{value}</td>{tail}</tr>"


def _pct(a: int, b: int) -> str:
    return f"({100 * a // b if b else 0}%)"


# ============================================================================ the HTML page

class HtmlPage:
    """One rendering of the HTML report (stats_dump_html_head/info/px_hdr/fields/px_end)."""

    def __init__(self, applet: StatsApplet, opts: PageOptions, runtime: Any, now: float, info: ProcessInfo) -> None:
        self.a = applet
        self.opts = opts
        self.runtime = runtime
        self.now = now
        self.info = {f.name: v for f, v in info_values(runtime, now, info)}
        self.names = header_names(modules=False)

    def render(self, rows: list[Row]) -> str:
        parts = [self.head(), self.process_info()]
        proxy = None
        for row in rows:
            if row.proxy is not proxy:
                if proxy is not None:
                    parts.append(self.px_end(proxy))
                proxy = row.proxy
                parts.append(self.px_head(proxy))
            parts.append(self.row(row))
        if proxy is not None:
            parts.append(self.px_end(proxy))
        parts.append("</body></html>\n")
        return "".join(parts)

    # --- head and process information ---------------------------------------------------

    def _node(self) -> str:
        if self.a.node is None:
            return ""
        return " on " + esc(self.a.node or self.info.get("node") or "")

    def head(self) -> str:
        return (f'<!DOCTYPE html>\n<html><head><title>Statistics Report for HAProxy{self._node()}</title>\n'
                '<link rel="icon" href="data:,">\n'
                '<meta http-equiv="content-type" content="text/html; charset=iso-8859-1">\n'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">\n{STYLE}</head>\n')

    def process_info(self) -> str:
        i, o, uri = self.info, self.opts, esc(self.a.uri)
        version = "" if self.a.hide_version else f" version {esc(VERSION)}, released {esc(i.get('Release_date'))}"
        desc = ""
        if self.a.desc is not None:
            desc = ": " + esc(self.a.desc or (self.a.global_.description if self.a.global_ else "") or "")
        up = _n(i, "Uptime_sec")
        bps = _n(i, "BytesOutRate") * 8 * 1538 // 1448
        rate, unit = (bps / 1e9, "G") if bps >= 10**9 else (bps / 1e6, "M") if bps >= 10**6 else (bps / 1e3, "k")
        memmax = _n(i, "Memmax_MB")
        links = [(f'<li><form method="GET">Scope : <input value="{esc(o.scope)}" name="scope" size="8" '
                 f'maxlength="{SCOPE_MAXLEN}" tabindex="1"/></form>\n')]
        if o.hide_down:
            links.append(f'<li><a href="{uri}{o.suffix(up=False)}">Show all servers</a><br>\n')
        else:
            links.append(f'<li><a href="{uri}{o.suffix(up=True)}">Hide \'DOWN\' servers</a><br>\n')
        if self.a.refresh:
            if o.no_refresh:
                links.append(f'<li><a href="{uri}{o.suffix(norefresh=False)}">Enable refresh</a><br>\n')
            else:
                links.append(f'<li><a href="{uri}{o.suffix(norefresh=True)}">Disable refresh</a><br>\n')
        links.append(f'<li><a href="{uri}{o.suffix()}">Refresh now</a><br>\n')
        nr = ";norefresh" if self.a.refresh else ""
        links.append(f'<li><a href="{uri};csv{nr}{o.scope_query()}">CSV export</a><br>\n')
        links.append(f'<li><a href="{uri};json{nr}{o.scope_query()}">JSON export</a> '
                     f'(<a href="{uri};json-schema">schema</a>)<br>\n')
        legend = "".join(
            f'<tr><td class="{c1}">&nbsp;</td><td class="noborder">{t1}</td>'
            + (f'<td class="{c2}">&nbsp;</td><td class="noborder">{t2}</td>' if c2 else "")
            + "</tr>\n"
            for c1, t1, c2, t2 in _LEGEND)
        out = [
            f'<body><h1><a href="{PRODUCT_URL}" style="text-decoration: none;">HAProxy{version}</a></h1>\n',
            f'<h2>Statistics Report for pid {i.get("Pid")}{self._node()}{desc}</h2>\n',
            '<hr width="100%" class="hr">\n<h3>&gt; General process information</h3>\n',
            '<table border=0 class="info"><tr><td align="left" nowrap width="1%">\n',
            f'<p><b>pid = </b> {i.get("Pid")} (process #1, nbproc = 1, nbthread = {i.get("Nbthread")})<br>\n',
            f'<b>uptime = </b> {up // 86400}d {up % 86400 // 3600}h{up % 3600 // 60:02d}m{up % 60:02d}s<br>\n',
            (f'<b>system limits:</b> memmax = {str(memmax) + " MB" if memmax else "unlimited"}; '
            f'ulimit-n = {i.get("Ulimit-n")}<br>\n'),
            (f'<b>maxsock = </b> {i.get("Maxsock")}; <b>maxconn = </b> {i.get("Maxconn")}; '
            f'<b>maxpipes = </b> {i.get("Maxpipes")}<br>\n'),
            (f'current conns = {i.get("CurrConns")}; current pipes = {_n(i, "PipesUsed")}/'
            f'{_n(i, "PipesUsed") + _n(i, "PipesFree")}; conn rate = {i.get("ConnRate")}/sec; '
            f'bit rate = {rate:.3f} {unit}bps<br>\n'),
            f'Running tasks: {i.get("Run_queue")}/{i.get("Tasks")}; idle = {i.get("Idle_pct")} %<br>\n',
            f'</td><td align="center" nowrap>\n<table class="lgd">{legend}</table>\n',
            'Note: "NOLB"/"DRAIN" = UP with load-balancing disabled.</td>',
            ('<td align="left" valign="top" nowrap width="1%"><b>Display option:</b>'
            '<ul style="margin-top: 0.25em;">'), "".join(links), "</ul></td>",
            ('<td align="left" valign="top" nowrap width="1%"><b>External resources:</b>'
            '<ul style="margin-top: 0.25em;">\n'
            f'<li><a href="{PRODUCT_URL}">Primary site</a><br>\n'
            f'<li><a href="{PRODUCT_URL}#down">Updates (v2.6)</a><br>\n'
            f'<li><a href="{PRODUCT_URL}#docs">Online manual</a><br>\n</ul></td></tr></table>\n'),
        ]
        if o.st:
            cls, text = STATUS_BANNERS[o.st]
            out.append(f'<p><div class={cls}><a class=lfsb href="{uri}{o.suffix()}" title="Remove this message">'
                       f'[X]</a> {text}</div>\n<p>\n')
        return "".join(out)

    # --- one proxy's table ----------------------------------------------------------------

    def _form(self, proxy: Proxy) -> bool:
        return self.opts.admin and proxy.has_backend and bool(proxy.servers)

    def px_head(self, proxy: Proxy) -> str:
        name = esc(proxy.name)
        out = ['<form method="post">' if self._form(proxy) else "",
               '<table class="tbl" width="100%">\n<tr class="titre"><th class="pxname" width="10%">',
               f'<a name="{name}"></a>{"<u>" if self.a.legends else ""}<a class=px href="#{name}">{name}</a>']
        if self.a.legends:
            cap = {"frontend": "FE", "backend": "BE", "listen": "FE/BE"}.get(proxy.kind, "")
            out.append(f"<div class=tips>cap: {cap}, mode: {proxy.mode}, id: {proxy.id}</div></u>")
        desc = proxy.stats.get("description")
        out.append(f'</th><th class="{"desc" if desc else "empty"}" width="90%">{esc(desc or "")}</th></tr>\n'
                   '</table>\n<table class="tbl" width="100%">\n<tr class="titre">')
        if self.opts.admin:
            if self._form(proxy):
                out.append('<th rowspan=2 width=1><input type="checkbox" '
                           f"onclick=\"for(c in document.getElementsByClassName('{name}-checkbox')) "
                           f"document.getElementsByClassName('{name}-checkbox').item(c).checked = this.checked\"></th>")
            else:
                out.append("<th rowspan=2></th>")
        out.append(_COLUMN_HEADS)
        return "".join(out)

    def px_end(self, proxy: Proxy) -> str:
        out = ["</table>"]
        if self._form(proxy):
            options = "".join(f'<option value="{v}">{t}</option>' for v, t in FORM_ACTIONS)
            out.append("Choose the action to perform on the checked servers : "
                       f'<select name=action>{options}</select><input type="hidden" name="b" value="#{proxy.id}">'
                       '&nbsp;<input type="submit" value="Apply"></form>')
        out.append("<p>\n")
        return "".join(out)

    # --- rows (stats_dump_fields_html) ----------------------------------------------------

    def row(self, row: Row) -> str:
        f = dict(zip(self.names, values(row, modules=False)))
        render = {"F": self._frontend, "L": self._listener, "S": self._server, "B": self._backend}[row.kind]
        return render(f)

    def _admin_cell(self) -> str:
        return "<td></td>" if self.opts.admin else ""

    def _http(self, f: dict[str, Any]) -> bool:
        return f.get("mode") == "http"

    def _bytes_out(self, f: dict[str, Any]) -> str:
        comp = _n(f, "comp_in") or _n(f, "comp_byp")
        saved = _n(f, "comp_in") - _n(f, "comp_out")
        tips = (f"<div class=tips><table class=det>{_tr('Response bytes in:', u2h(f['bout']))}"
                f"{_tr('Compression in:', u2h(f['comp_in']))}"
                f"{_tr('Compression out:', u2h(f['comp_out']), _pct(_n(f, 'comp_out'), _n(f, 'comp_in')))}"
                f"{_tr('Compression bypass:', u2h(f['comp_byp']))}"
                f"{_tr('Total bytes saved:', u2h(saved), _pct(saved, _n(f, 'bout')))}</table></div>")
        return f"<td>{'<u>' if comp else ''}{u2h(f['bout'])}{tips}{'</u>' if comp else ''}</td>"

    def _frontend(self, f: dict[str, Any]) -> str:
        px, http = esc(f["pxname"]), self._http(f)
        rate = [_tr("Current connection rate:", f"{u2h(f['conn_rate'])}/s"),
                _tr("Current session rate:", f"{u2h(f['rate'])}/s")]
        rmax = [_tr("Max connection rate:", f"{u2h(f['conn_rate_max'])}/s"),
                _tr("Max session rate:", f"{u2h(f['rate_max'])}/s")]
        tot = [_tr("Cum. connections:", u2h(f["conn_tot"])), _tr("Cum. sessions:", u2h(f["stot"]))]
        if http:
            rate.append(_tr("Current request rate:", f"{u2h(f['req_rate'])}/s"))
            rmax.append(_tr("Max request rate:", f"{u2h(f['req_rate_max'])}/s"))
            tot += self._http_tips(f, frontend=True)
        return (f'<tr class="frontend">{self._admin_cell()}<td class=ac><a name="{px}/Frontend"></a>'
                f'<a class=lfsb href="#{px}/Frontend">Frontend</a></td><td colspan=3></td>'
                f"<td>{_tips(u2h(f['rate']), rate)}</td><td>{_tips(u2h(f['rate_max']), rmax)}</td>"
                f"<td>{lim(f['rate_lim'])}</td>"
                f"<td>{u2h(f['scur'])}</td><td>{u2h(f['smax'])}</td><td>{u2h(f['slim'])}</td>"
                f"<td>{_tips(u2h(f['stot']), tot)}</td><td></td><td></td><td>{u2h(f['bin'])}</td>"
                f"{self._bytes_out(f)}<td>{u2h(f['dreq'])}</td><td>{u2h(f['dresp'])}</td>"
                f"<td>{u2h(f['ereq'])}</td><td></td><td></td><td></td><td></td>"
                f"<td class=ac>{esc(f['status'])}</td><td class=ac colspan=8></td></tr>")

    def _http_tips(self, f: dict[str, Any], *, frontend: bool = False, server: bool = False) -> list[str]:
        req = _n(f, "req_tot")
        out = []
        if not frontend:
            out += [_tr("New connections:", u2h(f["connect"])),
                    _tr("Reused connections:", u2h(f["reuse"]), _pct(_n(f, "reuse"), _n(f, "connect") + _n(f, "reuse")))]
        out.append(_tr("Cum. HTTP requests:", u2h(req)))
        for label, col in (("1xx", "hrsp_1xx"), ("2xx", "hrsp_2xx"), ("3xx", "hrsp_3xx"), ("4xx", "hrsp_4xx"),
                           ("5xx", "hrsp_5xx"), ("other", "hrsp_other")):
            text = f"- HTTP {label} responses:" if label != "other" else "- other responses:"
            out.append(_tr(text, u2h(f[col]), _pct(_n(f, col), req) if server else None))
            if label == "2xx" and not server:
                out.append(_tr("&nbsp;&nbsp;Compressed 2xx:", u2h(f["comp_rsp"]),
                               _pct(_n(f, "comp_rsp"), _n(f, "hrsp_2xx"))))
        if frontend:
            out.append(_tr("Intercepted requests:", u2h(f["intercepted"])))
        if not server:
            out += [_tr("Cache lookups:", u2h(f["cache_lookups"])),
                    _tr("Cache hits:", u2h(f["cache_hits"]), _pct(_n(f, "cache_hits"), _n(f, "cache_lookups")))]
        out += [_tr("Failed hdr rewrites:", u2h(f["wrew"])),
                _tr("Internal error:" if server else "Internal errors:", u2h(f["eint"]))]
        return out

    def _times(self, f: dict[str, Any]) -> list[str]:
        out = ["<tr><th colspan=3>Max / Avg over last 1024 success. conn.</th></tr>",
               _tr("- Queue time:", f"{u2h(f['qtime_max'])} / {u2h(f['qtime'])}", "ms"),
               _tr("- Connect time:", f"{u2h(f['ctime_max'])} / {u2h(f['ctime'])}", "ms")]
        if self._http(f):
            out.append(_tr("- Responses time:", f"{u2h(f['rtime_max'])} / {u2h(f['rtime'])}", "ms"))
        out.append(_tr("- Total time:", f"{u2h(f['ttime_max'])} / {u2h(f['ttime'])}", "ms"))
        return out

    def _listener(self, f: dict[str, Any]) -> str:
        px, sv = esc(f["pxname"]), esc(f["svname"])
        tips = ""
        if self.a.legends:
            tips = f"<div class=tips>{self._addr(f)}id: {f['sid']}</div>"
        return (f"<tr class=socket>{self._admin_cell()}<td class=ac><a name=\"{px}/+{sv}\"></a>"
                f"{'<u>' if self.a.legends else ''}<a class=lfsb href=\"#{px}/+{sv}\">{sv}</a>{tips}"
                f"{'</u>' if self.a.legends else ''}</td><td colspan=3></td><td colspan=3>&nbsp;</td>"
                f"<td>{u2h(f['scur'])}</td><td>{u2h(f['smax'])}</td><td>{u2h(f['slim'])}</td>"
                f"<td>{u2h(f['stot'])}</td><td>&nbsp;</td><td>&nbsp;</td><td>{u2h(f['bin'])}</td>"
                f"<td>{u2h(f['bout'])}</td><td>{u2h(f['dreq'])}</td><td>{u2h(f['dresp'])}</td>"
                f"<td>{u2h(f['ereq'])}</td><td></td><td></td><td></td><td></td>"
                f"<td class=ac>{esc(f['status'])}</td><td class=ac colspan=8></td></tr>")

    @staticmethod
    def _addr(f: dict[str, Any]) -> str:
        addr = str(f.get("addr") or "")
        if addr[:1].isdigit():
            return f"IPv4: {esc(addr)}, "
        if addr.startswith("["):
            return f"IPv6: {esc(addr)}, "
        return f"{esc(addr)}, " if addr else ""

    def _server(self, f: dict[str, Any]) -> str:
        px, sv, status = esc(f["pxname"]), esc(f["svname"]), str(f["status"])
        cls = server_class(f)
        checkbox = (f"<td><input class='{px}-checkbox' type=\"checkbox\" name=\"s\" value=\"{sv}\"></td>"
                    if self.opts.admin else "")
        tips = ""
        if self.a.legends:
            cookie = f", cookie: '{esc(f['cookie'])}'" if _has(f, "cookie") else ""
            tips = f"<div class=tips>{self._addr(f)}id: {f['sid']}{cookie}</div>"
        conns = [_tr("Current active connections:", u2h(f["scur"])),
                 _tr("Current used connections:", u2h(f["used_conn_cur"])),
                 _tr("Current idle connections:", u2h(f["srv_icur"])),
                 _tr("- unsafe:", u2h(f["idle_conn_cur"])), _tr("- safe:", u2h(f["safe_conn_cur"])),
                 _tr("Estimated need of connections:", u2h(f["need_conn_est"])),
                 _tr("Active connections limit:", lim(f["slim"])),
                 _tr("Idle connections limit:", u2h(f["src_ilim"]) if _has(f, "src_ilim") else "-")]
        tot = [_tr("Cum. sessions:", u2h(f["stot"]))]
        if self._http(f):
            tot += self._http_tips(f, server=True)
        tot += self._times(f)
        return (f'<tr class="{cls}">{checkbox}<td class=ac><a name="{px}/{sv}"></a>'
                f"{'<u>' if self.a.legends else ''}<a class=lfsb href=\"#{px}/{sv}\">{sv}</a>{tips}"
                f"{'</u>' if self.a.legends else ''}</td>"
                f"<td>{u2h(f['qcur'])}</td><td>{u2h(f['qmax'])}</td><td>{lim(f['qlimit'])}</td>"
                f"<td>{u2h(f['rate'])}</td><td>{u2h(f['rate_max'])}</td><td></td>"
                f"<td>{_tips(u2h(f['scur']), conns)}</td><td>{u2h(f['smax'])}</td><td>{lim(f['slim'])}</td>"
                f"<td>{_tips(u2h(f['stot']), tot)}</td><td>{u2h(f['lbtot'])}</td>"
                f"<td>{human_time(f['lastsess'])}</td><td>{u2h(f['bin'])}</td><td>{u2h(f['bout'])}</td>"
                f"<td></td><td>{u2h(f['dresp'])}</td><td></td><td>{u2h(f['econ'])}</td>"
                f"<td><u>{u2h(f['eresp'])}<div class=tips>Connection resets during transfers: "
                f"{_n(f, 'cli_abrt')} client, {_n(f, 'srv_abrt')} server</div></u></td>"
                f"<td>{_n(f, 'wretr')}</td><td>{_n(f, 'wredis')}</td>"
                f"<td class=ac>{self._server_status(f, status)}</td>"
                f"<td class=ac>{_n(f, 'weight')}/{_n(f, 'uweight')}</td>"
                f"<td class=ac>{'-' if _n(f, 'bck') else 'Y'}</td><td class=ac>{'Y' if _n(f, 'bck') else '-'}</td>"
                f"{self._server_checks(f, status)}"
                f"{'<td class=ac>' + str(f['throttle']) + ' %</td>' if _has(f, 'throttle') else '<td class=ac>-</td>'}"
                "</tr>\n")

    @staticmethod
    def _server_status(f: dict[str, Any], status: str) -> str:
        """The Status cell (last change + state + arrow), then the LastChk cell's opening."""
        if status.startswith("MAINT"):
            out = f"{human_time(f['lastchg'])} MAINT"
        elif status == "no check":
            out = "<i>no check</i>"
        else:
            out = f"{human_time(f['lastchg'])} {esc(status)}"
            full = _n(f, "check_rise") + _n(f, "check_fall") - 1
            if status.startswith("DOWN"):
                out += " &uarr;" if _n(f, "check_health") else ""
            elif _has(f, "check_health") and _n(f, "check_health") < full:
                out += " &darr;"
        if _has(f, "check_status"):
            out += f"</td><td class=ac><u> {esc(f['check_status'])}"
            if _has(f, "check_code"):
                out += f"/{f['check_code']}"
            if _has(f, "check_duration"):
                out += f" in {f['check_duration']}ms"
            out += f"<div class=tips>{esc(f['check_desc'])}"
            if f.get("last_chk"):
                out += ": " + esc(f["last_chk"])
            out += "</div></u>"
        else:
            out += "</td><td>"
        return out

    @staticmethod
    def _server_checks(f: dict[str, Any], status: str) -> str:
        if status == "MAINT (resolution)":
            return "<td class=ac colspan=3>resolution</td>"
        if _has(f, "chkfail"):
            hana = f"/{f['hanafail']}" if _has(f, "hanafail") else ""
            label = "/Health Analyses" if hana else ""
            return (f"<td><u>{_n(f, 'chkfail')}{hana}<div class=tips>Failed Health Checks{label}</div></u></td>"
                    f"<td>{_n(f, 'chkdown')}</td><td>{human_time(f['downtime'])}</td>")
        if status != "MAINT" and _has(f, "tracked"):
            t = esc(f["tracked"])
            return f"<td class=ac colspan=3><a class=lfsb href=\"#{t}\">via {t}</a></td>"
        return "<td colspan=3></td>"

    def _backend(self, f: dict[str, Any]) -> str:
        px, status = esc(f["pxname"]), str(f["status"])
        tips = ""
        if self.a.legends:
            cookie = f", cookie: '{esc(f['cookie'])}'" if _has(f, "cookie") else ""
            tips = f"<div class=tips>balancing: {esc(f['algo'])}{cookie}</div>"
        tot = [_tr("Cum. sessions:", u2h(f["stot"]))]
        if self._http(f):
            tot += self._http_tips(f)
        tot += self._times(f)
        shown = '<font color="red"><b>DOWN</b></font>' if status == "DOWN" else esc(status)
        downtime = human_time(f["downtime"]) if _has(f, "downtime") else "&nbsp;"
        return (f'<tr class="backend">{self._admin_cell()}<td class=ac>{"<u>" if self.a.legends else ""}'
                f'<a name="{px}/Backend"></a><a class=lfsb href="#{px}/Backend">Backend</a>{tips}'
                f"{'</u>' if self.a.legends else ''}</td>"
                f"<td>{u2h(f['qcur'])}</td><td>{u2h(f['qmax'])}</td><td></td>"
                f"<td>{u2h(f['rate'])}</td><td>{u2h(f['rate_max'])}</td><td></td>"
                f"<td>{u2h(f['scur'])}</td><td>{u2h(f['smax'])}</td><td>{u2h(f['slim'])}</td>"
                f"<td>{_tips(u2h(f['stot']), tot)}</td><td>{u2h(f['lbtot'])}</td>"
                f"<td>{human_time(f['lastsess'])}</td><td>{u2h(f['bin'])}</td>{self._bytes_out(f)}"
                f"<td>{u2h(f['dreq'])}</td><td>{u2h(f['dresp'])}</td><td></td><td>{u2h(f['econ'])}</td>"
                f"<td><u>{u2h(f['eresp'])}<div class=tips>Connection resets during transfers: "
                f"{_n(f, 'cli_abrt')} client, {_n(f, 'srv_abrt')} server</div></u></td>"
                f"<td>{_n(f, 'wretr')}</td><td>{_n(f, 'wredis')}</td>"
                f"<td class=ac>{human_time(f['lastchg'])} {shown}</td><td class=ac>&nbsp;</td>"
                f"<td class=ac>{_n(f, 'weight')}/{_n(f, 'uweight')}</td>"
                f"<td class=ac>{_n(f, 'act')}</td><td class=ac>{_n(f, 'bck')}</td>"
                f"<td class=ac>&nbsp;</td><td>{_n(f, 'chkdown')}</td><td>{downtime}</td><td></td></tr>")


def server_class(f: dict[str, Any]) -> str:
    """The row class of a server, from its `show stat` fields (stats_dump_fields_html())."""
    status = str(f.get("status") or "")
    if status.startswith("MAINT"):
        return "maintain"
    if status in ("DOWN", "DOWN (agent)"):
        style = "down"
    elif status.startswith("DOWN "):
        style = "going_up"
    elif status == "DRAIN":
        style = "draining"
    elif status.startswith("NOLB "):
        style = "going_down"
    elif status == "NOLB":
        style = "nolb"
    elif status == "no check":
        style = "no_check"
    elif not _has(f, "chkfail") or _n(f, "check_health") == _n(f, "check_rise") + _n(f, "check_fall") - 1:
        style = "up" if _n(f, "weight") else "draining"
    else:
        style = "going_down"
    return f"{'backup' if _n(f, 'bck') else 'active'}_{style}"


_LEGEND = [
    ("active_up", "active UP ", "backup_up", "backup UP "),
    ("active_going_down", "active UP, going down ", "backup_going_down", "backup UP, going down "),
    ("active_going_up", "active DOWN, going up ", "backup_going_up", "backup DOWN, going up "),
    ("active_down", "active or backup DOWN &nbsp;", "active_no_check", "not checked "),
    ("maintain", "active or backup DOWN for maintenance (MAINT) &nbsp;", "", ""),
    ("active_draining", "active or backup SOFT STOPPED for maintenance &nbsp;", "", ""),
]

_COLUMN_HEADS = (
    "<th rowspan=2></th><th colspan=3>Queue</th><th colspan=3>Session rate</th><th colspan=6>Sessions</th>"
    "<th colspan=2>Bytes</th><th colspan=2>Denied</th><th colspan=3>Errors</th><th colspan=2>Warnings</th>"
    "<th colspan=9>Server</th></tr>\n<tr class=\"titre\">"
    "<th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th>"
    "<th>Limit</th><th>Total</th><th>LbTot</th><th>Last</th><th>In</th><th>Out</th><th>Req</th><th>Resp</th>"
    "<th>Req</th><th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th><th>Status</th><th>LastChk</th>"
    "<th>Wght</th><th>Act</th><th>Bck</th><th>Chk</th><th>Dwn</th><th>Dwntme</th><th>Thrtle</th>\n</tr>"
)

# HAProxy's classes, a cleaner look: system font, soft palette, rounded header bars, sticky tips.
STYLE = """<style type="text/css"><!--
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; font-size: 12px;
  color: #1d2330; background: #f6f7f9; margin: 14px 18px; }
th, td { font-size: 11px; }
a { color: #2457c5; }
h1 { font-size: 22px; margin: 0 0 4px 0; } h1 a { color: #1d2330; }
h2 { font-size: 15px; font-weight: 600; color: #5a3fa0; margin: 0; }
h3 { font-size: 13px; font-weight: 600; color: #1d2330; background: #e4e7ee; padding: 4px 8px;
  border-radius: 4px; margin: 6px 0; }
.hr { border: 0; border-bottom: 1px solid #c9ced8; margin-top: 6px; }
table.info { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 6px 10px; margin-bottom: 12px; }
table.info td { font-size: 12px; padding: 0 14px 0 0; line-height: 1.5; }
li { margin-top: 0.2em; margin-right: 2em; }
.titre { background: #2f3a4f; color: #f1f3f7; font-weight: 600; text-align: center; }
.total { background: #2f3a4f; color: #ffd866; }
.frontend { background: #eef0f4; } .socket { background: #e2e5ea; } .backend { background: #e6e9ef; font-weight: 600; }
.active_down { background: #f7a8a8; } .active_going_up { background: #ffd666; }
.active_going_down { background: #fff3a6; } .active_up { background: #c6f1c6; }
.active_nolb { background: #7fc1ff; } .active_draining { background: #7fc1ff; }
.active_no_check { background: #e4e6ea; }
.backup_down { background: #f7a8a8; } .backup_going_up { background: #f3a6f3; }
.backup_going_down { background: #d2a6ff; } .backup_up { background: #c4dcff; }
.backup_nolb { background: #a9c3ea; } .backup_draining { background: #e0b84d; }
.backup_no_check { background: #e4e6ea; }
.maintain { background: #d99a4e; }
.rls { letter-spacing: 0.2em; margin-right: 1px; }
a.px:link, a.px:visited { color: #ffe066; text-decoration: none; } a.px:hover { color: #fff; }
a.lfsb:link, a.lfsb:visited { color: #1d2330; text-decoration: none; } a.lfsb:hover { color: #505a70; }
table.tbl { border-collapse: collapse; border-style: none; background: #fff; }
table.tbl td { text-align: right; border: 1px solid #cfd4dd; padding: 2px 4px; white-space: nowrap; }
table.tbl td.ac { text-align: center; }
table.tbl th { border: 1px solid #56627a; padding: 2px 3px; font-weight: 600; }
table.tbl th.pxname { background: #6a2c91; color: #ffe066; border-style: solid solid none solid; padding: 4px 8px;
  white-space: nowrap; border-radius: 5px 5px 0 0; font-size: 13px; text-align: left; }
table.tbl th.empty { border-style: none; empty-cells: hide; background: transparent; }
table.tbl th.desc { background: #fff; color: #1d2330; border-style: solid solid none solid; text-align: left; padding: 2px 4px; }
table.tbl tr:not(.titre):hover td { filter: brightness(0.96); }
table.lgd { border-collapse: collapse; border-width: 1px; border-style: none none none solid; border-color: #1d2330; }
table.lgd td { border: 1px solid #cfd4dd; padding: 2px 4px; }
table.lgd td.noborder { border-style: none; padding: 2px 4px; white-space: nowrap; }
table.det { border-collapse: collapse; border-style: none; }
table.det th { text-align: left; border-width: 0; padding: 0 1px 0 0; font-weight: 600; color: #1d2330; background: none; }
table.det td { text-align: right; border-width: 0; padding: 0 0 0 4px; white-space: nowrap; }
u { text-decoration: none; border-bottom: 1px dotted #1d2330; }
div.tips { display: block; visibility: hidden; z-index: 2147483647; position: absolute; padding: 4px 6px;
  background: #fffbe0; color: #1d2330; border: 1px solid #b8a94a; white-space: nowrap; font-weight: normal;
  border-radius: 4px; box-shadow: 0 2px 6px rgba(0,0,0,.25); }
u:hover div.tips { visibility: visible; }
select, input[type=submit] { font-size: 11px; margin: 4px 0 10px 0; }
@media (prefers-color-scheme: dark) {
 body { color: #e8e6e3; background: #131516; } h1 a, a.lfsb:link, a.lfsb:visited { color: #e8e6e3; }
 h3, table.info { background: #23272b; color: #e8e6e3; } table.tbl { background: #181a1b; }
 .frontend, .backend { background: #2f3437; } .socket { background: #2a2d2f; }
 .active_down, .backup_down { background: #760000; } .active_going_up { background: #b99200; }
 .active_going_down { background: #6c6c00; } .active_up { background: #165900; }
 .active_nolb, .active_draining { background: #006ab9; } .active_no_check, .backup_no_check { background: #2a2d2f; }
 .backup_going_up { background: #7f007f; } .backup_going_down { background: #580092; } .backup_up { background: #2e3234; }
 .backup_nolb { background: #1e3c6a; } .backup_draining { background: #a37a00; } .maintain { background: #9a601a; }
 div.tips { background: #3a3a14; color: #e8e6e3; }
}
-->
</style>
"""
