"""The hash functions against values computed by HAProxy's own C code (src/hash.c, tools.h)."""

from __future__ import annotations

import pytest

from trio_lb.balance.hashing import full_hash, hash_crc32, hash_djb2, hash_sdbm, hash_wt6

KEYS = [
    b"",
    b"a",
    b"/index.html",
    b"www.example.com",
    b"\xff\x80zz",
    b"the quick brown fox jumps over the lazy dog 0123456789",
]

# (sdbm, djb2, wt6, crc32) printed by the C functions compiled with gcc
EXPECTED = [
    (0, 5381, 4187620192, 0),
    (97, 177670, 1900802597, 3904355907),
    (858007926, 3776231887, 822151038, 3928116034),
    (2718216582, 2843247409, 612436471, 785793723),
    (2546715969, 2095781080, 81912531, 2071251763),
    (916352722, 718869867, 2475272305, 1777626533),
]


@pytest.mark.parametrize("key,expected", list(zip(KEYS, EXPECTED)))
def test_hash_functions_match_haproxy(key: bytes, expected: tuple[int, int, int, int]) -> None:
    assert (hash_sdbm(key), hash_djb2(key), hash_wt6(key), hash_crc32(key)) == expected


def test_full_hash_matches_haproxy() -> None:
    inputs = [0, 1, 4096, 4097, 0xFFFFFFFF, 123456789]
    expected = [2874071335, 881230262, 1237450891, 2761370759, 2120532354, 2578161185]
    assert [full_hash(v) for v in inputs] == expected


def _crc32_bitwise(data: bytes) -> int:
    h = 0xFFFFFFFF
    for c in data:
        h ^= c
        for _ in range(8):
            h = (h >> 1) ^ (0xEDB88320 if h & 1 else 0)
    return ~h & 0xFFFFFFFF


def test_crc32_is_haproxy_bitwise_crc() -> None:
    for key in KEYS + [bytes(range(256))]:
        assert hash_crc32(key) == _crc32_bitwise(key)


def test_hashes_stay_32_bit() -> None:
    long_key = bytes(range(256)) * 8
    for fn in (hash_sdbm, hash_djb2, hash_wt6, hash_crc32):
        assert 0 <= fn(long_key) <= 0xFFFFFFFF
