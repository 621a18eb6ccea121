"""Checks run once every file is parsed (HAProxy's check_config_validity(), the parts trio-lb has).

For each enabled proxy, in declaration order, in the order HAProxy emits them:
layer-7 balancing in TCP mode (fall back to round robin), `option httplog` in TCP mode (fall back
to tcplog), frontend without `bind`, `default_backend`/`use_backend` targets (exist, not itself,
HTTP frontend -> TCP backend refused), missing client/connect/server timeouts, per-server checks
(duplicate names, `ssl` without verification settings, `track` targets), log format without a
log target, HTTP-only settings in TCP mode, check rules without the matching check option.
Alerts and warnings go to the parse state's Diag; some settings are corrected in place exactly as
HAProxy corrects them (the fallbacks above), so the runtime sees the effective configuration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trio_lb.config.keywords import proxy_type_str
from trio_lb.config.keywords.known import SIMPLE_OPTIONS
from trio_lb.config.keywords.persist import mode_warnings, server_warnings
from trio_lb.config.keywords.stick import check_references, content_warnings
from trio_lb.tls import check_tls
from trio_lb.config.keywords.logging import CLF_HTTP_LOG_FORMAT, HTTP_LOG_FORMAT, HTTPS_LOG_FORMAT, TCP_LOG_FORMAT
from trio_lb.config.model import Config, Proxy

if TYPE_CHECKING:  # pragma: no cover
    from trio_lb.config.sections import ParseState

_L7_ALGOS = ("uri", "url_param", "hdr")
_MISSING_TIMEOUTS = (
    "missing timeouts for {type} '{name}'.\n"
    "   | While not properly invalid, you will certainly encounter various problems\n"
    "   | with such a configuration. To fix this, please ensure that all following\n"
    "   | timeouts are set to a non-zero value: 'client', 'connect', 'server'."
)


def refuse_unimplemented(state: ParseState) -> None:
    """trio-lb's own last check: settings HAProxy accepts that trio-lb parses but cannot honour
    yet are refused, never run silently (none at the moment: TLS landed with issue 7)."""


def tls_checks(state: ParseState) -> None:
    """Certificates, CA files, TLS versions and ciphers of every `bind ... ssl` and `server ...
    ssl`, read now as HAProxy reads them at start-up, with its alerts."""
    for body in check_tls(state.config):
        state.diag.alert(body)


def validate(state: ParseState) -> None:
    """Run every post-parse check on `state.config`, reporting into `state.diag`."""
    config = state.config
    for px in config.proxies:
        if px.disabled:
            continue
        _Checker(state, config, px).run()
    for body in check_references(config):
        state.diag.alert(body)
    for body in content_warnings(config):
        state.diag.warn(body)


class _Checker:
    def __init__(self, state: ParseState, config: Config, px: Proxy) -> None:
        self.state = state
        self.config = config
        self.px = px
        self.type = proxy_type_str(px)

    def warn(self, body: str) -> None:
        self.state.diag.warn(body)

    def alert(self, body: str) -> None:
        self.state.diag.alert(body)

    def run(self) -> None:
        for step in (self.l7_balance, self.httplog_in_tcp, self.bind_missing, self.backend_refs,
                     self.timeouts, self.servers, self.log_format, self.cookie_servers, self.http_only,
                     self.check_rules):
            step()

    # -- steps, in HAProxy's order -----------------------------------------------------------
    def l7_balance(self) -> None:
        px = self.px
        for body in mode_warnings(px):
            self.warn(body)
        if px.has_backend and px.mode != "http" and px.balance.algo in _L7_ALGOS:
            self.warn(f"Layer 7 hash not possible for {self.type} '{px.name}' (needs 'mode http'). "
                      "Falling back to round robin.")
            px.balance.algo = "roundrobin"

    def cookie_servers(self) -> None:
        for body in server_warnings(self.px):
            self.warn(body)

    def httplog_in_tcp(self) -> None:
        px = self.px
        if px.mode == "http" or px.log_format not in (HTTP_LOG_FORMAT, CLF_HTTP_LOG_FORMAT, HTTPS_LOG_FORMAT):
            return
        notes = self.state.notes_for(px)
        kw = "option httpslog" if px.log_format == HTTPS_LOG_FORMAT else "option httplog"
        file, line = notes.logformat_line or (px.file, px.line)
        self.warn(f"parsing [{file}:{line}] : '{kw}' not usable with {self.type} '{px.name}' "
                  "(needs 'mode http'). Falling back to 'option tcplog'.")
        px.log_format = TCP_LOG_FORMAT

    def bind_missing(self) -> None:
        px = self.px
        if px.has_frontend and not px.binds:
            self.warn(f"{self.type} '{px.name}' has no 'bind' directive. Please declare it as a backend "
                      "if this was intended.")

    def backend_refs(self) -> None:
        px = self.px  # checked even where the keyword only drew a capability warning, as HAProxy does
        if px.default_backend is not None:
            self._target(px.default_backend, "default_backend", "as its default backend")
        for rule in px.use_backends:
            if "%[" in rule.backend:
                continue  # a log-format expression, resolved per request
            self._target(rule.backend, "use_backend", "in a 'use_backend' rule")

    def _target(self, name: str, kw: str, how: str) -> None:
        px = self.px
        target = self.config.backend(name)
        if target is None:
            self.alert(f"Proxy '{px.name}': unable to find required {kw}: '{name}'.")
        elif target is px:
            self.alert(f"Proxy '{px.name}': loop detected for {kw}: '{name}'.")
        elif px.mode == "http" and target.mode != "http":
            self.alert(f"http {self.type} '{px.name}' ({px.file}:{px.line}) tries to use incompatible tcp "
                       f"{proxy_type_str(target)} '{target.name}' ({target.file}:{target.line}) {how} "
                       "(see 'mode').")

    def timeouts(self) -> None:
        px, t = self.px, self.px.timeouts
        fe_missing = px.has_frontend and not t.client
        be_missing = px.has_backend and bool(px.servers) and (
            not t.connect or (not t.server and (px.mode == "http" or not t.tunnel)))
        if fe_missing or be_missing:
            self.warn(_MISSING_TIMEOUTS.format(type=self.type, name=px.name))

    def servers(self) -> None:
        px = self.px
        seen: dict[str, int] = {}
        ssl_verify_default = self.config.global_.settings.get("ssl-server-verify", ["required"])
        for srv in px.servers:
            if srv.name in seen:
                first = seen[srv.name]
                self.alert(f"parsing [{srv.file}:{srv.line}] : {self.type} '{px.name}', another server named "
                           f"'{srv.name}' was already defined at line {first}, please use distinct names.")
            else:
                seen[srv.name] = srv.line
            where = f"[{srv.file}:{srv.line}] : 'server {px.name}/{srv.name}' : "
            opts = srv.options
            if opts.get("ssl") and "ca-file" not in opts and opts.get("verify", None) != "none" \
                    and ssl_verify_default[:1] != ["none"]:
                self.alert(where + "verify is enabled by default but no CA file specified. If you're running "
                           "on a LAN where you're certain to trust the server's certificate, please set an "
                           "explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify "
                           "none' in the global section to disable server-side verifications by default.")
            if "track" in opts:
                self._track(where, str(opts["track"]))

    def _track(self, where: str, spec: str) -> None:
        pname, _, sname = spec.rpartition("/")
        target = self.px if not pname else self.config.backend(pname)
        if target is None:
            self.alert(where + f"unable to find required proxy '{pname}' for tracking.")
            return
        if not any(s.name == sname for s in target.servers):
            self.alert(where + f"unable to find required server '{sname}' for tracking.")

    def log_format(self) -> None:
        px = self.px
        if px.has_frontend and px.log_format is not None and not px.logs:
            self.warn(f"log format ignored for {self.type} '{px.name}' since it has no log address.")

    def http_only(self) -> None:
        px = self.px
        if px.mode == "http":
            return
        if px.stats and any(k != "description" for k in px.stats):
            self.warn(f"'stats' statement ignored for {self.type} '{px.name}' as it requires HTTP mode.")
        for kw, attr in (("http-request", "http_request_rules"), ("http-response", "http_response_rules"),
                         ("http-after-response", "http_after_response_rules")):
            if getattr(px, attr):
                self.warn(f"'{kw}' rules ignored for {self.type} '{px.name}' as they require HTTP mode.")
                setattr(px, attr, [])
        px.http_services = []
        if px.forwardfor is not None:
            self.warn(f"'option forwardfor' ignored for {self.type} '{px.name}' as it requires HTTP mode.")
            px.forwardfor = None
        for name, cap, http in SIMPLE_OPTIONS:
            if not http or name not in px.options:
                continue
            if cap == "both" or (cap == "fe" and px.has_frontend) or (cap == "be" and px.has_backend):
                self.warn(f"'option {name}' ignored for {self.type} '{px.name}' as it requires HTTP mode.")
                px.options.discard(name)

    def check_rules(self) -> None:
        px = self.px
        notes = self.state.notes_for(px)
        if notes.http_check_rules and px.check.kind != "http":
            self.warn(f"{self.type} '{px.name}' uses http-check rules without 'option httpchk', so the rules "
                      "are ignored.")
        if notes.tcp_check_rules and px.check.kind != "tcp-check":
            self.warn(f"{self.type} '{px.name}' uses tcp-check rules without 'option tcp-check', so the rules "
                      "are ignored.")

