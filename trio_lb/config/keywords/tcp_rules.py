"""`tcp-request` rules (connection and content).

Refused with "'<kw>' is not supported by trio-lb yet." until implemented (issue 6).
"""

from __future__ import annotations

from trio_lb.config.keywords import Ctx, Keyword


def kw_refused(ctx: Ctx) -> None:
    raise ctx.unsupported()


KEYWORDS = [
    Keyword("tcp-request", kw_refused, "dfbl"),
]
