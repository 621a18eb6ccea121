"""A TLS ClientHello read from the first bytes a client sent (for req.ssl_sni / req.ssl_hello_type).

How it works: the bytes must start with a handshake record (content type 22, version major 3);
the handshake message is taken from that first record. `hello_type()` is HAProxy's
smp_fetch_ssl_hello_type(): the handshake type byte once the record header and that byte are in.
`parse_client_hello()` walks the ClientHello's fixed fields (version, random, session id, cipher
suites, compression methods) and its extensions, keeping the server_name (type 0, host_name entry)
and ALPN (type 16) values; like HAProxy's smp_fetch_ssl_hello_sni() it gives up (None) until the
whole record is buffered, and on any length that overruns its container.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HANDSHAKE = 22
CLIENT_HELLO = 1
EXT_SERVER_NAME = 0
EXT_ALPN = 16


@dataclass
class ClientHello:
    version: int  # legacy_version, e.g. 0x0303
    sni: str | None = None
    alpn: list[str] = field(default_factory=list)
    cipher_suites: list[int] = field(default_factory=list)


def hello_type(data: bytes) -> int | None:
    """smp_fetch_ssl_hello_type(): the handshake type of an SSLv3+ record header (content type
    0x14-0x17 or 0xFF) once the whole handshake message is in; None otherwise."""
    if len(data) < 9 or not (0x14 <= data[0] <= 0x17 or data[0] == 0xFF):
        return None
    if (data[1] << 16) + data[2] < 0x00030000 or int.from_bytes(data[3:5], "big") < 4:
        return None
    if len(data) < 9 + int.from_bytes(data[6:9], "big"):
        return None
    return data[5]


def record_complete(data: bytes) -> bool:
    return len(data) >= 5 and len(data) >= 5 + int.from_bytes(data[3:5], "big")


def parse_client_hello(data: bytes) -> ClientHello | None:
    if not record_complete(data) or data[0] != HANDSHAKE or hello_type(data) != CLIENT_HELLO:
        return None
    record = data[5:5 + int.from_bytes(data[3:5], "big")]
    if len(record) < 4:
        return None
    body = record[4:4 + int.from_bytes(record[1:4], "big")]
    try:
        return _hello(body)
    except IndexError:
        return None


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise IndexError("overrun")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def num(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def vector(self, len_bytes: int) -> bytes:
        return self.take(self.num(len_bytes))

    @property
    def left(self) -> int:
        return len(self.data) - self.pos


def _hello(body: bytes) -> ClientHello:
    r = _Reader(body)
    hello = ClientHello(version=r.num(2))
    r.take(32)  # random
    r.vector(1)  # session id
    suites = r.vector(2)
    hello.cipher_suites = [int.from_bytes(suites[i:i + 2], "big") for i in range(0, len(suites) - 1, 2)]
    r.vector(1)  # compression methods
    if r.left == 0:
        return hello
    exts = _Reader(r.vector(2))
    while exts.left:
        etype, value = exts.num(2), exts.vector(2)
        if etype == EXT_SERVER_NAME:
            hello.sni = _server_name(value)
        elif etype == EXT_ALPN:
            hello.alpn = _alpn(value)
    return hello


def _server_name(value: bytes) -> str | None:
    names = _Reader(_Reader(value).vector(2))
    while names.left:
        kind, name = names.num(1), names.vector(2)
        if kind == 0:
            return name.decode("latin-1")
    return None


def _alpn(value: bytes) -> list[str]:
    protos = _Reader(_Reader(value).vector(2))
    out: list[str] = []
    while protos.left:
        out.append(protos.vector(1).decode("latin-1"))
    return out
