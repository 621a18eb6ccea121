"""`http-request` rules (issue 5 brings `use-service prometheus-exporter`; issue 6 the others).

Until a rule is implemented it is refused with "'http-request' is not supported by trio-lb yet."
so that nobody believes, say, a deny rule is in force.
"""

from __future__ import annotations

from trio_lb.config.keywords import Ctx, Keyword


def kw_http_request(ctx: Ctx) -> None:
    raise ctx.unsupported()


KEYWORDS = [
    Keyword("http-request", kw_http_request, "dfbl"),
]
