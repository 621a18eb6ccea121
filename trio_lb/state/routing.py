"""Frontend -> backend routing: `use_backend <b> if|unless <cond>` in order, then `default_backend`.

Built once per frontend at start-up with the backends resolved, so a request costs one
condition evaluation per rule and no name lookups.
"""

from __future__ import annotations

from typing import Any

from trio_lb.config.model import Proxy
from trio_lb.rules.cond import eval_condition
from trio_lb.state.proxies import BackendState


class Router:
    __slots__ = ("rules", "default")

    def __init__(self, proxy: Proxy, backends: dict[str, BackendState]) -> None:
        self.rules = [(ub.cond, backends[ub.backend]) for ub in proxy.use_backends if ub.backend in backends]
        if proxy.default_backend:
            self.default = backends.get(proxy.default_backend)
        else:
            # a listen section is its own default backend
            self.default = backends.get(proxy.name) if proxy.has_backend else None

    def route(self, view: Any) -> BackendState | None:
        for cond, backend in self.rules:
            if eval_condition(cond, view):
                return backend
        return self.default
