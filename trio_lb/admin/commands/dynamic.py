"""`add server` and `del server`: dynamic servers (HAProxy 2.6 src/server.c).

`add server <b>/<s> <addr>[:<port>] [kw args]*` parses the server like a config line (without
`default-server`, and only the keywords HAProxy flags dynamic: config/keywords/server.py), then
appends it to the backend in maintenance with its checks configured but off: the operator
brings it in with `set server <b>/<s> state ready` and, if it has `check`, `enable health`. It
gets the lowest free id. The backend must balance with a dynamic algorithm.

`del server <b>/<s>` takes out a server in maintenance that has no session, no queue and no
pooled connection, and that no other server tracks; its check task stops.

The checks are HAProxy's, in its order, with its texts: most have no final LF (cli_err() with
a literal), the parse errors do (they go through ha_alert()).
"""

from __future__ import annotations

from typing import Any

from trio_lb.admin.commands.server import ctx_hook, find_backend, find_in_backend, unchecked_health
from trio_lb.admin.messages import info
from trio_lb.admin.registry import Args, command
from trio_lb.admin.session import Session
from trio_lb.config.keywords import Alert
from trio_lb.config.keywords.server import parse_dynamic_server
from trio_lb.errors import CommandError
from trio_lb.state.proxies import BackendState
from trio_lb.state.servers import MAINT, ServerState
from trio_lb.tls.contexts import ServerTLS, TLSConfigError

REQUIRE_BS = "Require 'backend/server'."
NO_BACKEND = "No such backend."
NO_SERVER = "No such server."
NOT_DYNAMIC = "Backend must use a dynamic load balancing to support dynamic servers."
DUPLICATE = "Already exists a server with the same name in backend.\n"
REGISTERED = "New server registered.\n"
DELETED = "Server deleted."
NOT_IN_MAINT = "Only servers in maintenance mode can be deleted."
REFERENCED = "This server cannot be removed at runtime due to other configuration elements pointing to it."
BUSY = "Server still has connections attached to it, cannot remove it."


def split_designation(word: str) -> tuple[str, str]:
    """(backend, server) as HAProxy splits `<b>/<s>`: at the first '/' after the first
    character; CommandError when there is no server part."""
    cut = word.find("/", 1)
    if cut < 0 or cut == len(word) - 1:
        raise CommandError(REQUIRE_BS)
    return word[:cut], word[cut + 1:]


def _used_ids(backend: BackendState) -> dict[int, str]:
    return {s.id: f"{s.spec.file or '(null)'}:{s.spec.line} ('server {s.name}')" for s in backend.servers}


@command(("add", "server"), "add server <bk>/<srv>                   : create a new server", "admin")
def add_server(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    bk, name = split_designation(args.at(2))
    backend = find_backend(ctx.runtime, bk)
    if backend is None:
        raise CommandError(NO_BACKEND)
    if not backend.balancer.is_dynamic():
        raise CommandError(NOT_DYNAMIC)
    try:
        spec = parse_dynamic_server([name, *args[3:]], _used_ids(backend))
    except Alert as exc:
        raise CommandError(f"{exc}\n") from None
    if backend.server(spec.name) is not None:
        raise CommandError(DUPLICATE)
    _add_tls(ctx.runtime, backend, spec)  # before the server exists: a bad certificate adds nothing
    server = backend.add_server(spec, ctx.now())
    server.fresh = True
    if server.health is not None:
        server.set_checks(False)  # configured, not enabled: `enable health` turns them on
    else:
        unchecked_health(ctx)[backend.name, server.name] = 0
    ctx_hook(ctx, "on_server_added", backend, server)
    return info(REGISTERED)


def _tracked(ctx: Any, backend: BackendState, server: ServerState) -> bool:
    """Whether another server's `track` points at this one."""
    targets = {f"{backend.name}/{server.name}"}
    for other in ctx.runtime.backends.values():
        for s in other.servers:
            track = s.spec.options.get("track")
            if track in targets or (track == server.name and other is backend):
                return True
    return False


@command(("del", "server"), "del server <bk>/<srv>                   : remove a dynamically added server", "admin")
def del_server(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    bk, name = split_designation(args.at(2))
    backend = find_backend(ctx.runtime, bk)
    if backend is None:
        raise CommandError(NO_BACKEND)
    server = find_in_backend(backend, name)
    if server is None:
        raise CommandError(NO_SERVER)
    if _tracked(ctx, backend, server):
        raise CommandError(REFERENCED)
    if server.admin != MAINT:
        raise CommandError(NOT_IN_MAINT)
    if server.cur_sess or server.queue:
        raise CommandError(BUSY)
    backend.remove_server(server, ctx.now())
    ctx_hook(ctx, "on_server_removed", backend, server)
    unchecked_health(ctx).pop((backend.name, server.name), None)
    tls = getattr(ctx.runtime, "tls", None)
    if tls is not None:
        tls.servers.pop((backend.name, server.name), None)
        tls.checks.pop((backend.name, server.name), None)
    return info(DELETED)


def _add_tls(runtime: Any, backend: BackendState, spec: Any) -> None:
    """`ssl` / `check-ssl` on an added server: its TLS contexts, as the config's servers have."""
    tls = getattr(runtime, "tls", None)
    if tls is None:
        return
    key = (backend.name, spec.name)
    try:
        made = {check: ServerTLS.from_server(spec, runtime.config, check=check, store=tls.store)
                for check in (False, True)}
    except TLSConfigError as exc:
        raise CommandError(f"{exc}\n") from None
    for check, table in ((False, tls.servers), (True, tls.checks)):
        if made[check] is not None:
            table[key] = made[check]
