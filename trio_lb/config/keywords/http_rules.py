"""`http-request`, `http-response`, `http-after-response`, `redirect`, `errorfile`, `capture`.

How it works
------------
A rule line is `<ruleset> <action> [<args>] [if|unless <cond>]`. The action word is looked up in
trio_lb.rules.actions (the registry every action module fills: http_actions.py, track.py...);
its parser compiles the arguments and says where they end; what follows must be a condition
(compiled with acl_rules.compile_condition against the proxy's ACLs) or nothing. The result is an
actions.Rule appended to Proxy.http_request_rules / http_response_rules /
http_after_response_rules. The checks and texts are those of HAProxy 2.6's cfgparse-listen.c and
http_rules.c, in that order: anonymous defaults, "previous final action" warning, the action
(unknown: HAProxy's list of actions and its "did you mean"), its arguments, the condition, then the
misplaced-rule warnings. Every mistake in a rule aborts the parsing (ERR_ALERT | ERR_ABORT).

`http-request use-service <service>` keeps its own model (Proxy.http_services, model.UseService).
An action HAProxy has but trio-lb does not implement (tarpit, auth, set-map...) is refused with
"'http-request <action>' is not supported by trio-lb yet.".

`redirect location|prefix|scheme <dest> [options] [if|unless <cond>]` (a static destination)
appends a Rule running the same redirect action to Proxy.redirects. `errorfile <code> <file>`
stores the checked file's bytes in Proxy.errorfiles. `capture request|response header <name>
len <n>` appends a CaptureSlot to Proxy.captures (the order of %hr / %hs); `capture cookie <name>
len <n>` is validated and kept in Proxy.options as "capture cookie <name> len <n>" (model.py has no
field for it; trio-lb does not fill %CC / %CS from it yet).
"""

from __future__ import annotations

from trio_lb.config.keywords import Alert, Ctx, Keyword, _distance, _fingerprint, atol
from trio_lb.config.keywords.acl_rules import compile_condition
from trio_lb.config.model import UseService
from trio_lb.rules import actions as act
from trio_lb.rules import http_actions as ha
from trio_lb.rules.expr import ParseCtx

try:  # helper S's track-sc actions and sc_* fetches, when present
    from trio_lb.rules import track as _track  # noqa: F401
except ImportError:  # pragma: no cover - depends on a module written in parallel
    pass

# the services of `use-service` (a 2.6.12 build with promex lists only this one)
SERVICES = ("prometheus-exporter",)

# HAProxy 2.6.12's action keywords per rule set, in the order its error message lists them;
# "(*)" marks the prefix keywords (set-var(<name>), track-sc0...).
HAPROXY_ACTIONS = {
    "http-request": (
        "wait-for-handshake", "ot-group", "set-log-level", "set-nice", "use-service", "sc-inc-gpc(*)",
        "sc-inc-gpc0(*)", "sc-inc-gpc1(*)", "sc-set-gpt(*)", "sc-set-gpt0(*)", "send-spoe-group", "do-resolve(*)",
        "cache-use", "add-acl(*)", "add-header", "allow", "auth", "capture", "del-acl(*)", "del-header",
        "del-map(*)", "deny", "disable-l7-retry", "early-hint", "normalize-uri", "redirect", "reject",
        "replace-header", "replace-path", "replace-pathq", "replace-uri", "replace-value", "return", "set-header",
        "set-map(*)", "set-method", "set-path", "set-pathq", "set-query", "set-uri", "strict-mode", "tarpit",
        "track-sc(*)", "set-timeout", "wait-for-body", "set-var-fmt(*)", "set-var(*)", "unset-var(*)", "set-dst",
        "set-dst-port", "set-mark", "set-src", "set-src-port", "set-tos", "silent-drop", "set-priority-class",
        "set-priority-offset",
    ),
    "http-response": (
        "ot-group", "set-log-level", "set-nice", "sc-inc-gpc(*)", "sc-inc-gpc0(*)", "sc-inc-gpc1(*)",
        "sc-set-gpt(*)", "sc-set-gpt0(*)", "send-spoe-group", "cache-store", "add-acl(*)", "add-header", "allow",
        "capture", "del-acl(*)", "del-header", "del-map(*)", "deny", "redirect", "replace-header",
        "replace-value", "return", "set-header", "set-map(*)", "set-status", "strict-mode", "track-sc(*)",
        "wait-for-body", "set-var-fmt(*)", "set-var(*)", "unset-var(*)", "set-mark", "set-tos", "silent-drop",
    ),
    "http-after-response": (
        "ot-group", "add-header", "allow", "capture", "del-header", "replace-header", "replace-value",
        "set-header", "set-status", "strict-mode", "set-var-fmt(*)", "set-var(*)", "unset-var(*)",
    ),
}

_RULE_LISTS = {"http-request": "http_request_rules", "http-response": "http_response_rules",
               "http-after-response": "http_after_response_rules"}


def haproxy_action(ruleset: str, word: str) -> str | None:
    """The HAProxy keyword <word> names in <ruleset> (exact, else a prefix keyword), or None."""
    names = HAPROXY_ACTIONS[ruleset]
    if word in names:
        return word
    best = None
    for name in names:
        if name.endswith("(*)") and word.startswith(name[:-3]) and (best is None or len(name) > len(best)):
            best = name
    return best[:-3] if best else None


def suggest(ruleset: str, word: str) -> str | None:
    """action_suggest(): the closest keyword, with more tolerance for prefix keywords."""
    if not word:
        return None
    wfp = _fingerprint(word)
    best, best_dist, best_pfx = None, 1 << 30, False
    for name in HAPROXY_ACTIONS[ruleset]:
        kw, pfx = (name[:-3], True) if name.endswith("(*)") else (name, False)
        dist = _distance(wfp, _fingerprint(kw))
        if dist < best_dist:
            best, best_dist, best_pfx = kw, dist, pfx
    factor = 3 if best_pfx else 2
    if best is None or best_dist > factor * len(word) or best_dist > factor * len(best):
        return None
    return best


def _unknown_action(ctx: Ctx, ruleset: str, word: str) -> Alert:
    listing = ", ".join(f"'{n}'" for n in HAPROXY_ACTIONS[ruleset])
    best = suggest(ruleset, word)
    return ctx.error(f"'{ruleset}' expects {listing}, but got '{word}'{'' if word else ' (missing argument)'}."
                     + (f" Did you mean '{best}' maybe ?" if best else ""), tight=True, abort=True)


def parse_ctx(ctx: Ctx, ruleset: str) -> ParseCtx:
    return ParseCtx(proxy=ctx.px, file=ctx.file, line=ctx.line, base_dir=None, ruleset=ruleset,
                    compile_cond=lambda words: compile_condition(ctx, words))


def _flush_warnings(ctx: Ctx, pctx: ParseCtx) -> None:
    for text in pctx.warnings:
        ctx.warn(text)
    pctx.warnings.clear()


def _previous_final(ctx: Ctx, rules: list) -> None:
    if rules:
        last = rules[-1]
        if last.cond is None and last.action.name in ha.FINAL_ACTIONS:
            ctx.warn(f"previous '{ctx.kw}' action is final and has no condition attached, further entries are "
                     "NOOP.", tight=True)


def _misplaced(ctx: Ctx, redirect_too: bool) -> None:
    """warnif_misplaced_http_req() / warnif_misplaced_redirect()."""
    px = ctx.px
    if redirect_too and px.redirects:
        ctx.warn(f"a '{ctx.kw}' rule placed after a 'redirect' rule will still be processed before.")
    elif px.use_backends:
        ctx.warn(f"a '{ctx.kw}' rule placed after a 'use_backend' rule will still be processed before.")


def kw_rule(ctx: Ctx) -> None:
    """http-request / http-response / http-after-response."""
    ruleset = ctx.kw
    px = ctx.px
    if px.kind == "defaults" and not px.name:
        raise ctx.error(f"'{ruleset}' not allowed in anonymous 'defaults' section.")
    word = ctx.arg(1)
    if ruleset == "http-request" and word == "use-service":
        _use_service(ctx)
        return
    rules = getattr(px, _RULE_LISTS[ruleset])
    _previous_final(ctx, rules)
    hkw = haproxy_action(ruleset, word)
    if hkw is None:
        raise _unknown_action(ctx, ruleset, word)
    action = act.find(ruleset, word)
    if action is None or action.name != hkw:
        raise ctx.unsupported(f"{ruleset} {hkw}")
    pctx = parse_ctx(ctx, ruleset)
    words = ctx.words[1:]
    try:
        args, end = action.parse(words, 0, pctx)
    except ValueError as e:
        _flush_warnings(ctx, pctx)
        raise ctx.error(f"error detected in {ctx.proxy_type()} '{px.name}' while parsing '{ruleset} {word}' "
                        f"rule : {e}.", abort=True) from None
    _flush_warnings(ctx, pctx)
    cond = pctx.cond
    rest = words[end:] if end < len(words) else []
    if cond is None and rest and rest[0] in ("if", "unless"):
        try:
            cond = compile_condition(ctx, rest)
        except ValueError as e:
            raise ctx.error(f"error detected while parsing an '{ruleset} {word}' condition : {e}.",
                            abort=True) from None
    elif cond is None and rest and rest[0]:
        raise ctx.error(f"'{ruleset} {word}' expects either 'if' or 'unless' followed by a condition but found "
                        f"'{rest[0]}'.", tight=True, abort=True)
    if ruleset == "http-request":
        _misplaced(ctx, redirect_too=True)
    rules.append(act.Rule(action=action, args=args, cond=cond, file=ctx.file, line=ctx.line))


def _use_service(ctx: Ctx) -> None:
    px = ctx.px
    if px.use_backends:
        ctx.warn("a 'http-request' rule placed after a 'use_backend' rule will still be processed before.")
    name = ctx.arg(2)
    if not name:
        _rule_error(ctx, "'use-service' expects a service name.")
    if name not in SERVICES:
        _rule_error(ctx, f"'{name}' unknown service name.")
    cond = None
    if ctx.arg(3) in ("if", "unless"):
        try:
            cond = compile_condition(ctx, ctx.words[3:])
        except ValueError as e:
            raise ctx.error(f"error detected while parsing an 'http-request use-service' condition : {e}.",
                            abort=True) from None
    elif ctx.arg(3):
        raise ctx.error(f"'http-request use-service' expects either 'if' or 'unless' followed by a condition "
                        f"but found '{ctx.arg(3)}'.", tight=True, abort=True)
    px.http_services.append(UseService(name=name, cond=cond, file=ctx.file, line=ctx.line))
    # and a rule in its place among the others: a deny written before it keeps protecting it
    px.http_request_rules.append(act.Rule(USE_SERVICE, name, cond, ctx.file, ctx.line))


def _run_use_service(name: str, msg: object, view: object) -> act.Outcome:
    return act.Outcome("service", termination="LR", service=name)


def _parse_use_service(words: list[str], i: int, pctx: object) -> tuple[str, int]:
    raise ValueError("parsed by _use_service()")  # never registered: the keyword has its own parser


USE_SERVICE = act.ActionDef("use-service", _parse_use_service, _run_use_service)


def _rule_error(ctx: Ctx, err: str) -> None:
    """parse_http_req_cond(): an action parser's error, with HAProxy's doubled final period."""
    raise ctx.error(f"error detected in {ctx.proxy_type()} '{ctx.px.name}' while parsing "
                    f"'http-request {ctx.arg(1)}' rule : {err}.", abort=True)


# ---------------------------------------------------------------- redirect

REDIRECT_ACTION = act.ActionDef("redirect", ha.parse_redirect_action, ha.run_redirect)


def kw_redirect(ctx: Ctx) -> None:
    px = ctx.px
    if px.kind == "defaults":
        raise ctx.error("'redirect' not allowed in 'defaults' section.")
    pctx = parse_ctx(ctx, "http-request")
    try:
        args, _ = ha.parse_redirect_rule(ctx.words, 1, pctx, use_fmt=False)
    except ValueError as e:
        raise ctx.error(f"error detected in {ctx.proxy_type()} '{px.name}' while parsing redirect rule : {e}.") \
            from None
    px.redirects.append(act.Rule(action=REDIRECT_ACTION, args=args, cond=pctx.cond, file=ctx.file, line=ctx.line))
    _misplaced(ctx, redirect_too=False)


# ---------------------------------------------------------------- errorfile


def kw_errorfile(ctx: Ctx) -> None:
    if not ctx.arg(1) or not ctx.arg(2):
        raise ctx.error("errorfile : expects <status_code> and <file> as arguments.\n")
    status = atol(ctx.arg(1))
    if status not in ha.ERROR_CODES:
        raise ctx.error(f"errorfile : status code '{status}' not handled.")
    try:
        data = ha.load_errorfile(ctx.arg(2))
    except ValueError as e:
        raise ctx.error(f"errorfile : {e}") from None
    ctx.px.errorfiles[status] = data


# ---------------------------------------------------------------- capture


def kw_capture(ctx: Ctx) -> None:
    ctx.warn_not_cap("fe")
    px = ctx.px
    what = ctx.arg(1)
    if what == "cookie":
        if px.kind == "defaults":
            raise ctx.error("'capture cookie' not allowed in 'defaults' section.")
        ctx.too_many(4, 1)
        if not ctx.arg(4):
            raise ctx.error("'capture' expects 'cookie' <cookie_name> 'len' <len>.")
        px.options.add(f"capture cookie {ctx.arg(2)} len {atol(ctx.arg(4))}")
        return
    if what in ("request", "response") and ctx.arg(2) == "header":
        if px.kind == "defaults":
            raise ctx.error(f"'capture {what}' not allowed in 'defaults' section.")
        ctx.too_many(4, 1)
        if not ctx.arg(3) or ctx.arg(4) != "len" or not ctx.arg(5):
            raise ctx.error(f"'capture {what}' expects 'header' <header_name> 'len' <len>.")
        px.captures.append(ha.CaptureSlot(ctx.arg(3), atol(ctx.arg(5)), what == "response"))
        return
    raise ctx.error("'capture' expects 'cookie' or 'request header' or 'response header'.")


def kw_refused(ctx: Ctx) -> None:
    raise ctx.unsupported()


KEYWORDS = [
    Keyword("http-request", kw_rule, "dfbl"),
    Keyword("http-response", kw_rule, "dfbl"),
    Keyword("http-after-response", kw_rule, "dfbl"),
    Keyword("redirect", kw_redirect, "dfbl"),
    Keyword("capture", kw_capture, "dfbl"),
    Keyword("errorfile", kw_errorfile, "dfbl"),
    Keyword("errorfiles", kw_refused, "dfbl"),
]
