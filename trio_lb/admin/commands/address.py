"""`set server <b>/<s> addr <ip> [port <p>]` and `set server <b>/<s> check-port <p>`.

A port of HAProxy 2.6's srv_update_addr_port() and of the check-port branch of
cli_parse_set_server(), with their exact messages (verified against 2.6.12): the address must be
an IPv4 or IPv6 literal; the port is read with strtol() and stored in 16 bits (70000 becomes
4464); `+N`/`-N` make it a port map (client's port plus an offset), refused when health checks
have no port of their own to fall back on. The reply always says what changed.

Effects are immediate: new connections and the next health check go to the new address; the
idle pooled connections to the old one are closed (`ctx.on_server_maint`).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from trio_lb.admin.cparse import LONG_MAX, strtol
from trio_lb.admin.messages import Message
from trio_lb.errors import CommandError
from trio_lb.state.proxies import BackendState
from trio_lb.state.servers import ServerState

ADDR_REQUIRED = "set server <b>/<s> addr requires an address and optionally a port.\n"
CHECK_PORT_REQUIRED = "set server <b>/<s> check-port requires a port.\n"
CHECKS_NOT_ENABLED = "health checks are not enabled on this server"  # no LF, as HAProxy
PORT_NOT_INTEGER = "provided port is not an integer"  # no LF
PORT_INVALID = "provided port is invalid"  # no LF
PORT_MAP_REFUSED = ("can't change <port> to port map because it is incompatible with current health check port "
                    "configuration (use 'port' statement from the 'server' directive.")
UPDATER = "stats socket command"
LOG_WARNING = 4

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip(text: str) -> IpAddress | None:
    """str2ip2(text, resolve=0): an IP literal; `*` is the IPv4 any address."""
    if text == "*":
        text = "0.0.0.0"
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _current_port(server: ServerState) -> tuple[int, bool]:
    """(svc_port, mapped): the fixed port, or the offset of a port map."""
    if server.port is None:
        return server.port_offset & 0xFFFF, True
    return server.port, False


def update_addr_port(server: ServerState, addr: str, port: str | None) -> tuple[str, bool]:
    """srv_update_addr_port(): apply what applies; (the message, whether anything changed)."""
    msg = ""
    changed = False
    new_ip = _ip(addr)
    if new_ip is None:
        return f"Invalid addr '{addr}' by '{UPDATER}'\n", False
    old_ip = _ip(server.host or "0.0.0.0")
    if old_ip == new_ip:
        msg = "no need to change the addr"
    else:
        msg = f"IP changed from '{server.host or '0.0.0.0'}' to '{addr}'"
        server.host = str(new_ip)
        changed = True
    if port is not None:
        msg += ", " + _update_port(server, port)
        changed = changed or "port changed" in msg
    return f"{msg} by '{UPDATER}'\n", changed


def _update_port(server: ServerState, text: str) -> str:
    value, _ = strtol(text)
    if value is None or value in (LONG_MAX, -LONG_MAX - 1):  # no digits, or ERANGE
        return f"problem converting port '{text}' to an int"
    sign = text[:1]
    new = value & 0xFFFF  # HAProxy stores it in a uint16_t
    current, mapped = _current_port(server)
    if sign in ("+", "-"):
        if not mapped and not server.check_port:
            return PORT_MAP_REFUSED
        required = not mapped or current != new
    else:
        required = current != new
    if not required:
        return "no need to change the port"
    before = f"{'+' if mapped else ''}{current}"
    if sign in ("+", "-"):
        server.port, server.port_offset = None, new
        shown = f"{sign}{(-new) & 0xFFFF if sign == '-' else new}"
    else:
        server.port, server.port_offset = new, 0
        shown = str(new)
    return f"port changed from '{before}' to '{shown}'"


def set_addr(ctx: Any, backend: BackendState, server: ServerState, args: Any) -> Message:
    addr = args.at(4)
    if not addr:
        raise CommandError(ADDR_REQUIRED)
    port = args.at(6) if args.at(5) == "port" else None
    text, changed = update_addr_port(server, addr, port)
    hook = getattr(ctx, "on_server_maint", None)
    if changed and hook is not None:
        hook(server)  # srv_cleanup_connections(): pooled connections lead to the old address
    return Message(text, LOG_WARNING)


def set_check_port(ctx: Any, backend: BackendState, server: ServerState, args: Any) -> str:
    text = args.at(4)
    if not text:
        raise CommandError(CHECK_PORT_REQUIRED)
    if server.health is None:
        raise CommandError(CHECKS_NOT_ENABLED)
    value, rest = strtol(text)
    if value is None or rest:
        raise CommandError(PORT_NOT_INTEGER)
    if not 0 <= value <= 65535:
        raise CommandError(PORT_INVALID)
    server.check_port = value
    return ""
