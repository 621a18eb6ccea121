"""Frontend -> backend routing: `use_backend <b> if|unless <cond>` in order, then `default_backend`.

Built once per frontend at start-up with the backends resolved, so a request costs one
condition evaluation per rule and no name lookups. A name with `%[...]` is rendered per request
and looked up; when no backend has that name the rule is skipped, as HAProxy does.
"""

from __future__ import annotations

from typing import Any

from trio_lb.config.model import Proxy
from trio_lb.rules.cond import eval_condition
from trio_lb.state.proxies import BackendState


class Router:
    __slots__ = ("rules", "default")

    def __init__(self, proxy: Proxy, backends: dict[str, BackendState]) -> None:
        self.rules = [(ub.cond, backends[ub.backend] if ub.fmt is None else _Dynamic(ub.fmt, backends))
                      for ub in proxy.use_backends if ub.fmt is not None or ub.backend in backends]
        if proxy.default_backend:
            self.default = backends.get(proxy.default_backend)
        else:
            # a listen section is its own default backend
            self.default = backends.get(proxy.name) if proxy.has_backend else None

    def route(self, view: Any) -> BackendState | None:
        for cond, backend in self.rules:
            if cond is not None and not eval_condition(cond, view):
                continue
            if type(backend) is _Dynamic:
                backend = backend.resolve(view)
                if backend is None:
                    continue
            return backend
        return self.default


class _Dynamic:
    __slots__ = ("fmt", "backends")

    def __init__(self, fmt: Any, backends: dict[str, BackendState]) -> None:
        self.fmt = fmt
        self.backends = backends

    def resolve(self, view: Any) -> BackendState | None:
        return self.backends.get(self.fmt.render(view))
