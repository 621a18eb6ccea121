"""Stick tables: HAProxy's freq_ctr arithmetic, expiry, eviction, keys (pure, fake clock)."""

from __future__ import annotations

import ipaddress

from trio_lb.state.sticktables import (
    FreqCtr,
    StickTable,
    StoreSpec,
    TableSpec,
    key_text,
    make_key,
)


def table(**kw) -> StickTable:
    store = kw.pop("store", {"conn_rate": StoreSpec(10000), "conn_cnt": StoreSpec(), "gpc0": StoreSpec()})
    spec = TableSpec(name="t", type=kw.pop("type", "ip"), key_size=kw.pop("key_size", 4), size=kw.pop("size", 100),
                     expire=kw.pop("expire", 30000), store=store, **kw)
    return StickTable(spec)


def test_freq_ctr_sliding_period() -> None:
    f = FreqCtr()
    for t in range(10):  # 10 events in the first second of a 10 s period
        f.update(100_000 + t * 100, 10_000)
    assert f.read(100_000 + 1_000, 10_000) == 10
    # half-way through the next period: previous count weighted by the remaining half
    f.update(110_000, 10_000)
    assert f.read(115_000, 10_000) == (10 * 5_000 + 1 * 10_000) // 10_000  # 6
    # two periods later everything has faded
    assert f.read(131_000, 10_000) == 0


def test_freq_ctr_low_rate_does_not_flap() -> None:
    f = FreqCtr()
    f.update(50_000, 1_000)
    # in the next period, a past of 1 with nothing current reads 1 (anti-flapping)
    assert f.read(50_999, 1_000) == 1
    assert f.read(51_500, 1_000) == 1
    assert f.read(52_100, 1_000) == 0


def test_rate_read_through_table() -> None:
    t = table()
    key = t.key_of(ipaddress.ip_address("10.0.0.1"))
    e = t.get(key, 100.0)
    for i in range(5):
        t.add(e, "conn_rate", 1, 100.0 + i)
    assert t.read(e, "conn_rate", 105.0) == 5
    assert t.read(e, "conn_rate", 125.0) == 0
    assert t.read(e, "http_req_rate", 105.0) is None  # not stored


def test_expiry_and_refcount() -> None:
    t = table(expire=1000)
    k1, k2 = make_key("ip", 4, "10.0.0.1"), make_key("ip", 4, "10.0.0.2")
    e1 = t.acquire(k1, 10.0)
    t.get(k2, 10.0)
    assert len(t) == 2
    assert t.lookup(k2, 11.5) is None  # expired, unused: purged
    assert t.lookup(k1, 11.5) is e1  # expired but referenced: kept
    t.release(e1, 11.5)  # released after its expiry: dropped
    assert t.lookup(k1, 11.5) is None


def test_touch_pushes_expiry() -> None:
    t = table(expire=1000)
    k = make_key("ip", 4, "10.0.0.1")
    e = t.get(k, 10.0)
    t.touch(e, 10.8)
    assert t.lookup(k, 11.5) is e
    assert t.dump_entry(e, 11.5, ptr="0x1").startswith("0x1: key=10.0.0.1 use=0 exp=300 ")


def test_eviction_of_oldest_unused_when_full() -> None:
    t = table(size=3, expire=None)
    keys = [make_key("ip", 4, f"10.0.0.{i}") for i in range(1, 5)]
    e0 = t.acquire(keys[0], 1.0)  # in use: never evicted
    t.get(keys[1], 2.0)
    t.get(keys[2], 3.0)
    assert t.get(keys[3], 4.0) is not None  # evicts (size >> 8) + 1 = 1 entry: keys[1]
    assert [e.key for e in t.entries(4.0)] == sorted([keys[0], keys[2], keys[3]])
    assert t.lookup(keys[0], 4.0) is e0


def test_nopurge_refuses_new_entries_when_full() -> None:
    t = table(size=1, nopurge=True)
    assert t.get(make_key("ip", 4, "1.1.1.1"), 1.0) is not None
    assert t.get(make_key("ip", 4, "1.1.1.2"), 1.0) is None


def test_keys_by_type() -> None:
    assert make_key("ip", 4, ipaddress.ip_address("::ffff:1.2.3.4")) == bytes([1, 2, 3, 4])
    assert make_key("ip", 4, ipaddress.ip_address("2001:db8::1")) is None
    assert key_text("ipv6", 16, make_key("ipv6", 16, "1.2.3.4")) == "::ffff:1.2.3.4"
    assert make_key("integer", 4, 258) == (258).to_bytes(4, "little")
    assert key_text("integer", 4, make_key("integer", 4, -1)) == "4294967295"
    assert make_key("string", 9, "abcdefghijkl") == b"abcdefgh"
    assert key_text("string", 9, b"a=b c") == "a\\=b\\ c"
    assert key_text("binary", 4, make_key("binary", 4, b"\x01\xab")) == "01AB0000"
    # integer keys sort as HAProxy's memcmp of the host-order (little-endian) value
    ks = sorted(make_key("integer", 4, n) for n in (2, 256, 1))
    assert [int.from_bytes(k, "little") for k in ks] == [256, 1, 2]


def test_dump_arrays_and_set_rate() -> None:
    t = table(type="integer", store={"gpc": StoreSpec(0, 2), "gpc_rate": StoreSpec(1000, 2)}, expire=None)
    e = t.get(make_key("integer", 4, 258), 5.0)
    t.set(e, "gpc_rate", 4, 5.0)
    assert t.dump_entry(e, 5.0, ptr="0xp") == (
        "0xp: key=258 use=0 exp=0 gpc0=0 gpc1=0 gpc0_rate(1000)=4 gpc1_rate(1000)=0")
