"""The ClientHello parser on real hellos from Python's ssl, truncated and damaged ones."""

from __future__ import annotations

import ssl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_lb.tls.clienthello import hello_type, parse_client_hello


def client_hello(sni: str | None, alpn: list[str] | None = None) -> bytes:
    ctx = ssl.create_default_context()
    if sni is None:
        ctx.check_hostname = False
    if alpn:
        ctx.set_alpn_protocols(alpn)
    out = ssl.MemoryBIO()
    obj = ctx.wrap_bio(ssl.MemoryBIO(), out, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


def test_sni_and_alpn() -> None:
    data = client_hello("www.example.com", ["h2", "http/1.1"])
    hello = parse_client_hello(data)
    assert hello is not None and hello.sni == "www.example.com" and hello.alpn == ["h2", "http/1.1"]
    assert hello.version == 0x0303 and hello.cipher_suites
    assert hello_type(data) == 1


def test_without_sni() -> None:
    hello = parse_client_hello(client_hello(None))
    assert hello is not None and hello.sni is None


def test_incomplete_gives_nothing_until_complete() -> None:
    data = client_hello("a.test")
    for cut in (0, 5, 8, 40, len(data) - 1):
        assert parse_client_hello(data[:cut]) is None
    assert hello_type(data[:8]) is None
    assert parse_client_hello(data + b"trailing").sni == "a.test"


def test_not_tls() -> None:
    assert parse_client_hello(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n") is None
    assert hello_type(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n") is None
    assert hello_type(b"\x16\x02\x00\x00\x10\x01\x00\x00\x00") is None  # SSLv2-era version


@given(st.binary(max_size=300))
def test_garbage_never_raises(data: bytes) -> None:
    parse_client_hello(b"\x16\x03\x01" + len(data).to_bytes(2, "big") + data)
    hello_type(data)
