"""HAProxy's hash functions, the keys each hashing algorithm extracts, and the hash balancer.

How it works: a hashing balancer turns a request into a 32-bit value and looks it up in either
a weighted map (`hash-type map-based`, lbmap.WeightMap: `hash % total_weight`) or a ring
(`hash-type consistent`, chash.HashRing). When the key is absent (no such query parameter or
header, tcp mode for an HTTP key) it falls back to round robin over the same structure, as
assign_server() does in HAProxy's backend.c.

The hash functions are bit-exact ports of src/hash.c (sdbm, djb2, wt6, crc32) and of
full_hash() (the `avalanche` modifier, Bob Jenkins' integer hash times a large prime). `source`
does not use the hash function: like get_server_sh() it XORs the address as 32-bit big-endian
words and only applies avalanche. The key extractors mirror get_server_uh/ph/hh().
"""

from __future__ import annotations

import ipaddress
import zlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Protocol

from trio_lb.balance.base import BalancerBase, LbRequest, ServerView
from trio_lb.config.model import BalanceSpec
from trio_lb.errors import ConfigError

MASK32 = 0xFFFFFFFF


# --- hash functions (src/hash.c) -------------------------------------------------------------


def hash_sdbm(data: bytes) -> int:
    h = 0
    for c in data:
        h = (c + (h << 6) + (h << 16) - h) & MASK32
    return h


def hash_djb2(data: bytes) -> int:
    h = 5381
    for c in data:
        h = ((h << 5) + h + c) & MASK32
    return h


def hash_wt6(data: bytes) -> int:
    h0, h1 = 0xA53C965A, 0x5CA6953A
    step0, step1 = 6, 18
    for t in data:
        h0 = ~(h0 ^ t) & MASK32
        h1 = ~(h1 + t) & MASK32
        t = ((h1 << step0) | (h1 >> (32 - step0))) & MASK32
        h1 = ((h0 << step1) | (h0 >> (32 - step1))) & MASK32
        h0 = t
        t = ((h0 >> 16) ^ h1) & 0xFFFF
        step0 = t & 0x1F
        step1 = t >> 11
    return h0 ^ h1


def hash_crc32(data: bytes) -> int:
    # HAProxy's bitwise CRC32 (poly 0xedb88320, ~0 in and out) is the IEEE CRC32 of zlib.
    return zlib.crc32(data) & MASK32


def full_hash(a: int) -> int:
    """The avalanche modifier (tools.h __full_hash)."""
    a = ((a + 0x7ED55D16) + (a << 12)) & MASK32
    a = ((a ^ 0xC761C23C) ^ (a >> 19)) & MASK32
    a = ((a + 0x165667B1) + (a << 5)) & MASK32
    a = ((a + 0xD3A2646C) ^ (a << 9)) & MASK32
    a = ((a + 0xFD7046C5) + (a << 3)) & MASK32
    a = ((a ^ 0xB55A4F09) ^ (a >> 16)) & MASK32
    return (a * 3221225473) & MASK32


HASH_FUNCTIONS: dict[str, Callable[[bytes], int]] = {
    "sdbm": hash_sdbm,
    "djb2": hash_djb2,
    "wt6": hash_wt6,
    "crc32": hash_crc32,
}


def _raw(text: str) -> bytes:
    """The bytes HAProxy would hash: request text arrives decoded as latin-1 by the HTTP layer."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


# --- key extraction (backend.c get_server_*) -----------------------------------------------


@lru_cache(maxsize=4096)  # clients come back; parsing an address costs more than the lookup
def source_hash(src: str) -> int | None:
    """get_server_sh(): the address XORed as 32-bit big-endian words (None if not an IP)."""
    try:
        addr = ipaddress.ip_address(src)
    except ValueError:
        return None
    value = int(addr)
    if addr.version == 4:
        return value
    h = 0
    for _ in range(4):
        h ^= value & MASK32
        value >>= 32
    return h


def path_of(target: str) -> str:
    """http_parse_path(): the path (with query) of an origin- or absolute-form target."""
    if target.startswith("/"):
        return target
    scheme_end = target.find("://")
    if scheme_end < 0:
        return ""  # asterisk or authority form: no path
    slash = target.find("/", scheme_end + 3)
    return target[slash:] if slash >= 0 else ""


def uri_key(target: str, whole: bool, max_len: int, depth: int, path_only: bool) -> str:
    """The part of the target `balance uri` hashes: up to '?' (unless whole), `len`, `depth`."""
    if path_only:
        target = path_of(target)
    if max_len:
        target = target[:max_len]
    if not whole:
        q = target.find("?")
        if q >= 0:
            target = target[:q]
    if depth:
        # HAProxy stops at slash number depth+1, the one ending the last counted directory.
        idx = -1
        for _ in range(depth + 1):
            idx = target.find("/", idx + 1)
            if idx < 0:
                break
        else:
            target = target[:idx]
    return target


def url_param_value(target: str, name: str) -> str | None:
    """get_server_ph(): the value of query parameter `name` (may be empty), None if absent."""
    q = target.find("?")
    if q < 0:
        return None
    params = target[q + 1 :]
    plen = len(name)
    end = len(params)
    pos = 0
    while end - pos > plen:
        if params[pos + plen] == "=" and params.startswith(name, pos):
            start = pos + plen + 1
            amp = params.find("&", start)
            return params[start : amp if amp >= 0 else end]
        amp = params.find("&", pos)
        if amp < 0:
            return None
        pos = amp + 1
    return None


def domain_only(value: str) -> str:
    """get_server_hh() with use_domain_only: "www.example.com" -> "example" (scan from the end)."""
    n = len(value)
    p = end = n
    dohash = False
    remaining = n
    while remaining:
        if dohash:
            if value[p - 1] == ".":
                break
        elif p < n and value[p] == ".":
            end = p
            dohash = True
        p -= 1
        remaining -= 1
    return value[p:end]


def header_key(value: str | None, use_domain_only: bool) -> str | None:
    """The first comma-separated value of the header (http_find_header, full=0); None if empty."""
    if value is None:
        return None
    value = value.split(",", 1)[0].strip(" \t")
    if not value:
        return None
    return domain_only(value) if use_domain_only else value


KeyHasher = Callable[[LbRequest | None], "int | None"]


def make_key_hasher(algo: str, spec: BalanceSpec, param: str | None) -> KeyHasher:
    """A function request -> 32-bit hash, or None when the key is absent (round robin then)."""
    try:
        fn = HASH_FUNCTIONS[spec.hash_function]
    except KeyError:
        raise ConfigError(f"unknown hash function '{spec.hash_function}'") from None
    aval = spec.hash_avalanche

    def finish(key: str) -> int:
        h = fn(_raw(key))
        return full_hash(h) if aval else h

    if algo == "source":

        def hash_source(req: LbRequest | None) -> int | None:
            if req is None:
                return None
            h = source_hash(req.src)
            if h is None:
                return None
            return full_hash(h) if aval else h

        return hash_source

    if algo == "uri":
        whole, max_len, depth, path_only = spec.uri_whole, spec.uri_len, spec.uri_depth, spec.uri_path_only

        def hash_uri(req: LbRequest | None) -> int | None:
            if req is None or req.target is None:
                return None
            return finish(uri_key(req.target, whole, max_len, depth, path_only))

        return hash_uri

    if algo == "url_param":
        if not param:
            raise ConfigError("url_param requires an URL parameter name.")
        name = param

        def hash_url_param(req: LbRequest | None) -> int | None:
            if req is None or req.target is None:
                return None
            value = url_param_value(req.target, name)
            return None if value is None else finish(value)

        return hash_url_param

    if algo == "hdr":
        if not param:
            raise ConfigError("hdr requires a header name.")
        hdr_name, dom = param, spec.use_domain_only

        def hash_hdr(req: LbRequest | None) -> int | None:
            if req is None or req.target is None:
                return None
            key = header_key(req.header(hdr_name), dom)
            return None if key is None else finish(key)

        return hash_hdr

    raise ConfigError(f"'{algo}' is not a hashing algorithm")


# --- the balancer ---------------------------------------------------------------------------


class HashLookup(Protocol):
    """A structure hashes are looked up in: lbmap.WeightMap or chash.HashRing."""

    dynamic: bool

    def weight_of(self, srv: ServerView) -> int: ...

    def rebuild(self, candidates: list[ServerView], all_servers: Sequence[ServerView]) -> None: ...

    def hash_pick(self, h: int, avoid: ServerView | None) -> ServerView | None: ...

    def rr_pick(self, avoid: ServerView | None) -> ServerView | None: ...


class HashBalancer(BalancerBase):
    """source / uri / url_param / hdr over a map or a ring."""

    def __init__(
        self,
        algo: str,
        key: KeyHasher,
        lookup: HashLookup,
        servers: Sequence[ServerView],
        allbackups: bool = False,
    ) -> None:
        super().__init__(servers, allbackups)
        self.algo_name = algo
        self.dynamic = lookup.dynamic
        self._key = key
        self._lookup = lookup
        self.update()

    def weight_of(self, srv: ServerView) -> int:
        return self._lookup.weight_of(srv)

    def _rebuild(self) -> None:
        self._lookup.rebuild(self.candidates, self.servers)

    def pick(self, req: LbRequest | None, avoid: ServerView | None = None) -> ServerView | None:
        h = self._key(req)
        if h is None:
            return self._lookup.rr_pick(avoid)
        return self._lookup.hash_pick(h, avoid)
