"""`show activity` and `show pools`: HAProxy's formats, filled with what trio-lb has.

HAProxy prints per-thread internals of its scheduler and of its memory pools. trio-lb runs one
thread, one trio event loop, and Python's allocator, so the lines keep HAProxy's shape (`name:
total [ per-thread ]`; `  - Pool <name> (<size> bytes) : ...`) and carry only values that mean
something here, under HAProxy's name where the meaning is the same (`accepted`) and under their
own name otherwise (`tasks`, `run_queue`, `io_waits` are trio's scheduler statistics). The pools
are the kinds of objects trio-lb keeps per connection: live streams and pooled idle server
connections, with the size of one object as Python reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trio_lb.admin.registry import Args, command
from trio_lb.admin.session import Session

POOLS_HEADER = "Dumping pools usage. Use SIGQUIT to flush them.\n"


@dataclass
class Pool:
    name: str
    size: int  # bytes per object
    used: int  # objects alive now
    address: int  # where the pool's description lives (HAProxy prints its pool's address)


def activity_text(now: float, counters: list[tuple[str, int]]) -> str:
    lines = ["thread_id: 1 (1..1)", f"date_now: {now:.6f}"]
    lines += [f"{name}: {value} [ {value} ]" for name, value in counters]
    return "\n".join(lines) + "\n"


def pools_text(pools: list[Pool]) -> str:
    out = [POOLS_HEADER]
    total = 0
    for p in sorted(pools, key=lambda p: p.size):
        size = p.size * p.used
        total += size
        out.append(f"  - Pool {p.name} ({p.size} bytes) : {p.used} allocated ({size} bytes), {p.used} used "
                   f"(~0 by thread caches), needed_avg {p.used}, 0 failures, 1 users, @{p.address:#x} [SHARED]\n")
    out.append(f"Total: {len(pools)} pools, {total} bytes allocated, {total} used (~0 by thread caches).\n")
    return "".join(out)


@command(("show", "activity"), "show activity                           : show per-thread activity stats (for support/developers)")
def show_activity(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return activity_text(ctx.wall_time(), ctx.activity())


@command(("show", "pools"), "show pools                              : report information about the memory pools usage")
def show_pools(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    return pools_text(ctx.pools())
