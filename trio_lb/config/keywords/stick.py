"""Stick tables: `stick-table`, `stick on|match|store-request|store-response`.

Refused with "'<kw>' is not supported by trio-lb yet." until implemented (issue 6).
"""

from __future__ import annotations

from trio_lb.config.keywords import Ctx, Keyword


def kw_refused(ctx: Ctx) -> None:
    raise ctx.unsupported()


KEYWORDS = [
    Keyword("stick-table", kw_refused, "dfbl"),
    Keyword("stick", kw_refused, "dfbl"),
]
