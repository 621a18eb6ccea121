"""The section state machine: which section a line belongs to and what it inherits.

Theory of operation
-------------------
`ParseState.feed()` reads one file line by line (several files are fed in order, each starting
outside any section, exactly as `haproxy -f a -f b` does). Each line is split by the lexer with
the *current* environment (so `setenv` affects later lines), passed through the `.if` block
stack, has its `no`/`default` prefix removed, and is then either

* a section header (`global`, `defaults [<name>] [from <d>]`, `frontend|backend|listen <name>
  [from <d>]`) which changes the current section and, for proxies, creates the model.Proxy
  from the defaults it inherits (the last `defaults` above, or the one named by `from`);
* a header of a section HAProxy has but trio-lb does not (userlist, peers, ...): an alert,
  and the lines of that section are skipped;
* or a keyword, dispatched through the per-section keyword table (keywords/), whose parser
  fills the current model object.

Parsers report through `Diag`; an `Alert` raised by a parser becomes one alert for the line
(its `abort` flag stops the whole parse, as HAProxy's ERR_ABORT does). Proxy ids are assigned
when all files are read (`assign_ids`), with HAProxy's numbering.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from trio_lb.config.keywords import (
    SECTION_LETTER,
    Alert,
    Ctx,
    Diag,
    Keyword,
    ProxyNotes,
    best_match,
    build_table,
    invalid_char,
    proxy_type_str,
)
from trio_lb.config.keywords import (
    acl_rules,
    bind,
    checks,
    global_,
    http_rules,
    logging,
    monitor,
    options,
    persist,
    proxy,
    server,
    stats,
    stick,
    tcp_rules,
)
from trio_lb.config.keywords.directives import Blocks
from trio_lb.config.keywords.known import (
    GLOBAL_COMMON,
    GLOBAL_REGISTERED,
    LISTEN_COMMON,
    LISTEN_REGISTERED,
    UNSUPPORTED_SECTIONS,
)
from trio_lb.config.keywords.server import assign_server_ids
from trio_lb.config.lexer import LexError, iter_lines, split_line
from trio_lb.config.model import Config, Proxy

TABLE: dict[str, dict[str, Keyword]] = build_table([
    global_.KEYWORDS,
    logging.KEYWORDS,
    proxy.KEYWORDS,
    options.KEYWORDS,
    bind.KEYWORDS,
    server.KEYWORDS,
    checks.KEYWORDS,
    stats.KEYWORDS,
    acl_rules.KEYWORDS,
    http_rules.KEYWORDS,
    monitor.KEYWORDS,
    tcp_rules.KEYWORDS,
    stick.KEYWORDS,
    persist.KEYWORDS,
])

PROXY_SECTIONS = ("defaults", "frontend", "backend", "listen")
FIRST_PROXY_ID = 2  # HAProxy 2.6 gives id 1 to its internal httpclient proxy
MAX_FATAL_LINES = 50  # HAProxy stops reading a file after 50 lines with fatal errors
_NEGATABLE_KEYWORDS = ("option", "log", "busy-polling", "set-dumpable", "strict-limits",
                       "insecure-fork-wanted", "numa-cpu-mapping")

# HAProxy's own keywords per section: suggestions, and "not supported" vs "unknown"
_HAPROXY_GLOBAL = tuple(dict.fromkeys(GLOBAL_REGISTERED + GLOBAL_COMMON))
_HAPROXY_LISTEN = tuple(dict.fromkeys(LISTEN_REGISTERED + LISTEN_COMMON))


class ParseState:
    """Everything the parser knows while reading; `config` is the result being built."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.config = Config()
        self.env: dict[str, str] = dict(env)
        self.diag = Diag()
        self._notes: dict[int, ProxyNotes] = {}
        self._defaults_of: dict[int, Proxy | None] = {}
        self.all_defaults: list[Proxy] = []
        self.last_defaults: Proxy | None = None
        self.proxy_ids: dict[int, Proxy] = {}
        self.section: str | None = None
        self.section_label = ""
        self.current: Proxy | None = None
        self.skipping = False  # inside an unsupported section
        self.global_seen: set[str] = set()  # global keywords HAProxy only takes once

    # -- bookkeeping shared with keyword parsers ----------------------------------------
    def notes_for(self, px: Proxy) -> ProxyNotes:
        return self._notes.setdefault(id(px), ProxyNotes())

    def defaults_for(self, px: Proxy) -> Proxy | None:
        return self._defaults_of.get(id(px))

    def claim_proxy_id(self, ctx: Ctx, value: int) -> None:
        px = ctx.px
        other = self.proxy_ids.get(value)
        if other is not None and other is not px:
            raise ctx.error(f"{proxy_type_str(px)} {px.name} reuses same custom id as "
                            f"{proxy_type_str(other)} {other.name} (declared at {other.file}:{other.line}).",
                            tight=True)
        if px.id and self.proxy_ids.get(px.id) is px:
            del self.proxy_ids[px.id]
        px.id = value
        self.proxy_ids[value] = px

    # -- reading --------------------------------------------------------------------------
    def feed(self, text: str, filename: str) -> None:
        """Parse one file's text; alerts accumulate in `diag`."""
        self.config.files.append(filename)
        self.section, self.section_label, self.current, self.skipping = None, "", None, False
        blocks = Blocks()
        fatal_before = self.diag.fatal_count
        fatal_lines = 0
        last = 0
        for lineno, raw in iter_lines(text):
            if fatal_lines >= MAX_FATAL_LINES:
                self.diag.alert(f"parsing [{filename}:{lineno}]: too many fatal errors ({fatal_lines}), "
                                "stopping now.")
                break
            last = lineno
            before = self.diag.fatal_count
            try:
                self._line(filename, lineno, raw, blocks)
            except Alert as a:
                self.diag.alert(a.msg)
                if a.abort:
                    self.diag.abort = True
            if self.diag.abort:
                break
            if self.diag.fatal_count > before:
                fatal_lines += 1
        if not self.diag.abort:
            try:
                blocks.finish(f"parsing [{filename}:{last}]: ")
            except Alert as a:
                self.diag.alert(a.msg)
                self.diag.abort = True
        if self.diag.fatal_count > fatal_before:
            self.diag.alerts.append(f"Error(s) found in configuration file : {filename}")

    def _line(self, file: str, lineno: int, raw: str, blocks: Blocks) -> None:
        try:
            words = split_line(raw, self.env, file=file, lineno=lineno, section=self.section_label)
        except LexError as e:
            raise Alert(e.body) from None
        if not words or not words[0]:
            return
        where = f"parsing [{file}:{lineno}]: "
        if words[0].startswith("."):
            report = blocks.handle(words, where, self.env, raw)
            if report is not None:
                level, _, text = report.partition("\0")
                if level == "warning":
                    self.diag.warn(f"{where}'{text}'.")
                elif level == "alert":
                    raise Alert(f"{where}'{text}'.", abort=True)
            return
        if not blocks.active:
            return
        kwm = "std"
        if words[0] == "no":
            kwm, words = "no", words[1:] or [""]
        elif words[0] == "default":
            # HAProxy 2.6 shifts the words left without clearing the last one
            kwm, words = "default", (words[1:] + words[-1:]) if len(words) > 1 else [""]
        if kwm != "std" and words[0] not in _NEGATABLE_KEYWORDS:
            # HAProxy reports it and still parses the line (without the prefix)
            self.diag.alert(f"{where}negation/default currently supported only for options, log, busy-polling, "
                            "set-dumpable, strict-limits, insecure-fork-wanted and numa-cpu-mapping.")
        self._dispatch(file, lineno, words, kwm)

    def _dispatch(self, file: str, lineno: int, words: list[str], kwm: str) -> None:
        kw = words[0]
        ctx = Ctx(file=file, line=lineno, words=words, section=self.section or "", state=self,
                  proxy=self.current, kwm=kwm)
        if kw == "global":
            self.section, self.section_label, self.current, self.skipping = "global", "global", None, False
            ctx.section = "global"
            ctx.too_many(0)
            return
        if kw in PROXY_SECTIONS:
            self.skipping = False
            self._start_proxy(ctx)
            return
        if kw in UNSUPPORTED_SECTIONS:
            self.section, self.section_label, self.current, self.skipping = kw, kw, None, True
            raise ctx.error(f"'{kw}' sections are not supported by trio-lb.")
        if self.section is None:
            raise ctx.error(f"unknown keyword '{kw}' out of section.", tight=True)
        if self.skipping:
            return
        if self.section != "global" and self.current is None:
            raise ctx.error("'listen' or 'defaults' expected.")
        entry = TABLE[SECTION_LETTER[self.section]].get(kw)
        if entry is None:
            raise self._unknown(ctx)
        entry.parse(ctx)

    def _unknown(self, ctx: Ctx) -> Alert:
        kw, section = ctx.kw, ctx.section
        haproxy_names = _HAPROXY_GLOBAL if section == "global" else _HAPROXY_LISTEN
        if kw in haproxy_names:
            return ctx.unsupported()
        ours = TABLE[SECTION_LETTER[section]]
        best = best_match(kw, haproxy_names + tuple(k for k in ours if k not in haproxy_names))
        hint = f"; did you mean '{best}' maybe ?" if best else ""
        return ctx.error(f"unknown keyword '{kw}' in '{section}' section{hint}")

    # -- proxies --------------------------------------------------------------------------
    def _start_proxy(self, ctx: Ctx) -> None:
        kind = ctx.kw
        self.section, self.current = kind, None
        ctx.section = kind
        a = ctx.arg
        is_defaults = kind == "defaults"
        if not is_defaults:
            self.section_label = a(1) or kind
            if not a(1):
                raise ctx.error(f"'{kind}' expects an <id> argument", abort=True)
            bad = invalid_char(a(1))
            if bad is not None:
                ctx.alert(f"character '{bad}' is not permitted in '{kind}' name '{a(1)}'.")
            self._check_duplicate(ctx, kind, a(1))
            fe = kind in ("frontend", "listen")
            if a(2) and (not a(3) or a(2) != "from"):
                # HAProxy says nothing for a backend here; trio-lb names the stray word
                raise ctx.error("please use the 'bind' keyword for listening addresses." if fe
                                else f"'{kind}' cannot handle unexpected argument '{a(2)}'.")
            if a(4):
                ctx.alert(f"'{kind}' cannot handle unexpected argument '{a(4)}'.")
                if fe:
                    raise ctx.error("please use the 'bind' keyword for listening addresses.")
                return
        name, i = a(1), 2
        if is_defaults and a(1) == "from" and a(2) and not a(3):
            name, i = "", 1
        if is_defaults:
            self.section_label = name or kind
        defaults = None if is_defaults else self.last_defaults
        if a(i) == "from":
            defaults = self._named_defaults(ctx, a(i + 1), kind, name)
            self.notes_for(defaults).explicit_ref = True
        elif defaults is not None:
            self.notes_for(defaults).implicit_ref = True
        if defaults is not None:
            dn = self.notes_for(defaults)
            if dn.explicit_ref and dn.implicit_ref:
                ctx.alert(f"defaults section '{defaults.name}' (declared at {defaults.file}:{defaults.line}) is "
                          "explicitly referenced by another proxy and implicitly used here. To avoid any "
                          "ambiguity don't mix both usage. Add a last defaults section not explicitly used or "
                          "always use explicit references.")
        px = self._new_proxy(name, kind, ctx.file, ctx.line, defaults)
        self.current = px
        if is_defaults:
            self.last_defaults = px
            self.all_defaults.append(px)
        else:
            self.config.proxies.append(px)

    def _check_duplicate(self, ctx: Ctx, kind: str, name: str) -> None:
        fe = kind in ("frontend", "listen")
        for other in self.config.proxies:
            if other.name == name and (other.has_frontend if fe else other.has_backend):
                label = {"frontend": "frontend", "backend": "backend", "listen": "proxy"}[kind]
                self.diag.alert(f"Parsing [{ctx.file}:{ctx.line}]: {label} '{name}' has the same name as "
                                f"{proxy_type_str(other)} '{other.name}' declared at {other.file}:{other.line}.")
                return

    def _named_defaults(self, ctx: Ctx, name: str, kind: str, proxy_name: str) -> Proxy:
        found = [d for d in self.all_defaults if d.name == name]
        label = {"frontend": "frontend", "backend": "backend", "listen": "proxy", "defaults": "defaults"}[kind]
        if not found:
            raise ctx.error(f"defaults section '{name}' not found for {label} '{proxy_name}'.", abort=True)
        if len(found) > 1:
            ctx.alert(f"ambiguous defaults section name '{name}' referenced by {label} '{proxy_name}' exists at "
                      f"least at {found[0].file}:{found[0].line} and {found[1].file}:{found[1].line}.")
        bad = invalid_char(name)
        if bad is not None:
            ctx.alert(f"character '{bad}' is not permitted in defaults section name '{name}' when designated by "
                      f"its name (section found at {found[0].file}:{found[0].line}).")
        return found[0]

    def _new_proxy(self, name: str, kind: str, file: str, line: int, defaults: Proxy | None) -> Proxy:
        if defaults is None:
            px = Proxy(name=name, kind=kind)  # type: ignore[arg-type]
            notes = ProxyNotes()
        else:
            px = inherit(defaults, name, kind)
            dn = self.notes_for(defaults)
            has_fe = kind != "backend"
            notes = ProxyNotes(
                defsrv=copy.deepcopy(dn.defsrv),
                logformat_kw=dn.logformat_kw if has_fe else None,
                logformat_line=dn.logformat_line if has_fe else None,
                http_check_rules=dn.http_check_rules,
                tcp_check_rules=dn.tcp_check_rules,
                httpchk_headers=list(dn.httpchk_headers),
            )
        px.file, px.line = file, line
        self._notes[id(px)] = notes
        self._defaults_of[id(px)] = defaults
        return px

    # -- end --------------------------------------------------------------------------------
    def assign_ids(self) -> None:
        """HAProxy's numbering: the counter advances on every proxy; forced ids are skipped."""
        used = set(self.proxy_ids)
        next_id = FIRST_PROXY_ID
        for px in self.config.proxies:
            if not px.id:
                while next_id in used:
                    next_id += 1
                px.id = next_id
                used.add(next_id)
            next_id += 1
            assign_server_ids(px.servers)


def inherit(defaults: Proxy, name: str, kind: str) -> Proxy:
    """A new proxy initialised from a defaults section (HAProxy's proxy_defproxy_cpy())."""
    px = copy.deepcopy(defaults)
    px.name, px.kind = name, kind  # type: ignore[assignment]
    px.id = 0
    px.binds, px.servers, px.use_backends, px.acls = [], [], [], {}
    px.stats.pop("description", None)
    if kind == "backend":
        px.maxconn = 0
        px.default_backend = None
    if kind == "frontend":
        px.fullconn = 0
    if kind == "backend":  # HAProxy copies the log format to proxies with a frontend side only
        px.log_format = None
    return px
