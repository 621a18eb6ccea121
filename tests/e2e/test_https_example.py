"""examples/https-site.cfg as a newcomer runs it: certificates made by examples/make-cert.sh,
HTTP redirected to HTTPS, each SNI name served its own certificate, HSTS on the answers and
X-Forwarded-Proto seen by the application."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import trio

import trio_lb.config as config_pkg
from tests.e2e.test_examples import EXAMPLES, localize
from tests.support import raw_request, start_backend
from trio_lb.net.main import run


async def _tls_get(port: int, name: str) -> tuple[bytes, bytes]:
    """A GET over TLS with SNI `name`; (the response, the certificate the server presented)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    tcp = await trio.open_tcp_stream("127.0.0.1", port)
    stream = trio.SSLStream(tcp, context, server_hostname=name)
    await stream.do_handshake()
    cert = stream.getpeercert(binary_form=True)
    await stream.send_all(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while chunk := await stream.receive_some(65536):
        data += chunk
    await stream.aclose()
    return data, cert


async def test_https_site_example(nursery, tmp_path: Path):
    with trio.fail_after(30):
        certs = tmp_path / "certs"
        subprocess.run([str(EXAMPLES / "make-cert.sh"), str(certs)], check=True, capture_output=True, timeout=20)
        backends = {n: await start_backend(nursery, n) for n in ("web1", "web2")}
        text = localize((EXAMPLES / "https-site.cfg").read_text(), {n: b.port for n, b in backends.items()},
                        tmp_path).replace("examples/certs/", f"{certs}/")
        config = config_pkg.parse(text, "https-site.cfg")
        lb = await nursery.start(lambda task_status: run(config, quiet=True, task_status=task_status))
        (plain, secure) = lb.addresses["www"]
        redirect = await raw_request(plain[1], b"GET /x HTTP/1.1\r\nHost: www.example.test\r\n\r\n",
                                     read_until_close=False)
        assert redirect.startswith(b"HTTP/1.1 301 ") and b"\r\nlocation: https://www.example.test/x\r\n" in redirect
        for name in ("www.example.test", "api.example.test"):
            response, der = await _tls_get(secure[1], name)
            assert response.startswith(b"HTTP/1.1 200 ")
            assert b"\r\nstrict-transport-security: max-age=31536000\r\n" in response.lower()
            served = ssl.DER_cert_to_PEM_cert(der).strip()
            assert served in (certs / f"{name}.pem").read_text()
        seen = [headers.get("x-forwarded-proto") for b in backends.values()
                for _, target, headers in b.requests if target == "/"]  # not the health checks
        assert seen == ["https", "https"]
