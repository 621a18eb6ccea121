"""`show stat` and `show info` (HAProxy's stats.c keywords), rendered by trio_lb.stats (the session
engine ends each reply block with its empty line, so the renderers are called with block=False).

The context object handed to every command by net/admin_server is the daemon's AdminContext
(net/admin_ctx.py): `runtime`, `now()` on the runtime's clock, and `process_info()`.
"""

from __future__ import annotations

from typing import Any

from trio_lb.admin.registry import Args, command
from trio_lb.admin.session import Session
from trio_lb.errors import CommandError
from trio_lb.stats import parse_show_stat, render_csv, render_info, render_resolvers_csv

# Formats of issue 3 still to come; said plainly rather than answered with the wrong format.
_NOT_YET = "'{}' output is not supported by trio-lb yet; use the default CSV.\n"


@command(("show", "stat"), "show stat [desc|json|no-maint|typed|up]*: report counters for each proxy and server")
def show_stat(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    request = parse_show_stat(list(args[2:]), ctx.runtime)
    if request.format != "csv":
        raise CommandError(_NOT_YET.format(request.format))
    if request.domain == "dns":
        return render_resolvers_csv(block=False)
    # HAProxy shows addr/cookie/algo only to sessions whose *socket* level is operator or more
    legends = session.socket_level != "user"
    return render_csv(ctx.runtime, ctx.now(), filter=request.filter, legends=legends, block=False)


@command(("show", "info"), "show info [desc|json|typed|float]*      : report information about the running process")
def show_info(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    for word in args[2:]:
        if word in ("json", "typed"):
            raise CommandError(_NOT_YET.format(word))
    return render_info(ctx.runtime, ctx.now(), ctx.process_info(), block=False)
