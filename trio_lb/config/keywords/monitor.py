"""`monitor-uri` and `monitor fail` (the load balancer's own health endpoint, issue 5).

Refused with "'<kw>' is not supported by trio-lb yet." until implemented.
"""

from __future__ import annotations

from trio_lb.config.keywords import Ctx, Keyword


def kw_monitor(ctx: Ctx) -> None:
    raise ctx.unsupported()


KEYWORDS = [
    Keyword("monitor", kw_monitor, "dfbl"),
    Keyword("monitor-uri", kw_monitor, "dfbl"),
]
