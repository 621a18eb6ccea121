"""What `show stat` was asked for: the row filter and the output format, parsed as HAProxy does.

    show stat [domain proxy|resolvers] [{<iid>|<proxy>} <type> <sid>] [typed|json] [desc] [up|no-maint]

`<iid>` is a proxy name or a number (-1 = all), `<type>` a bit mask (1 frontend, 2 backend,
4 server, 8 listener; -1 = all), `<sid>` a server or listener id (-1 = all); the three are
only taken as a filter when all three are present. Numbers are read with C's atoi(), so
"abc" is 0 and "3x" is 3, as in cli_parse_show_stat(). The HTTP stats page builds a
StatFilter directly from its `;up` / `;no-maint` options.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from trio_lb.errors import CommandError

if TYPE_CHECKING:
    from trio_lb.state.proxies import Runtime

_TYPE_BITS = {"F": 1, "B": 2, "S": 4, "L": 8}


@dataclass(frozen=True)
class StatFilter:
    iid: int = -1  # proxy id, -1 = every proxy
    types: int = -1  # mask of row kinds (1 F, 2 B, 4 S, 8 L), -1 = all
    sid: int = -1  # server / listener id, -1 = all
    hide_down: bool = False  # `up`: no MAINT servers, no DOWN servers that are not changing
    hide_maint: bool = False  # `no-maint`: no MAINT servers

    def wants_proxy(self, proxy_id: int) -> bool:
        return self.iid == -1 or proxy_id == self.iid

    def wants_type(self, kind: str) -> bool:
        return bool(self.types & _TYPE_BITS[kind])

    def wants_sid(self, sid: int) -> bool:
        return self.sid == -1 or sid == self.sid


@dataclass(frozen=True)
class StatRequest:
    filter: StatFilter
    format: Literal["csv", "typed", "json"] = "csv"
    desc: bool = False  # `desc`: field descriptions (typed / json)
    domain: Literal["proxy", "resolvers"] = "proxy"


def atoi(text: str) -> int:
    """C atoi(): optional blanks and sign, then the leading digits; 0 when there are none."""
    m = re.match(r"\s*([+-]?\d+)", text)
    if not m:
        return 0
    value = int(m.group(1))
    return max(-(1 << 31), min(value, (1 << 31) - 1))


def parse_show_stat(args: list[str], runtime: Runtime) -> StatRequest:
    """The words after `show stat`; raises CommandError with HAProxy's reply on bad input."""
    args = list(args)
    domain: Literal["proxy", "resolvers"] = "proxy"
    if args[:1] == ["domain"]:
        if args[1:2] not in (["proxy"], ["resolvers"]):
            raise CommandError("Invalid statistics domain.\n")
        domain = args[1]  # type: ignore[assignment]
        args = args[2:]
    iid, types, sid = -1, -1, -1
    if domain == "proxy" and len(args) >= 3 and all(args[:3]):
        proxy = next((p for p in runtime.config.proxies if p.name == args[0] and p.kind != "defaults"), None)
        iid = proxy.id if proxy is not None else atoi(args[0])
        if not iid:
            raise CommandError("No such proxy.\n")
        types, sid = atoi(args[1]), atoi(args[2])
        args = args[3:]
    fmt: Literal["csv", "typed", "json"] = "csv"
    desc = hide_down = hide_maint = False
    for word in args:
        if word in ("typed", "json"):
            fmt = word  # type: ignore[assignment]
        elif word == "desc":
            desc = True
        elif word == "up":
            hide_down = True
        elif word == "no-maint":
            hide_maint = True
    return StatRequest(StatFilter(iid, types, sid, hide_down, hide_maint), fmt, desc, domain)
