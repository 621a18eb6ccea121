"""`show errors [<iid>|<proxy>] [request|response]` (HAProxy 2.6 src/proxy.c).

The snapshots live in `ctx.runtime.error_log` (a trio_lb.http.errcapture.ErrorLog the data
plane feeds); the header's date is the wall clock, `ctx.wall_time()`.

Argument handling is cli_parse_show_errors()'s: the word is first looked up as a proxy name
or `#<id>` (frontend, backend or listen); otherwise it is read with atoi(), so `#99` or `foo`
give 0 and `No such proxy.`, an unknown number just matches nothing, and a negative one means every
proxy. A proxy filter also keeps the snapshots whose other end is that proxy (a backend's
number shows the requests its frontends rejected while routing to it). The third word selects
one direction when it is exactly `request` or `response`; anything else shows both.
"""

from __future__ import annotations

from typing import Any

from trio_lb.admin.cparse import atoi
from trio_lb.admin.registry import Args, command
from trio_lb.admin.session import Session
from trio_lb.errors import CommandError
from trio_lb.http.errcapture import ErrorLog

NO_SUCH_PROXY = "No such proxy.\n"


def _proxies(runtime: Any) -> list[Any]:
    return [p for p in runtime.config.proxies if p.kind != "defaults"]


def parse_filter(runtime: Any, word: str) -> set[int] | None:
    """The proxy ids to keep (None: all) for `word`, or CommandError as HAProxy says it."""
    if not word:
        return None
    for proxy in _proxies(runtime):
        if proxy.name == word or word == f"#{proxy.id}":  # proxy_find_by_name() takes `#<id>` too
            return {proxy.id}
    iid = atoi(word)
    if iid == 0:
        raise CommandError(NO_SUCH_PROXY)
    return None if iid < 0 else {iid}


def show_errors_text(runtime: Any, error_log: ErrorLog, epoch: float, args: Args) -> str:
    ids = parse_filter(runtime, args.at(2))
    direction = args.at(3) if args.at(3) in ("request", "response") else None
    order = [p.id for p in _proxies(runtime)]
    return error_log.render(epoch, ids, direction, order=order)


@command(("show", "errors"),
         "show errors [<px>] [request|response]   : report last request and/or response errors for each proxy",
         "operator")
def show_errors(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    error_log = getattr(ctx.runtime, "error_log", None)
    if error_log is None:
        error_log = ErrorLog()
    wall_time = getattr(ctx, "wall_time", None)
    epoch = wall_time() if wall_time is not None else ctx.process_info().epoch
    return show_errors_text(ctx.runtime, error_log, epoch, args)
