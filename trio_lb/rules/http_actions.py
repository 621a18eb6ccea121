"""The HTTP rule actions (HAProxy's http_act.c, http_htx.c replies, http_ana.c redirects).

How it works
------------
Each action is an `ActionDef` registered in trio_lb.rules.actions for the rule sets HAProxy allows
it in. Its parser compiles the words after the keyword once (log-format strings with
rules.expr.compile_fmt, regexes, reply bodies and files) into a small frozen args object and
raises ValueError with HAProxy's message; its runner applies the args to the `HttpMessage` being
processed (the request for http-request rules, the response for http-response and
http-after-response rules) and returns None to go on, or an `Outcome` to stop:

* header actions (set/add/del/replace-header, replace-value), request-line actions (set-path,
  set-query, set-uri, set-method) and set-status edit `msg` in place; after a request edit the
  RequestView is refreshed so that later conditions see the new request, as in HAProxy;
* set-var / unset-var / capture write the stream's RuleContext (`view.ctx`);
* allow ends the rule set with Outcome("allow");
* deny, return and redirect end it with a `Reply` (an Outcome of kind "reply") holding the status,
  the header lines (lower-case names, as HAProxy's H1 output), the body and the termination state
  for the log: "PR" for a request deny, "PH" for a response deny, "LR" for return and redirect.
  `reply_bytes(reply)` is the response to write to the client.

The replies themselves (reasons, payload options, errorfiles) live in trio_lb/rules/replies.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from trio_lb.rules.actions import ActionDef, Outcome, register
from trio_lb.rules.expr import (
    Fmt, ParseCtx, SampleExpr, check_var_name, compile_fmt, parse_expr_words, set_var, unset_var,
)
from trio_lb.rules.replies import (  # noqa: F401 - re-exported for the rule parsers and the data plane
    ERROR_CODES, Reply, ReplySpec, build_reply, error_reply, errorfile_reply, http_reason, load_errorfile, parse_reply,
    proxy_errorfile, reply_bytes,
)
from trio_lb.rules.sample import RequestView

REQ, RES, AFTER = "http-request", "http-response", "http-after-response"
_COND = ("if", "unless")

# ---------------------------------------------------------------- helpers


def _arg(words: list[str], k: int) -> str:
    return words[k] if k < len(words) else ""


def _end(words: list[str], k: int) -> bool:
    """No more argument at words[k] (end of line, or the condition starts)."""
    return not _arg(words, k) or words[k] in _COND


def _refresh(view: RequestView, msg: Any) -> None:
    """Make the RequestView show the edited request (its lazily cached parts are recomputed)."""
    if msg is None or msg.is_response or view is None:
        return
    refresh = getattr(view, "refresh", None)
    if refresh is not None:
        refresh(msg)
        return
    view.method, view.target, view.headers, view.version = msg.method, msg.target, msg.headers, msg.version
    fresh = RequestView(view.src, view.src_port, view.dst, view.dst_port)
    for slot in ("_path", "_query", "_lines", "_values"):
        setattr(view, slot, getattr(fresh, slot))


def _b(text: str) -> bytes:
    return text.encode("latin-1", "replace")


def remove_headers(msg: Any, match: Any) -> None:
    msg.headers[:] = [(n, v) for n, v in msg.headers if not match(n.decode("latin-1"))]


# ---------------------------------------------------------------- set-header / add-header


@dataclass(frozen=True)
class HeaderArgs:
    name: str
    fmt: Fmt
    replace: bool  # set-header


def parse_set_header(words: list[str], i: int, pctx: ParseCtx) -> tuple[HeaderArgs, int]:
    if not _arg(words, i + 1) or not _arg(words, i + 2):
        raise ValueError("expects exactly 2 arguments")
    fmt = compile_fmt(words[i + 2], pctx)
    return HeaderArgs(words[i + 1], fmt, words[i][0] == "s"), i + 3


def run_set_header(args: HeaderArgs, msg: Any, view: RequestView) -> None:
    value = args.fmt.render(view)
    lname = args.name.lower()
    if args.replace:
        remove_headers(msg, lambda n: n.lower() == lname)
    msg.headers.append((_b(lname), _b(value)))
    _refresh(view, msg)


# ---------------------------------------------------------------- del-header


@dataclass(frozen=True)
class DelHeaderArgs:
    name: str
    method: str
    regex: Any = None


def parse_del_header(words: list[str], i: int, pctx: ParseCtx) -> tuple[DelHeaderArgs, int]:
    if not _arg(words, i + 1):
        raise ValueError("expects at least 1 argument")
    name = words[i + 1]
    k = i + 2
    method, regex = "str", None
    if _arg(words, k) == "-m":
        if not _arg(words, k + 1):
            raise ValueError("-m flag expects exactly 1 argument")
        method = words[k + 1]
        if method not in ("str", "beg", "end", "sub", "reg"):
            raise ValueError(f"-m with unsupported matching method '{method}'")
        if method == "reg":
            regex = compile_regex(name)
        k += 2
    return DelHeaderArgs(name, method, regex), k


def _name_matcher(args: DelHeaderArgs) -> Any:
    want = args.name.lower()
    if args.method == "beg":
        return lambda n: n.lower().startswith(want)
    if args.method == "end":
        return lambda n: n.lower().endswith(want)
    if args.method == "sub":
        return lambda n: want in n.lower()
    if args.method == "reg":
        return lambda n: args.regex.search(n) is not None
    return lambda n: n.lower() == want


def run_del_header(args: DelHeaderArgs, msg: Any, view: RequestView) -> None:
    remove_headers(msg, _name_matcher(args))
    _refresh(view, msg)


# ---------------------------------------------------------------- replace-header / replace-value


# Python's regex errors as PCRE2 words them: (PCRE2 message, offset at the end of the text?)
_PCRE_ERRORS = {
    "missing ), unterminated subpattern": ("missing closing parenthesis", True),
    "unterminated character set": ("missing terminating ] for character class", True),
    "nothing to repeat": ("quantifier does not follow a repeatable item", False),
    "unbalanced parenthesis": ("unmatched closing parenthesis", False),
}


def compile_regex(text: str, icase: bool = False) -> re.Pattern[str]:
    """regex_comp(): a Python regex; errors worded as HAProxy's PCRE2 build words them."""
    try:
        return re.compile(text, re.IGNORECASE if icase else 0)
    except re.error as e:
        msg, at_end = _PCRE_ERRORS.get(e.msg, (e.msg, False))
        offset = len(text) if at_end else (e.pos or 0)
        raise ValueError(f"regex '{text}' is invalid (error={msg}, erroffset={offset})") from None


@dataclass(frozen=True)
class ReplaceHeaderArgs:
    name: str
    regex: re.Pattern[str]
    fmt: Fmt
    per_value: bool  # replace-value


def parse_replace_header(words: list[str], i: int, pctx: ParseCtx) -> tuple[ReplaceHeaderArgs, int]:
    if not _arg(words, i + 1) or not _arg(words, i + 2) or not _arg(words, i + 3):
        raise ValueError("expects exactly 3 arguments")
    regex = compile_regex(words[i + 2])
    fmt = compile_fmt(words[i + 3], pctx)
    return ReplaceHeaderArgs(words[i + 1], regex, fmt, words[i][8] == "v"), i + 4


def exp_replace(template: str, m: re.Match[str]) -> str:
    """exp_replace(): \\0-\\9 are the match's groups, \\\\ \\r \\n \\t escapes, the rest is literal."""
    out = []
    k = 0
    while k < len(template):
        ch = template[k]
        if ch == "\\" and k + 1 < len(template):
            nxt = template[k + 1]
            if nxt.isdigit():
                g = int(nxt)
                out.append((m.group(g) or "") if g <= (m.re.groups) else "")
            else:
                out.append({"r": "\r", "n": "\n", "t": "\t"}.get(nxt, nxt))
            k += 2
            continue
        out.append(ch)
        k += 1
    return "".join(out)


def _replace_one(value: str, regex: re.Pattern[str], template: str) -> str:
    m = regex.search(value)
    return value if m is None else exp_replace(template, m)


def run_replace_header(args: ReplaceHeaderArgs, msg: Any, view: RequestView) -> None:
    template = args.fmt.render(view)
    lname = args.name.lower()
    out = []
    for n, v in msg.headers:
        if n.decode("latin-1").lower() == lname:
            text = v.decode("latin-1")
            if args.per_value:
                text = ",".join(_replace_value(part, args.regex, template) for part in text.split(","))
            else:
                text = _replace_one(text, args.regex, template)
            v = _b(text)
        out.append((n, v))
    msg.headers[:] = out
    _refresh(view, msg)


def _replace_value(part: str, regex: re.Pattern[str], template: str) -> str:
    stripped = part.strip(" \t")
    if not stripped:
        return part
    lead = part[: len(part) - len(part.lstrip(" \t"))]
    trail = part[len(part.rstrip(" \t")) :]
    return lead + _replace_one(stripped, regex, template) + trail


# ---------------------------------------------------------------- set-path / set-query / set-uri / set-method


@dataclass(frozen=True)
class ReqLineArgs:
    what: str  # method | path | query | uri
    fmt: Fmt


def parse_set_req_line(words: list[str], i: int, pctx: ParseCtx) -> tuple[ReqLineArgs, int]:
    if not _arg(words, i + 1) or not _end(words, i + 2):
        raise ValueError("expects exactly 1 argument <format>")
    fmt = compile_fmt(words[i + 1], pctx)
    return ReqLineArgs(words[i][4:], fmt), i + 2


def _split_target(target: str) -> tuple[str, str, str]:
    """(scheme://authority, path, ?query) of a request target."""
    head = ""
    m = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?]*", target)
    if m:
        head = m.group()
    rest = target[len(head) :]
    path, q, query = rest.partition("?")
    return head, path, q + query


def run_set_req_line(args: ReqLineArgs, msg: Any, view: RequestView) -> None:
    value = args.fmt.render(view)
    target = msg.target or ""
    if args.what == "method":
        msg.method = value
    elif args.what == "uri":
        msg.target = value
    elif args.what == "path":
        head, _, query = _split_target(target)
        msg.target = head + value + query
    elif args.what == "query":
        head, path, query = _split_target(target)
        if query:
            msg.target = head + path + "?" + value
        elif value:
            msg.target = head + path + "?" + value
    _refresh(view, msg)


# ---------------------------------------------------------------- set-status


@dataclass(frozen=True)
class StatusArgs:
    status: int
    reason: str | None


def parse_set_status(words: list[str], i: int, pctx: ParseCtx) -> tuple[StatusArgs, int]:
    text = _arg(words, i + 1)
    if not text:
        raise ValueError("expects 1 argument: <status>; or 3 arguments: <status> reason <fmt>")
    m = re.fullmatch(r"\s*[+-]?\d+", text)
    status = int(text) if m else -1
    if status < 100 or status > 999:
        raise ValueError("expects an integer status code between 100 and 999")
    k = i + 2
    reason = None
    if _arg(words, k) == "reason" and not _end(words, k + 1):
        reason = words[k + 1]
        k += 2
    return StatusArgs(status, reason), k


def run_set_status(args: StatusArgs, msg: Any, view: RequestView) -> None:
    msg.status = args.status
    msg.reason = args.reason if args.reason is not None else http_reason(args.status)


# ---------------------------------------------------------------- allow / deny / return


def parse_allow(words: list[str], i: int, pctx: ParseCtx) -> tuple[None, int]:
    return None, i + 1


def run_allow(args: None, msg: Any, view: RequestView) -> Outcome:
    return Outcome("allow")


@dataclass(frozen=True)
class DenyArgs:
    reply: ReplySpec
    termination: str


def parse_deny(words: list[str], i: int, pctx: ParseCtx) -> tuple[DenyArgs, int]:
    response = pctx.ruleset != REQ
    default = 502 if response else 403
    term = "PH" if response else "PR"
    k = i + 1
    if _end(words, k):
        spec, _ = parse_reply(["default-errorfiles"], 0, pctx, default)
        return DenyArgs(spec, term), k
    if words[k] == "deny_status":
        if _end(words, k + 2):
            spec, _ = parse_reply(["status", _arg(words, k + 1), "default-errorfiles"], 0, pctx, default)
            return DenyArgs(spec, term), k + 2
        words = words[:k] + ["status"] + words[k + 1 :]  # HAProxy skips "deny_" and goes on
    spec, k = parse_reply(words, k, pctx, default)
    return DenyArgs(spec, term), k


def run_deny(args: DenyArgs, msg: Any, view: RequestView) -> Outcome:
    return build_reply(args.reply, view, args.termination)


@dataclass(frozen=True)
class ReturnArgs:
    reply: ReplySpec
    termination: str


def parse_return(words: list[str], i: int, pctx: ParseCtx) -> tuple[ReturnArgs, int]:
    spec, k = parse_reply(words, i + 1, pctx, 200)
    return ReturnArgs(spec, "LR" if pctx.ruleset == REQ else "LH"), k


def run_return(args: ReturnArgs, msg: Any, view: RequestView) -> Outcome:
    return build_reply(args.reply, view, args.termination)


# ---------------------------------------------------------------- redirect

REDIRECT_CODES = {301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect",
                  308: "Permanent Redirect"}


@dataclass(frozen=True)
class RedirectArgs:
    type: str  # location | prefix | scheme
    dest: str  # the static destination (legacy `redirect` keyword)
    fmt: Fmt | None  # the log-format destination (http-request / http-response redirect)
    code: int = 302
    drop_query: bool = False
    append_slash: bool = False
    ignore_empty: bool = False
    cookie: str | None = None  # the Set-Cookie value
    from_request: bool = True


def parse_redirect_rule(words: list[str], i: int, pctx: ParseCtx, use_fmt: bool,
                        response: bool = False) -> tuple[RedirectArgs, int]:
    """http_parse_redirect_rule() from words[i] (after the `redirect` word); a trailing condition is
    compiled with pctx.compile_cond and left in pctx.cond. Returns (args, len(words))."""
    rtype, dest = "", ""
    code = 302
    flags = {"drop-query": False, "append-slash": False, "ignore-empty": False}
    cookie: str | None = None
    k = i
    while _arg(words, k):
        word = words[k]
        if word in ("location", "prefix", "scheme", "set-cookie", "clear-cookie", "code"):
            if not _arg(words, k + 1):
                raise ValueError(f"missing argument for '{word}'")
            value = words[k + 1]
            if word == "set-cookie":
                cookie = value + "; path=/;"
            elif word == "clear-cookie":
                cookie = value + "; path=/; Max-Age=0;"
            elif word == "code":
                from trio_lb.config.keywords import atol

                code = atol(value)
                if code not in REDIRECT_CODES:
                    raise ValueError(f"'code': unsupported HTTP code '{value}' (must be one of 301, 302, 303, "
                                     "307 or 308)")
            else:
                rtype, dest = word, value
            k += 2
        elif word in flags:
            flags[word] = True
            k += 1
        elif word in _COND:
            if pctx.compile_cond is None:
                raise ValueError("error in condition: conditions are not allowed here")
            try:
                pctx.cond = pctx.compile_cond(words[k:])
            except ValueError as e:
                raise ValueError(f"error in condition: {e}") from None
            break
        else:
            raise ValueError("expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', "
                             f"'drop-query', 'ignore-empty' or 'append-slash' (was '{word}')")
    if not rtype:
        raise ValueError("redirection type expected ('prefix', 'location', or 'scheme')")
    if response and rtype != "location":
        raise ValueError("response only supports redirect type 'location'")
    fmt = None
    if use_fmt and not (rtype == "prefix" and dest == "/"):
        fmt = compile_fmt(dest, pctx)
    args = RedirectArgs(rtype, dest, fmt, code, flags["drop-query"], flags["append-slash"], flags["ignore-empty"],
                        cookie, not response)
    return args, len(words)


def parse_redirect_action(words: list[str], i: int, pctx: ParseCtx) -> tuple[RedirectArgs, int]:
    return parse_redirect_rule(words, i + 1, pctx, use_fmt=True, response=pctx.ruleset != REQ)


def _dest(args: RedirectArgs, view: RequestView) -> str:
    return args.fmt.render(view) if args.fmt is not None else args.dest


def redirect_location(args: RedirectArgs, view: RequestView) -> str | None:
    """The Location of a redirect (None: an empty `ignore-empty` location, the rule does nothing)."""
    if args.type == "location":
        loc = _dest(args, view)
        if not loc and args.ignore_empty and args.fmt is not None:
            return None
        return loc
    target = view.target or ""
    _, path, query = _split_target(target)
    path = (path + query) if path else "/"
    if args.drop_query:
        path = path.split("?", 1)[0]
    if args.type == "scheme":
        host = view.header_lines("host")
        loc = _dest(args, view) + "://" + (host[0] if host else "") + path
    else:
        prefix = "" if args.fmt is None and args.dest == "/" else _dest(args, view)
        loc = prefix + path
    if args.append_slash and loc and not loc.endswith("/"):
        loc += "/"
    return loc


def redirect_reply(args: RedirectArgs, view: RequestView) -> Reply | None:
    loc = redirect_location(args, view)
    if loc is None:
        return None
    headers = [(b"content-length", b"0"), (b"location", _b(loc))]
    if args.code in (302, 303, 307):
        headers.append((b"cache-control", b"no-cache"))
    if args.cookie is not None:
        headers.append((b"set-cookie", _b(args.cookie)))
    return Reply(kind="reply", status=args.code, headers=headers, body=b"", termination="LR",
                 reason=REDIRECT_CODES[args.code])


def run_redirect(args: RedirectArgs, msg: Any, view: RequestView) -> Outcome | None:
    return redirect_reply(args, view)


# ---------------------------------------------------------------- set-var / unset-var


@dataclass(frozen=True)
class VarArgs:
    name: str
    expr: SampleExpr | None


def _var_name(word: str, action: str) -> str:
    if not word.startswith(action + "(") or not word.endswith(")"):
        raise ValueError(f"invalid variable '{word}'. Expects '{action}(<var-name>)'")
    name = word[len(action) + 1 : -1]
    err = check_var_name(name)
    if err:
        raise ValueError(err)
    return name


def parse_set_var(words: list[str], i: int, pctx: ParseCtx) -> tuple[VarArgs, int]:
    name = _var_name(words[i], "set-var")
    expr, k = parse_expr_words(words, i + 1, pctx)
    return VarArgs(name, expr), k


def run_set_var(args: VarArgs, msg: Any, view: RequestView) -> None:
    assert args.expr is not None
    value = args.expr.eval(view)
    if value is not None:
        set_var(view, args.name, (args.expr.out_type, value))


def parse_unset_var(words: list[str], i: int, pctx: ParseCtx) -> tuple[VarArgs, int]:
    return VarArgs(_var_name(words[i], "unset-var"), None), i + 1


def run_unset_var(args: VarArgs, msg: Any, view: RequestView) -> None:
    unset_var(view, args.name)


# ---------------------------------------------------------------- capture (http-request capture <expr> len <n>)


@dataclass(frozen=True)
class CaptureArgs:
    expr: SampleExpr
    length: int
    slot: int  # index in RuleContext.captures (the proxy's capture slots, declaration order)


@dataclass(frozen=True)
class CaptureSlot:
    """One capture slot of a frontend: `capture request header <name> len <n>` (name set) or an
    `http-request capture <expr> len <n>` rule (name None); `response` for response headers."""

    name: str | None
    length: int
    response: bool = False


def parse_capture(words: list[str], i: int, pctx: ParseCtx) -> tuple[CaptureArgs, int]:
    k = i + 1
    while k < i + 4 and _arg(words, k) and words[k] not in _COND:
        k += 1
    if k < i + 4:
        raise ValueError("expects <expression> [ 'len' <length> | id <idx> ]")
    expr, k = parse_expr_words(words, i + 1, pctx)
    word = _arg(words, k)
    if not word:
        raise ValueError("expects 'len or 'id'")
    if word == "id":
        raise ValueError("'capture ... id <idx>' is not supported by trio-lb yet")
    if word != "len":
        raise ValueError(f"expects 'len' or 'id', found '{word}'")
    px = pctx.proxy
    if px is not None and not px.has_frontend:
        raise ValueError(f"proxy '{px.name}' has no frontend capability")
    from trio_lb.config.keywords import atol

    length = atol(_arg(words, k + 1))
    if length <= 0:
        raise ValueError("length must be > 0")
    slot = 0
    if px is not None:
        slot = sum(1 for c in px.captures if not c.response)
        px.captures.append(CaptureSlot(None, length))
    return CaptureArgs(expr, length, slot), k + 2


def run_capture(args: CaptureArgs, msg: Any, view: RequestView) -> None:
    value = args.expr.eval_str(view)
    ctx = view.ctx
    if value is None or ctx is None:
        return
    caps = ctx.captures
    while len(caps) <= args.slot:
        caps.append(None)
    caps[args.slot] = value[: args.length]


def capture_headers(slots: list[CaptureSlot], headers: list[tuple[bytes, bytes]], response: bool,
                    into: list[str | None] | None = None) -> list[str | None]:
    """Fill the `capture request|response header` slots from a message's headers (the last
    occurrence's full line, truncated to the slot's length); slots filled by `http-request capture`
    rules are left as they are. Returns the list for %hr / %hs."""
    mine = [s for s in slots if s.response == response]
    out = list(into or [])
    while len(out) < len(mine):
        out.append(None)
    for idx, slot in enumerate(mine):
        if slot.name is None:
            continue
        want = slot.name.lower().encode("latin-1", "replace")
        value = None
        for n, v in headers:
            if n.lower() == want:
                value = v.decode("latin-1")
        out[idx] = None if value is None else value[: slot.length]
    return out


# ---------------------------------------------------------------- registration


def _reg(rulesets: tuple[str, ...], name: str, parse: Any, run: Any, prefix: bool = False) -> None:
    from trio_lb.rules.actions import ACTIONS

    rulesets = tuple(r for r in rulesets if name not in ACTIONS[r])
    register(rulesets, ActionDef(name, parse, run, prefix))


ALL3 = (REQ, RES, AFTER)
for _name in ("set-header", "add-header"):
    _reg(ALL3, _name, parse_set_header, run_set_header)
_reg(ALL3, "del-header", parse_del_header, run_del_header)
for _name in ("replace-header", "replace-value"):
    _reg(ALL3, _name, parse_replace_header, run_replace_header)
for _name in ("set-path", "set-query", "set-uri", "set-method"):
    _reg((REQ,), _name, parse_set_req_line, run_set_req_line)
_reg((RES, AFTER), "set-status", parse_set_status, run_set_status)
_reg(ALL3, "allow", parse_allow, run_allow)
_reg((REQ, RES), "deny", parse_deny, run_deny)
_reg((REQ, RES), "return", parse_return, run_return)
_reg((REQ, RES), "redirect", parse_redirect_action, run_redirect)
_reg(ALL3, "set-var", parse_set_var, run_set_var, prefix=True)
_reg(ALL3, "unset-var", parse_unset_var, run_unset_var, prefix=True)
_reg((REQ,), "capture", parse_capture, run_capture)

FINAL_ACTIONS = frozenset({"allow", "deny", "return", "redirect", "tarpit", "reject", "auth", "use-service"})
