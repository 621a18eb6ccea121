"""TLS settings of binds and servers turned into ssl.SSLContext objects (HAProxy's ssl_sock.c/cfgparse-ssl.c).

How it works
------------
Frontends: `BindTLS.from_bind()` gathers the bind's certificates as (bundle path, SNI filters,
per-entry options) -- from `crt <file>`, `crt <dir>` (every file in name order, named by its SAN and
CN), and `crt-list <file>` lines -- loading each file once into the shared `CertStore`. Settings are
merged as HAProxy does: global `ssl-default-bind-*` first, then the bind line, then a crt-list
line's `[...]` options. One SSLContext is built per certificate bundle with those settings and cached
by the bundle object; `context` is the default certificate's, and its `sni_callback` switches the
connection to the context of the certificate whose name matches the client's SNI (exact name, then
`*.` + the name without its first label), else to the default one (the first certificate), or
refuses the handshake with `strict-sni`. Because the callback asks the store for the bundle on
every handshake, a committed `set ssl cert` is served from the next handshake on.

ALPN: HTTP/2 is not served yet, so in `mode http` "h2" is left out of what the server offers; a
client offering only h2 then completes the handshake without ALPN and speaks HTTP/1.1, as HAProxy
without h2 would. TLS 1.3 `ciphersuites` are validated (names must be TLS 1.3 suites) but Python's
ssl module cannot set them: OpenSSL's defaults apply. `tune.ssl.default-dh-param` is accepted only.

Servers: `ServerTLS.from_server()` builds the client context (verify none|required with ca-file,
`ssl-server-verify`, client `crt`, alpn, versions, ciphers); the `sni` sample expression is parsed
here and evaluated per connection by `server_hostname()`. Host name verification is on when verify
is required and `sni` or `verifyhost` is set (Python checks the name it sends as SNI).

Errors raise TLSConfigError carrying the complete alert text `haproxy -c` prints after
"config : " (HAProxy words them differently per check, location included); `check_tls()` returns
all of them for the configuration checker.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trio_lb.tls.store import Bundle, CertError, CertStore, load_into
from trio_lb.tls.x509 import DerError, oneline, parse_certificate

if TYPE_CHECKING:  # pragma: no cover
    from trio_lb.config import model
    from trio_lb.rules.sample import RequestView


class TLSConfigError(ValueError):
    """The alert `haproxy -c` prints (without its "[ALERT] (pid) : config : " prefix)."""


VERSIONS = ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_NO_FLAGS = {"no-sslv3": "SSLv3", "no-tlsv10": "TLSv1.0", "no-tlsv11": "TLSv1.1", "no-tlsv12": "TLSv1.2",
             "no-tlsv13": "TLSv1.3"}
_FORCE_FLAGS = {"force-sslv3": "SSLv3", "force-tlsv10": "TLSv1.0", "force-tlsv11": "TLSv1.1",
                "force-tlsv12": "TLSv1.2", "force-tlsv13": "TLSv1.3"}
_TLS_VERSION = {"SSLv3": ssl.TLSVersion.SSLv3, "TLSv1.0": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
                "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
DEFAULT_MIN_VERSION = "TLSv1.2"  # HAProxy >= 2.2 on binds and servers
TLS13_SUITES = frozenset({"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                          "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"})
_VERIFY = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}
_SKIPPED_EXTENSIONS = (".key", ".ocsp", ".issuer", ".sctl")
# options a crt-list line may carry in [...] (HAProxy's ssl_bind_kws), with their argument count
CRT_LIST_OPTIONS = {"alpn": 1, "ca-file": 1, "ciphers": 1, "ciphersuites": 1, "crl-file": 1, "curves": 1,
                    "ecdhe": 1, "no-ca-names": 0, "npn": 1, "ssl-min-ver": 1, "ssl-max-ver": 1, "verify": 1,
                    "allow-0rtt": 0, "ocsp-update": 1}


@dataclass
class TlsInfo:
    """What the fetches and logs read (RequestView.tls)."""

    sni: str | None = None
    protocol: str | None = None
    cipher: str | None = None
    alpn: str | None = None
    client_cert: bool = False
    verify: int = 0
    client_dn: str | None = None
    hello: bytes | None = None


# ------------------------------------------------------------------ option merging


def _words_to_options(words: list[str]) -> dict[str, Any]:
    """`ssl-default-*-options` words as bind options (flags True, ssl-min/max-ver valued)."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(words):
        w = words[i]
        if w in ("ssl-min-ver", "ssl-max-ver"):
            out[w] = words[i + 1] if i + 1 < len(words) else ""
            i += 2
        else:
            out[w] = True
            i += 1
    return out


def version_range(opts: dict[str, Any], defaults: dict[str, Any]) -> tuple[str, str] | None:
    """(min, max) enabled versions, None when all are disabled. Bind/server options override the
    global defaults; force-* pins one version; no-* flags remove versions; the range is the first
    enabled version and the contiguous ones after it (HAProxy's hole handling)."""
    merged = {**defaults, **opts}
    forced = [v for k, v in _FORCE_FLAGS.items() if merged.get(k)]
    if forced:
        lo, hi = VERSIONS.index(forced[0]), VERSIONS.index(forced[-1])
    else:
        lo = VERSIONS.index(merged.get("ssl-min-ver") or DEFAULT_MIN_VERSION)
        hi = VERSIONS.index(merged.get("ssl-max-ver") or VERSIONS[-1])
    enabled = [i for i in range(lo, hi + 1) if not merged.get(f"no-{VERSIONS[i].lower().replace('.', '')}")]
    if not enabled:
        return None
    first = last = enabled[0]
    while last + 1 in enabled:
        last += 1
    return VERSIONS[first], VERSIONS[last]


def check_version_word(value: str) -> str | None:
    return None if value in VERSIONS else f"'{value}' : unknown ssl/tls version"


def _resolve(base: str | None, path: str) -> str:
    return os.path.join(base, path) if base and not path.startswith("/") else path


def _check_ciphersuites(text: str) -> bool:
    return any(name in TLS13_SUITES for name in text.split(":"))


def _apply_common(ctx: ssl.SSLContext, opts: dict[str, Any], vrange: tuple[str, str]) -> None:
    for attr, name in (("minimum_version", vrange[0]), ("maximum_version", vrange[1])):
        try:
            setattr(ctx, attr, _TLS_VERSION[name])
        except (ValueError, ssl.SSLError):  # a version this OpenSSL build cannot enable
            pass
    if opts.get("no-tls-tickets"):
        ctx.options |= ssl.OP_NO_TICKET
    if opts.get("prefer-client-ciphers"):
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE


def _alpn_list(text: str) -> list[str]:
    return [p for p in text.split(",") if p]


# ------------------------------------------------------------------ frontends


@dataclass
class _Entry:
    """One certificate of a bind: a bundle path, the names it answers, its merged options."""

    path: str
    names: list[str]  # lower-case; "*.example.com" for wildcards
    excluded: list[str]
    opts: dict[str, Any]


def bind_label(bind: model.Bind) -> str:
    if bind.family == "unix":
        return bind.host
    host = f"[{bind.host}]" if ":" in bind.host else bind.host
    return f"{host}:{bind.port}"


def _proxy_of(bind: model.Bind, config: model.Config) -> model.Proxy | None:
    for px in config.proxies:
        if any(b is bind for b in px.binds):
            return px
    return None


class BindTLS:
    """A `bind ... ssl` line's server-side contexts (see the module docstring)."""

    def __init__(self, entries: list[_Entry], store: CertStore, strict_sni: bool, build: Any) -> None:
        self.entries = entries
        self.store = store
        self.strict_sni = strict_sni
        self._build = build  # (bundle, opts) -> ssl.SSLContext
        self._cache: dict[tuple[int, int], tuple[Bundle, ssl.SSLContext]] = {}
        self._exact: dict[str, int] = {}
        self._wild: dict[str, int] = {}
        for i, e in enumerate(entries):
            for n in e.names:
                table = self._wild if n.startswith("*.") else self._exact
                table.setdefault(n.removeprefix("*."), i)
        self.context = self._context(0)
        self.context.sni_callback = self._on_sni

    @classmethod
    def from_bind(cls, bind: model.Bind, config: model.Config, store: CertStore) -> BindTLS:
        px = _proxy_of(bind, config)
        pname = px.name if px is not None else ""
        where = f"parsing [{bind.file}:{bind.line}] : 'bind {bind_label(bind)}' in section " \
                f"'{px.kind if px is not None else 'frontend'}' : "
        at = f"for bind '{bind_label(bind)}' at [{bind.file}:{bind.line}]"
        g = config.global_.settings
        opts = dict(bind.options)
        defaults = _words_to_options(list(g.get("ssl-default-bind-options", [])))
        for key in ("ciphers", "ciphersuites"):
            if key not in opts and f"ssl-default-bind-{key}" in g:
                opts[key] = g[f"ssl-default-bind-{key}"]
        _check_bind_words(opts, where)
        entries = _gather(opts, g, store, where)
        if not entries:
            raise TLSConfigError(f"Proxy '{pname}': no SSL certificate specified {at} (use 'crt').")
        mode = px.mode if px is not None else "http"
        ca_base = g.get("ca-base")

        def build(bundle: Bundle, eopts: dict[str, Any]) -> ssl.SSLContext:
            return _server_side_context(bundle, {**opts, **eopts}, defaults, mode, ca_base, pname, at, where)

        for e in entries:  # build every context now: configuration errors surface at load
            build(store.get(e.path), e.opts)
        return cls(entries, store, bool(opts.get("strict-sni")), build)

    # -- handshake ------------------------------------------------------------------------------

    def _context(self, index: int) -> ssl.SSLContext:
        entry = self.entries[index]
        bundle = self.store.get(entry.path)
        key = (index, self.store.generation)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is bundle:
            return hit[1]
        ctx = self._build(bundle, entry.opts)
        ctx.sni_callback = self._on_sni
        self._cache = {k: v for k, v in self._cache.items() if k[0] != index}
        self._cache[key] = (bundle, ctx)
        return ctx

    def lookup(self, name: str | None) -> int | None:
        """The entry serving SNI <name>: exact, then wildcard; None when nothing matches."""
        if not name:
            return None
        name = name.lower().rstrip(".")
        i = self._exact.get(name)
        if i is None and "." in name:
            i = self._wild.get(name.split(".", 1)[1])
        if i is not None and name in self.entries[i].excluded:
            return None
        return i

    def _on_sni(self, obj: Any, name: str | None, _ctx: ssl.SSLContext) -> int | None:
        try:
            obj.trio_lb_sni = name
        except AttributeError:  # pragma: no cover - ssl objects take attributes
            pass
        index = self.lookup(name)
        if index is None:
            if self.strict_sni:
                return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
            index = 0
        obj.context = self._context(index)
        return None

    def info(self, tls: ssl.SSLSocket | ssl.SSLObject) -> TlsInfo:
        return connection_info(tls)


def connection_info(tls: ssl.SSLSocket | ssl.SSLObject) -> TlsInfo:
    """The handshake's facts (after do_handshake), for the fetches and logs."""
    cipher = tls.cipher()
    peer = tls.getpeercert(binary_form=True)
    dn = None
    if peer:
        try:
            dn = oneline(_subject_of(peer))
        except (DerError, IndexError, ValueError):
            dn = None
    return TlsInfo(
        sni=getattr(tls, "trio_lb_sni", None) or (tls.server_hostname if not tls.server_side else None),
        protocol=tls.version(),
        cipher=cipher[0] if cipher else None,
        alpn=tls.selected_alpn_protocol(),
        client_cert=bool(peer),
        verify=0,  # a failed verification aborts the handshake (no ca-ignore-err)
        client_dn=dn,
    )


def _subject_of(der: bytes) -> list[tuple[str, str]]:
    return parse_certificate(der).subject


def _check_bind_words(opts: dict[str, Any], where: str) -> None:
    for key in ("ssl-min-ver", "ssl-max-ver"):
        if key in opts:
            err = check_version_word(str(opts[key]))
            if err:
                raise TLSConfigError(where + err)
    verify = opts.get("verify")
    if verify is not None and verify not in _VERIFY:
        raise TLSConfigError(where + f"'verify' : unknown verify method '{verify}', only 'none', 'optional', "
                             "and 'required' are supported")


def _gather(opts: dict[str, Any], g: dict[str, Any], store: CertStore, where: str) -> list[_Entry]:
    base = g.get("crt-base")
    entries: list[_Entry] = []
    for crt in opts.get("crt", []):
        path = _resolve(base, crt)
        if os.path.isdir(path):
            for fname in sorted(os.listdir(path)):
                if fname.endswith(_SKIPPED_EXTENSIONS) or fname.startswith("."):
                    continue
                entries.append(_load_entry(os.path.join(path, fname), [], {}, store, where))
        else:
            entries.append(_load_entry(path, [], {}, store, where))
    if opts.get("crt-list"):
        entries.extend(_crt_list(_resolve(base, opts["crt-list"]), base, store, where))
    return entries


def _load_entry(path: str, filters: list[str], eopts: dict[str, Any], store: CertStore, where: str) -> _Entry:
    try:
        bundle = store.load(path)
    except CertError as e:
        raise TLSConfigError(where + str(e).rstrip("\n")) from None
    names = [f.lower() for f in filters if not f.startswith("!")] or bundle.names
    excluded = [f[1:].lower() for f in filters if f.startswith("!")]
    return _Entry(path, names, excluded, eopts)


def parse_crt_list_line(line: str) -> tuple[str, dict[str, Any], list[str]] | None:
    """`<crt> [<ssl options>] [<sni filters>]` -> (crt, options, filters); None for blank/comment."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    crt, _, rest = text.partition(" ")
    rest = rest.strip()
    opts: dict[str, Any] = {}
    if rest.startswith("["):
        inner, _, rest = rest[1:].partition("]")
        words = inner.split()
        i = 0
        while i < len(words):
            kw = words[i]
            if kw in _NO_FLAGS or kw in _FORCE_FLAGS:
                opts[kw] = True
                i += 1
                continue
            if kw not in CRT_LIST_OPTIONS:
                raise ValueError(f"unknown ssl keyword {kw}")
            n = CRT_LIST_OPTIONS[kw]
            opts[kw] = words[i + 1] if n and i + 1 < len(words) else True
            i += 1 + n
    return crt, opts, rest.split()


def _crt_list(path: str, base: str | None, store: CertStore, where: str) -> list[_Entry]:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise TLSConfigError(where + f"'crt-list' : cannot open file '{path}' : {e.strerror}") from None
    entries: list[_Entry] = []
    for n, line in enumerate(lines, 1):
        try:
            parsed = parse_crt_list_line(line)
        except ValueError as e:
            raise TLSConfigError(where + f"'crt-list' : {e} in crt-list file '{path}' at line {n}") from None
        if parsed is None:
            continue
        crt, eopts, filters = parsed
        entries.append(_load_entry(_resolve(base, crt), filters, eopts, store, where))
    return entries


def _server_side_context(bundle: Bundle, opts: dict[str, Any], defaults: dict[str, Any], mode: str,
                         ca_base: str | None, pname: str, at: str, where: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    vrange = version_range(opts, defaults)
    if vrange is None:
        raise TLSConfigError(f"Proxy '{pname}': all SSL/TLS versions are disabled {at}.")
    _apply_common(ctx, opts, vrange)
    try:
        load_into(ctx, bundle)
    except CertError as e:
        raise TLSConfigError(where + str(e).rstrip("\n")) from None
    if opts.get("ca-file"):
        _load_ca(ctx, _resolve(ca_base, opts["ca-file"]), where)
    verify = opts.get("verify", "none")
    if verify != "none":
        if not opts.get("ca-file"):
            raise TLSConfigError(f"Proxy '{pname}': verify is enabled but no CA file specified {at}.")
        ctx.verify_mode = _VERIFY[verify]
    if opts.get("ciphers"):
        try:
            ctx.set_ciphers(opts["ciphers"])
        except ssl.SSLError:
            raise TLSConfigError(f"Proxy '{pname}': unable to set SSL cipher list to '{opts['ciphers']}' {at}.") \
                from None
    if opts.get("ciphersuites") and not _check_ciphersuites(opts["ciphersuites"]):
        raise TLSConfigError(f"Proxy '{pname}': unable to set TLS 1.3 cipher suites to "
                             f"'{opts['ciphersuites']}' {at}.")
    if "alpn" in opts:
        protocols = _alpn_list(str(opts["alpn"]))
        if mode == "http":
            protocols = [p for p in protocols if p != "h2"]
        if protocols:
            ctx.set_alpn_protocols(protocols)
    return ctx


def _load_ca(ctx: ssl.SSLContext, path: str, where: str, server: bool = False) -> None:
    """HAProxy prints two alerts for an unreadable ca-file; a bind's second one is located, a
    server's first one is."""
    try:
        ctx.load_verify_locations(cafile=path)
    except OSError as e:
        reason = e.strerror if not isinstance(e, ssl.SSLError) else "no certificate or crl found"
        if server:
            raise TLSConfigError(f"{where}Couldn't open the ca-file '{path}' ({reason}).\n"
                                 f"'ca-file' : unable to load {path}.") from None
        raise TLSConfigError(f"Couldn't open the ca-file '{path}' ({reason}).\n"
                             f"{where}'ca-file' : unable to load {path}") from None


# ------------------------------------------------------------------ servers


class ServerTLS:
    """A `server ... ssl` (or its `check-ssl` check): the client-side context and SNI."""

    def __init__(self, context: ssl.SSLContext, sni_expr: Any = None, sni_text: str | None = None) -> None:
        self.context = context
        self.sni_expr = sni_expr
        self.sni_text = sni_text  # a literal name (check-sni, or verifyhost when nothing else names it)

    @classmethod
    def from_server(cls, spec: model.ServerSpec, config: model.Config, *,
                    check: bool = False, store: CertStore | None = None) -> ServerTLS | None:
        o = spec.options
        if check:
            uses = o.get("check-ssl") or (o.get("ssl") and spec.check_port is None and spec.check_addr is None)
        else:
            uses = o.get("ssl")
        if not uses:
            return None
        px = next((p for p in config.proxies if any(s is spec for s in p.servers)), None)
        where = f"[{spec.file}:{spec.line}] : 'server {px.name if px else ''}/{spec.name}' : "
        g = config.global_.settings
        defaults = _words_to_options(list(g.get("ssl-default-server-options", [])))
        opts = dict(o)
        for key in ("ciphers", "ciphersuites"):
            if key not in opts and f"ssl-default-server-{key}" in g:
                opts[key] = g[f"ssl-default-server-{key}"]
        for key in ("ssl-min-ver", "ssl-max-ver"):
            if key in opts and check_version_word(str(opts[key])):
                raise TLSConfigError(where + str(check_version_word(str(opts[key]))))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        vrange = version_range(opts, defaults)
        if vrange is None:
            kind = px.kind if px else "backend"
            raise TLSConfigError(f"{kind} '{px.name if px else ''}': all SSL/TLS versions are disabled for "
                                 f"server '{spec.name}'.")
        _apply_common(ctx, opts, vrange)
        default_verify = (g.get("ssl-server-verify") or ["required"])[0]
        verify = opts.get("verify", default_verify)
        sni_expr = None
        if not check and opts.get("sni"):
            sni_expr = _parse_sni(str(opts["sni"]), where)
        sni_text = str(opts["check-sni"]) if check and opts.get("check-sni") else None
        if opts.get("ca-file"):
            _load_ca(ctx, _resolve(g.get("ca-base"), str(opts["ca-file"])), where, server=True)
        if verify == "required" and opts.get("ca-file"):
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.check_hostname = bool(sni_expr is not None or sni_text or opts.get("verifyhost"))
            if sni_expr is None and not sni_text and opts.get("verifyhost"):
                sni_text = str(opts["verifyhost"])
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if opts.get("crt"):
            path = _resolve(g.get("crt-base"), str(opts["crt"]))
            store = store if store is not None else CertStore()
            try:
                bundle = store.load(path)
                load_into(ctx, bundle)
            except CertError as e:
                raise TLSConfigError(where + str(e).rstrip("\n")) from None
            store.use(path)
        if opts.get("ciphers"):
            try:
                ctx.set_ciphers(str(opts["ciphers"]))
            except ssl.SSLError:
                raise TLSConfigError(where + f"unable to set SSL cipher list to '{opts['ciphers']}'.") from None
        if opts.get("ciphersuites") and not _check_ciphersuites(str(opts["ciphersuites"])):
            raise TLSConfigError(where + f"unable to set TLS 1.3 cipher suites to '{opts['ciphersuites']}'.")
        alpn = opts.get("check-alpn") if check else opts.get("alpn")
        if alpn:
            ctx.set_alpn_protocols(_alpn_list(str(alpn)))
        return cls(ctx, sni_expr, sni_text)

    def server_hostname(self, view: RequestView | None) -> str | None:
        if self.sni_expr is not None and view is not None:
            value = self.sni_expr.eval_str(view)
            if value:
                return value
            return None
        return self.sni_text


def _parse_sni(text: str, where: str) -> Any:
    from trio_lb.rules.expr import parse_expr_text

    try:
        expr, pos = parse_expr_text(text)
    except ValueError as e:
        raise TLSConfigError(where + f"error detected while parsing sni expression : {e}") from None
    if pos < len(text):
        raise TLSConfigError(where + f"error detected while parsing sni expression : unexpected character "
                             f"'{text[pos]}'")
    return expr


# ------------------------------------------------------------------ the whole configuration


@dataclass
class TlsRuntime:
    binds: dict[int, BindTLS] = field(default_factory=dict)
    servers: dict[tuple[str, str], ServerTLS] = field(default_factory=dict)
    checks: dict[tuple[str, str], ServerTLS] = field(default_factory=dict)
    store: CertStore = field(default_factory=CertStore)


def _walk(config: model.Config, store: CertStore, runtime: TlsRuntime | None) -> list[str]:
    errors: list[str] = []
    for px in config.proxies:
        if px.disabled or px.kind == "defaults":
            continue
        for bind in px.binds:
            if not bind.options.get("ssl"):
                continue
            try:
                btls = BindTLS.from_bind(bind, config, store)
            except TLSConfigError as e:
                errors.append(str(e))
                continue
            for e in btls.entries:
                store.use(e.path)
            if runtime is not None:
                runtime.binds[id(bind)] = btls
        for srv in px.servers:
            for check in (False, True):
                if check and not srv.check:
                    continue
                try:
                    stls = ServerTLS.from_server(srv, config, check=check, store=store)
                except TLSConfigError as e:
                    if str(e) not in errors:
                        errors.append(str(e))
                    continue
                if stls is not None and runtime is not None:
                    (runtime.checks if check else runtime.servers)[(px.name, srv.name)] = stls
    return errors


def build_tls(config: model.Config) -> TlsRuntime:
    """Every TLS context of the configuration; TLSConfigError with the first problem."""
    runtime = TlsRuntime()
    errors = _walk(config, runtime.store, runtime)
    if errors:
        raise TLSConfigError(errors[0])
    return runtime


def check_tls(config: model.Config) -> list[str]:
    """All TLS alerts `haproxy -c` would print for <config> (texts after "config : "), in order."""
    return [line for err in _walk(config, CertStore(), None) for line in err.split("\n") if line]
