"""Stick tables (HAProxy 2.6's stick_table.c and freq_ctr.c), pure: every method takes `now`.

How it works
------------
A `TableSpec` is what `stick-table ...` configures (key type and size, max entries, expire, the
stored data types with their periods). `StickTable` is the live table built from it.

Keys are kept as the bytes HAProxy stores in its key tree, so that iteration in sorted key
order is HAProxy's dump order: 4 network-order bytes for `ip`, 16 for `ipv6`, the 32-bit value
in host (little-endian) order for `integer` (HAProxy memcmp()s the host-order integer), the
string truncated to len-1 bytes for `string`, and the bytes zero-padded to len for `binary`.
`make_key()` converts a sample value; `parse_key()` reads a CLI key.

Each `Entry` holds its data (ints, `FreqCtr`s for the `*_rate(<period>)` types, lists for the
array types), a reference count (streams tracking it, HAProxy's ref_cnt) and an expiry date.
Touching an entry (any update) pushes its expiry to now + expire. Entries are kept in an
OrderedDict in touch order, which is expiry order, so:
  * `purge(now)` (run lazily by every operation, as HAProxy's expiry task would have run) drops
    the expired entries nobody references, from the oldest;
  * when the table is full, creating an entry first evicts the (size >> 8) + 1 oldest unused
    entries (HAProxy's stktable_trash_oldest()); with `nopurge`, or nothing evictable, the
    new entry is refused (None).
Without `expire`, entries never expire and eviction is by least recent touch.

`FreqCtr` is HAProxy's period-based frequency counter bit for bit: a current and previous
period count and the current period's start tick; the read value is the previous period's
count weighted by the part of it still inside the sliding window, plus the current count, with
HAProxy's anti-flapping rule for rates of 0 or 1. Times are milliseconds (now * 1000).
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# (name, std type, takes a period, is an array) in HAProxy's enum order (the dump order)
DATA_TYPES: tuple[tuple[str, str, bool, bool], ...] = (
    ("server_id", "sint", False, False),
    ("gpt0", "uint", False, False),
    ("gpc0", "uint", False, False),
    ("gpc0_rate", "frqp", True, False),
    ("conn_cnt", "uint", False, False),
    ("conn_rate", "frqp", True, False),
    ("conn_cur", "uint", False, False),
    ("sess_cnt", "uint", False, False),
    ("sess_rate", "frqp", True, False),
    ("http_req_cnt", "uint", False, False),
    ("http_req_rate", "frqp", True, False),
    ("http_err_cnt", "uint", False, False),
    ("http_err_rate", "frqp", True, False),
    ("bytes_in_cnt", "ull", False, False),
    ("bytes_in_rate", "frqp", True, False),
    ("bytes_out_cnt", "ull", False, False),
    ("bytes_out_rate", "frqp", True, False),
    ("gpc1", "uint", False, False),
    ("gpc1_rate", "frqp", True, False),
    ("server_key", "dict", False, False),
    ("http_fail_cnt", "uint", False, False),
    ("http_fail_rate", "frqp", True, False),
    ("gpt", "uint", False, True),
    ("gpc", "uint", False, True),
    ("gpc_rate", "frqp", True, True),
)
DATA_INDEX = {name: i for i, (name, *_rest) in enumerate(DATA_TYPES)}
STD_TYPE = {name: std for name, std, _p, _a in DATA_TYPES}
MAX_DT_ARRAY_SIZE = 100  # STKTABLE_MAX_DT_ARRAY_SIZE

KEY_TYPES = {"ip": 4, "ipv6": 16, "integer": 4, "string": 32, "binary": 32}  # default key sizes
_U32 = 0xFFFFFFFF
_U64 = 0xFFFFFFFFFFFFFFFF


@dataclass
class StoreSpec:
    period: int = 0  # ms, for the rate types
    nbelem: int = 1  # for the array types (gpt, gpc, gpc_rate)


@dataclass
class TableSpec:
    """A `stick-table` line. key_size counts the string terminator for `string` as HAProxy does."""

    name: str
    type: str = "ip"
    key_size: int = 4
    size: int = 0
    expire: int | None = None  # ms; None: entries never expire
    nopurge: bool = False
    peers: str | None = None
    srvkey: str = "name"
    store: dict[str, StoreSpec] = field(default_factory=dict)  # data type -> its argument
    file: str = ""
    line: int = 0


# ---------------------------------------------------------------- frequency counters


class FreqCtr:
    """HAProxy's struct freq_ctr with update_freq_ctr_period() / read_freq_ctr_period()."""

    __slots__ = ("curr_ctr", "curr_tick", "prev_ctr")

    def __init__(self) -> None:
        self.curr_tick = 0
        self.curr_ctr = 0
        self.prev_ctr = 0

    def update(self, now_ms: int, period: int, inc: int = 1) -> int:
        if now_ms - self.curr_tick < period:
            self.curr_ctr = (self.curr_ctr + inc) & _U32
            return self.curr_ctr
        self.prev_ctr = self.curr_ctr
        self.curr_ctr = inc
        self.curr_tick += period
        if now_ms - self.curr_tick >= period:  # at least two periods were missed
            self.prev_ctr = 0
            self.curr_tick = now_ms
        return inc

    def total(self, now_ms: int, period: int, pend: int = -1) -> int:
        curr, past = self.curr_ctr, self.prev_ctr
        remain = self.curr_tick + period - now_ms
        if remain < 0:
            remain += period
            past = curr if remain >= 0 else 0
            curr = 0
        if pend < 0:
            pend = 0
            if not curr and past <= 1:
                return past * period
        return past * remain + (curr + pend) * period

    def read(self, now_ms: int, period: int) -> int:
        if period <= 0:
            return 0
        return (self.total(now_ms, period) // period) & _U32


def ms(now: float) -> int:
    return int(now * 1000)


# ---------------------------------------------------------------- keys


def make_key(ttype: str, key_size: int, value: Any) -> bytes | None:
    """The stored key for a sample value (an int, str, bytes or ipaddress object), or None when
    the value cannot be converted to the table's type (as sample_convert() would refuse)."""
    if isinstance(value, bool):
        value = int(value)
    if ttype == "ip":
        if isinstance(value, int):
            return (value & _U32).to_bytes(4, "big")
        addr = _addr(value)
        if addr is None:
            return None
        if addr.version == 6:
            mapped = addr.ipv4_mapped
            return mapped.packed if mapped is not None else None
        return addr.packed
    if ttype == "ipv6":
        if isinstance(value, int):
            return ipaddress.IPv6Address("::ffff:" + str(ipaddress.IPv4Address(value & _U32))).packed
        addr = _addr(value)
        if addr is None:
            return None
        if addr.version == 4:
            return ipaddress.IPv6Address("::ffff:" + str(addr)).packed
        return addr.packed
    if ttype == "integer":
        if isinstance(value, int):
            n = value
        elif isinstance(value, str):
            n = _c_int(value)
            if n is None:
                return None
        elif isinstance(value, (ipaddress.IPv4Address,)):
            n = int(value)
        else:
            return None
        return (n & _U32).to_bytes(4, "little")
    raw = _raw(value)
    if raw is None:
        return None
    if ttype == "string":
        raw = raw.split(b"\0", 1)[0]
        return raw[: key_size - 1]
    return raw[:key_size].ljust(key_size, b"\0")  # binary


def _addr(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    if isinstance(value, str):
        try:
            return ipaddress.ip_address(value) if "%" not in value else None
        except ValueError:
            return None
    return None


def _raw(value: Any) -> bytes | None:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogateescape")
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value).encode()
    return None


def _c_int(text: str) -> int | None:
    """Sample str -> sint cast: optional sign then digits (read_int64), empty is no value."""
    if not text:
        return None
    i = 1 if text[0] in "+-" else 0
    j = i
    while j < len(text) and text[j].isdigit() and text[j].isascii():
        j += 1
    digits = text[i:j]
    n = int(digits) if digits else 0
    return -n if text.startswith("-") else n


def parse_key(ttype: str, key_size: int, text: str) -> bytes | None:
    """A key typed on the CLI (`key <k>`): None if invalid for the table's type."""
    if ttype == "ip":
        try:
            return ipaddress.IPv4Address(text).packed
        except ValueError:
            return None
    if ttype == "ipv6":
        try:
            return ipaddress.IPv6Address(text).packed
        except ValueError:
            return None
    if ttype == "integer":
        t = text.removeprefix("-")
        if not t or not (t.isascii() and t.isdigit()):
            return None
        return (int(text) & _U32).to_bytes(4, "little")
    if ttype == "string":
        return make_key(ttype, key_size, text)
    # binary: hex digits
    if len(text) % 2 or any(c not in "0123456789abcdefABCDEF" for c in text):
        return None
    raw = bytes.fromhex(text)
    if len(raw) > key_size:
        return None
    return raw.ljust(key_size, b"\0")


def key_text(ttype: str, key_size: int, key: bytes) -> str:
    """The key as `show table` prints it."""
    if ttype == "ip":
        return str(ipaddress.IPv4Address(key))
    if ttype == "ipv6":
        addr = ipaddress.IPv6Address(key)
        mapped = addr.ipv4_mapped
        return f"::ffff:{mapped}" if mapped is not None else str(addr)
    if ttype == "integer":
        return str(int.from_bytes(key, "little"))
    if ttype == "string":
        return _dump_text(key)
    return key.hex().upper()


_TEXT_ESC = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x1B: "\\e", 0x5C: "\\\\", 0x20: "\\ ", 0x3D: "\\="}


def _dump_text(raw: bytes) -> str:
    out = []
    for c in raw:
        if c == 0:
            break
        esc = _TEXT_ESC.get(c)
        if esc is not None:
            out.append(esc)
        elif 0x20 < c < 0x7F:
            out.append(chr(c))
        else:
            out.append(f"\\x{c:02X}")
    return "".join(out)


# ---------------------------------------------------------------- entries and tables


class Entry:
    __slots__ = ("data", "expire", "key", "ref_cnt")

    def __init__(self, key: bytes, data: dict[str, Any], expire: int) -> None:
        self.key = key
        self.data = data
        self.ref_cnt = 0
        self.expire = expire  # tick (ms) of expiry

    def __repr__(self) -> str:
        return f"<Entry {self.key!r} use={self.ref_cnt} {self.data}>"


def _new_value(std: str, nbelem: int, is_array: bool) -> Any:
    if is_array:
        return [FreqCtr() if std == "frqp" else 0 for _ in range(nbelem)]
    if std == "frqp":
        return FreqCtr()
    if std == "dict":
        return None
    return 0


class StickTable:
    """One live table. Data-type names are HAProxy's; `has(name)` tells whether one is stored."""

    def __init__(self, spec: TableSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.type = spec.type
        self.key_size = spec.key_size
        self.size = spec.size
        self.expire = spec.expire
        self.nopurge = spec.nopurge
        # stored data types in enum order -> StoreSpec
        self.store: dict[str, StoreSpec] = {
            name: spec.store[name] for name, *_r in DATA_TYPES if name in spec.store
        }
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()

    def __repr__(self) -> str:
        return f"<StickTable {self.name} {self.type} {len(self._entries)}/{self.size}>"

    def __len__(self) -> int:
        return len(self._entries)

    # -- configuration ------------------------------------------------------------------

    def has(self, dtype: str) -> bool:
        return dtype in self.store

    def period(self, dtype: str) -> int:
        return self.store[dtype].period

    def ensure_type(self, dtype: str) -> None:
        """stktable_alloc_data_type() after parsing (stick rules add server_id and server_key)."""
        if dtype not in self.store:
            self.store[dtype] = StoreSpec()
            self.store = {n: self.store[n] for n, *_r in DATA_TYPES if n in self.store}
            _, std, _p, arr = DATA_TYPES[DATA_INDEX[dtype]]
            for e in self._entries.values():
                e.data[dtype] = _new_value(std, 1, arr)

    # -- keys ---------------------------------------------------------------------------

    def key_of(self, value: Any) -> bytes | None:
        return make_key(self.type, self.key_size, value)

    def parse_key(self, text: str) -> bytes | None:
        return parse_key(self.type, self.key_size, text)

    def key_text(self, key: bytes) -> str:
        return key_text(self.type, self.key_size, key)

    # -- lifecycle ----------------------------------------------------------------------

    def _expiry(self, now_ms: int) -> int:
        return now_ms + (self.expire or 0)

    def purge(self, now: float) -> int:
        """Drop expired unreferenced entries (HAProxy's expiry task); returns how many."""
        if not self.expire:
            return 0
        now_ms = ms(now)
        dropped = 0
        for key in list(self._entries):
            entry = self._entries[key]
            if entry.expire > now_ms:
                break
            if entry.ref_cnt:
                continue
            del self._entries[key]
            dropped += 1
        return dropped

    def trash_oldest(self, count: int) -> int:
        """Evict up to <count> unreferenced entries, oldest first."""
        dropped = 0
        for key in list(self._entries):
            if dropped >= count:
                break
            if self._entries[key].ref_cnt:
                continue
            del self._entries[key]
            dropped += 1
        return dropped

    def lookup(self, key: bytes, now: float) -> Entry | None:
        self.purge(now)
        return self._entries.get(key)

    def create(self, key: bytes, now: float) -> Entry | None:
        """A new entry (not looked up first); None if the table is full and nothing can go."""
        if len(self._entries) >= self.size:
            if self.nopurge or not self.trash_oldest((self.size >> 8) + 1):
                return None
        data = {name: _new_value(STD_TYPE[name], st.nbelem, DATA_TYPES[DATA_INDEX[name]][3])
                for name, st in self.store.items()}
        entry = Entry(key, data, self._expiry(ms(now)))
        self._entries[key] = entry
        return entry

    def get(self, key: bytes, now: float) -> Entry | None:
        """stktable_get_entry() without the reference: the entry for <key>, created if needed."""
        entry = self.lookup(key, now)
        if entry is None:
            entry = self.create(key, now)
        return entry

    def acquire(self, key: bytes, now: float) -> Entry | None:
        """stktable_get_entry(): get() plus one reference (released by release())."""
        entry = self.get(key, now)
        if entry is not None:
            entry.ref_cnt += 1
        return entry

    def touch(self, entry: Entry, now: float) -> None:
        """stktable_touch_local(): push the expiry and move to the young end."""
        entry.expire = self._expiry(ms(now))
        if entry.key in self._entries:
            self._entries.move_to_end(entry.key)

    def release(self, entry: Entry, now: float) -> None:
        """stksess_kill_if_expired(decref): drop a reference; an expired free entry goes."""
        if entry.ref_cnt > 0:
            entry.ref_cnt -= 1
        if not entry.ref_cnt and self.expire and entry.expire <= ms(now):
            self._entries.pop(entry.key, None)

    def remove(self, key: bytes) -> bool:
        """Remove an unreferenced entry; False when it is in use or absent."""
        entry = self._entries.get(key)
        if entry is None or entry.ref_cnt:
            return False
        del self._entries[key]
        return True

    def entries(self, now: float) -> Iterator[Entry]:
        """Live entries in key order (HAProxy's dump order)."""
        self.purge(now)
        for key in sorted(self._entries):
            yield self._entries[key]

    # -- data ---------------------------------------------------------------------------

    def read(self, entry: Entry, dtype: str, now: float, idx: int = 0) -> int | None:
        """The value of <dtype> (a rate read at <now>); None if not stored."""
        if dtype not in self.store:
            return None
        value = entry.data[dtype]
        if isinstance(value, list):
            if idx >= len(value):
                return None
            value = value[idx]
        if isinstance(value, FreqCtr):
            return value.read(ms(now), self.store[dtype].period)
        return value

    def add(self, entry: Entry, dtype: str, inc: int, now: float, idx: int = 0) -> bool:
        """Add <inc> to a counter or a rate (no touch); False if the type is not stored."""
        if dtype not in self.store:
            return False
        value = entry.data[dtype]
        holder: Any = entry.data
        slot: Any = dtype
        if isinstance(value, list):
            if idx >= len(value):
                return False
            holder, slot, value = value, idx, value[idx]
        if isinstance(value, FreqCtr):
            value.update(ms(now), self.store[dtype].period, inc)
        else:
            mask = _U64 if STD_TYPE[dtype] == "ull" else _U32
            holder[slot] = (value + inc) & mask
        return True

    def set(self, entry: Entry, dtype: str, value: Any, now: float, idx: int = 0) -> bool:
        """Set a counter (a rate gets its current period count set, as `set table` does)."""
        if dtype not in self.store:
            return False
        cur = entry.data[dtype]
        holder: Any = entry.data
        slot: Any = dtype
        if isinstance(cur, list):
            if idx >= len(cur):
                return False
            holder, slot, cur = cur, idx, cur[idx]
        std = STD_TYPE[dtype]
        if isinstance(cur, FreqCtr):
            cur.curr_tick = ms(now) & ~1
            cur.prev_ctr = 0
            cur.curr_ctr = int(value) & _U32
        elif std == "dict":
            holder[slot] = value
        elif std == "sint":
            v = int(value) & _U32
            holder[slot] = v - (1 << 32) if v >= 1 << 31 else v
        else:
            holder[slot] = int(value) & (_U64 if std == "ull" else _U32)
        return True

    def value_text(self, entry: Entry, dtype: str, now: float, idx: int = 0) -> str:
        if STD_TYPE[dtype] == "dict":
            v = entry.data[dtype]
            return "-" if v is None else str(v)
        value = self.read(entry, dtype, now, idx)
        return str(value)

    def dump_entry(self, entry: Entry, now: float, ptr: str | None = None) -> str:
        """One `show table` line (without the LF)."""
        now_ms = ms(now)
        remain = max(0, entry.expire - now_ms) if self.expire else 0
        parts = [f"{ptr or hex(id(entry))}: key={self.key_text(entry.key)} use={entry.ref_cnt} exp={remain}"]
        for dtype, st in self.store.items():
            _n, _std, has_period, is_array = DATA_TYPES[DATA_INDEX[dtype]]
            if is_array:
                head, sep, tail = dtype.partition("_")
                for i in range(st.nbelem):
                    name = f"{head}{i}{sep}{tail}"
                    label = f"{name}({st.period})" if has_period else name
                    parts.append(f"{label}={self.value_text(entry, dtype, now, i)}")
                continue
            label = f"{dtype}({st.period})" if has_period else dtype
            parts.append(f"{label}={self.value_text(entry, dtype, now)}")
        return " ".join(parts)

    def header(self) -> str:
        return f"# table: {self.name}, type: {self.type}, size:{self.size}, used:{len(self._entries)}"


def build_tables(config: Any) -> dict[str, StickTable]:
    """One table per proxy with a `stick-table` line, named after the proxy."""
    tables: dict[str, StickTable] = {}
    for px in config.proxies:
        spec = getattr(px, "stick_table", None)
        if spec is None or px.kind == "defaults":
            continue
        table = StickTable(spec)
        tables[table.name] = table
    _add_implied_types(config, tables)
    return tables


def _add_implied_types(config: Any, tables: dict[str, StickTable]) -> None:
    """`stick` rules make their table store server_id and server_key (as HAProxy's checks do)."""
    for px in config.proxies:
        for rule in getattr(px, "stick_rules", ()) or ():
            name = getattr(rule, "table", None) or px.name
            table = tables.get(name)
            if table is not None:
                table.ensure_type("server_id")
                table.ensure_type("server_key")
