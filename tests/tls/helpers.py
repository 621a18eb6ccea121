"""Certificates from trustme written as HAProxy PEM bundles, configs, and in-memory handshakes."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme

from trio_lb.config import parse
from trio_lb.config.model import Config


def write_bundle(path: Path, cert: trustme.LeafCert) -> str:
    path.write_bytes(cert.private_key_pem.bytes() + b"".join(b.bytes() for b in cert.cert_chain_pems))
    return str(path)


class Pki:
    """A CA, a few server bundles and a client certificate under <root>."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ca = trustme.CA()
        self.ca_file = str(root / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)
        self.other_ca = trustme.CA()

    def bundle(self, name: str, *hosts: str, ca: trustme.CA | None = None) -> str:
        return write_bundle(self.root / name, (ca or self.ca).issue_cert(*hosts))

    def client_context(self, alpn: list[str] | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        ctx.load_verify_locations(self.ca_file)
        if alpn:
            ctx.set_alpn_protocols(alpn)
        return ctx


def config(text: str) -> Config:
    return parse(text, "t.cfg", env={}, model_only=True)


FRONT = """
defaults
    mode {mode}
    timeout client 1s
    timeout server 1s
    timeout connect 1s
frontend fe
    bind 127.0.0.1:8443 {bind}
    default_backend be
backend be
    server s1 127.0.0.1:8080 {server}
"""


def front(bind: str, server: str = "", mode: str = "http", glob: str = "") -> Config:
    head = f"global\n{glob}\n" if glob else ""
    return config(head + FRONT.format(bind=bind, server=server, mode=mode))


def handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
              server_hostname: str | None) -> tuple[ssl.SSLObject, ssl.SSLObject]:
    """Run a TLS handshake through memory BIOs; ssl.SSLError if either side fails."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=server_hostname)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"c": False, "s": False}
    for _ in range(20):
        for key, obj in (("c", client), ("s", server)):
            if not done[key]:
                try:
                    obj.do_handshake()
                    done[key] = True
                except ssl.SSLWantReadError:
                    pass
            s_in.write(c_out.read())
            c_in.write(s_out.read())
        if done["c"] and done["s"]:
            # TLS 1.3: the server learns the client certificate's verdict from the client's flight
            return server, client
    raise AssertionError("handshake did not finish")
