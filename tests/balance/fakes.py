"""Test doubles: a server with the attributes the balancers read, and a request."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass  # eq=True makes instances unhashable, like many runtime classes: balancers must cope
class FakeServer:
    id: int
    name: str
    backup: bool = False
    eweight: int = 1
    usable: bool = True
    cur_sess: int = 0
    maxconn: int = 0
    queue_len: int = 0


@dataclass
class FakeRequest:
    src: str = "10.0.0.1"
    target: str | None = "/"
    headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        for k, v in reversed(list(self.headers.items())):
            if k.lower() == name.lower():
                return v
        return None


def make_servers(*weights: int, backups: tuple[int, ...] = ()) -> list[FakeServer]:
    """Servers s1..sN with the given weights, then backups b1..bM (ids continue)."""
    servers = [FakeServer(i + 1, f"s{i + 1}", eweight=w) for i, w in enumerate(weights)]
    base = len(servers)
    servers += [FakeServer(base + j + 1, f"b{j + 1}", backup=True, eweight=w) for j, w in enumerate(backups)]
    return servers


def names(balancer, count: int, req=None, avoid=None) -> list[str]:
    out = []
    for _ in range(count):
        srv = balancer.pick(req, avoid)
        out.append(srv.name if srv is not None else None)
    return out


def counts(seq) -> Counter:
    return Counter(seq)
