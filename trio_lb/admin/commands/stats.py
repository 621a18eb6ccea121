"""`show stat`, `show info` and `show schema json` (HAProxy's stats.c keywords), rendered by
trio_lb.stats (the session engine ends each reply block with its empty line, so the renderers
are called with block=False).

The words after the keywords are read as HAProxy 2.6 reads them: for `show stat`, see
stats.selection (the last of `typed`/`json` wins; `desc` only changes `typed`); for `show info`,
any of `typed`, `json` (the last wins), `desc` (text and typed only) and `float`, unknown words
ignored. The context object handed to every command by net/admin_server is the daemon's
AdminContext (net/admin_ctx.py): `runtime`, `now()` on the runtime's clock, `process_info()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

from trio_lb.admin.registry import Args, command
from trio_lb.admin.session import Session
from trio_lb.stats import (StatRequest, parse_show_stat, render_csv, render_info_json, render_info_text,
                           render_info_typed, render_resolvers_csv, render_resolvers_json,
                           render_resolvers_typed, render_schema_json, render_stat_json, render_stat_typed)

InfoFormat = Literal["text", "typed", "json"]


# --- show stat ----------------------------------------------------------------------------------

def _stat_csv(ctx: Any, req: StatRequest, legends: bool) -> str:
    return render_csv(ctx.runtime, ctx.now(), filter=req.filter, legends=legends, block=False)


def _stat_typed(ctx: Any, req: StatRequest, legends: bool) -> str:
    return render_stat_typed(ctx.runtime, ctx.now(), filter=req.filter, legends=legends, desc=req.desc,
                             block=False)


def _stat_json(ctx: Any, req: StatRequest, legends: bool) -> str:
    return render_stat_json(ctx.runtime, ctx.now(), filter=req.filter, legends=legends, block=False)


_STAT: dict[str, Callable[[Any, StatRequest, bool], str]] = {
    "csv": _stat_csv, "typed": _stat_typed, "json": _stat_json,
}
_RESOLVERS: dict[str, Callable[..., str]] = {
    "csv": render_resolvers_csv, "typed": render_resolvers_typed, "json": render_resolvers_json,
}


@command(("show", "stat"), "show stat [desc|json|no-maint|typed|up]*: report counters for each proxy and server")
def show_stat(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    request = parse_show_stat(list(args[2:]), ctx.runtime)
    if request.domain == "resolvers":
        return _RESOLVERS[request.format](block=False)
    # HAProxy shows addr/cookie/algo only to sessions whose *socket* level is operator or more
    legends = session.socket_level != "user"
    return _STAT[request.format](ctx, request, legends)


# --- show info ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InfoRequest:
    format: InfoFormat = "text"
    desc: bool = False
    use_float: bool = False


def parse_show_info(words: list[str]) -> InfoRequest:
    """The words after `show info`, as cli_parse_show_info() reads them."""
    fmt: InfoFormat = "text"
    for word in words:
        if word in ("typed", "json"):
            fmt = word  # type: ignore[assignment]
    return InfoRequest(fmt, "desc" in words, "float" in words)


def _info_text(ctx: Any, req: InfoRequest) -> str:
    return render_info_text(ctx.runtime, ctx.now(), ctx.process_info(), desc=req.desc, use_float=req.use_float,
                            block=False)


def _info_typed(ctx: Any, req: InfoRequest) -> str:
    return render_info_typed(ctx.runtime, ctx.now(), ctx.process_info(), desc=req.desc,
                             use_float=req.use_float, block=False)


def _info_json(ctx: Any, req: InfoRequest) -> str:
    return render_info_json(ctx.runtime, ctx.now(), ctx.process_info(), use_float=req.use_float, block=False)


_INFO: dict[str, Callable[[Any, InfoRequest], str]] = {
    "text": _info_text, "typed": _info_typed, "json": _info_json,
}


@command(("show", "info"), "show info [desc|json|typed|float]*      : report information about the running process")
def show_info(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    request = parse_show_info(list(args[2:]))
    return _INFO[request.format](ctx, request)


# --- show schema json ---------------------------------------------------------------------------

@command(("show", "schema", "json"), "show schema json                        : report schema used for stats")
def show_schema_json(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return render_schema_json(block=False)
