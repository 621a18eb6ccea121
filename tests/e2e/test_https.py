"""HTTPS through trio-lb (issue 7): SNI, mutual TLS, redirect to https, X-Forwarded-Proto,
re-encryption to a TLS server with pooled connections, a refused handshake that does not disturb
other clients, and (with trio_lb.tls) a certificate swapped at runtime.

Certificates come from trustme; clients are httpx (verifying with the test CA) or trio.SSLStream.
The runtime's TLS objects are replaced here by ones built from ssl contexts (FakeBindTLS,
server_tls), so these tests exercise net/ alone; the last test uses trio_lb.tls.build_tls as
the runtime builds it, and the admin socket.
"""

from __future__ import annotations

import ssl
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import trio
import trustme

import trio_lb.config as config_pkg
import trio_lb.net.main as net_main
from tests.support import HttpBackend, lb_port, raw_request, start_backend

TIMEOUTS = """
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
"""


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def pem_dir(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The files the configs name (DIR/...): the config is checked as HAProxy checks it."""
    d = tmp_path_factory.mktemp("pem")
    for name, host in (("a.pem", "a.example"), ("b.pem", "b.example"), ("lb.pem", "lb.example")):
        (d / name).write_bytes(ca.issue_cert(host).private_key_and_cert_chain_pem.bytes())
    (d / "ca.pem").write_bytes(ca.cert_pem.bytes())
    return d


def server_ctx(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(ctx)
    return ctx


def sni_ctx(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    """One certificate per name, picked by SNI, the first as default (as a crt directory)."""
    by_name = {name: server_ctx(ca, name) for name in names}
    default = by_name[names[0]]

    def pick(obj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        obj.context = by_name.get(name or "", default)

    default.sni_callback = pick
    return default


def client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


class FakeBindTLS:
    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context

    def info(self, sock: ssl.SSLSocket) -> Any:
        cert = sock.getpeercert()
        return SimpleNamespace(sni=None, protocol=sock.version(), cipher=sock.cipher()[0], alpn=None,
                               client_cert=bool(cert), verify=0, client_dn=None, hello=None)


def server_tls(context: ssl.SSLContext, sni: str | None) -> Any:
    return SimpleNamespace(context=context, server_hostname=lambda view: sni)


async def start(nursery: trio.Nursery, text: str, monkeypatch: pytest.MonkeyPatch, pem_dir: Any,
                binds: list[ssl.SSLContext | None],
                servers: dict | None = None, checks: dict | None = None) -> Any:
    """Run `text` with runtime.tls made of the given contexts: binds[i] for the i-th bind of the
    config (None: clear)."""
    config = config_pkg.parse(text.replace("DIR/", f"{pem_dir}/"), "test.cfg")
    all_binds = [b for p in config.frontends for b in p.binds]
    tls = SimpleNamespace(binds={id(b): FakeBindTLS(c) for b, c in zip(all_binds, binds) if c is not None},
                          servers=servers or {}, checks=checks or {}, store=None)
    real = net_main.build_runtime

    def build_runtime(cfg: Any, now: float) -> Any:
        runtime = real(cfg, now)
        runtime.tls = tls
        return runtime

    monkeypatch.setattr(net_main, "build_runtime", build_runtime)
    return await nursery.start(lambda task_status: net_main.run(config, quiet=True, task_status=task_status))


def https(ca: trustme.CA, **kw: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=kw.pop("verify", None) or client_ctx(ca), timeout=5, **kw)


async def test_sni_names_xfp_and_redirect(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch, pem_dir: Any) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            be = await start_backend(nursery, "be1")
            cfg = TIMEOUTS + f"""
frontend fe
    bind 127.0.0.1:0 ssl crt DIR/a.pem crt DIR/b.pem
    bind 127.0.0.1:0
    redirect scheme https code 301 if !{{ ssl_fc }}
    http-request set-header X-Forwarded-Proto https if {{ ssl_fc }}
    default_backend be
backend be
    server s1 127.0.0.1:{be.port}
"""
            lb = await start(nursery, cfg, monkeypatch, pem_dir, [sni_ctx(ca, "a.example", "b.example"), None])
            port, clear = lb.address("fe", 0)[1], lb.address("fe", 1)[1]
            for name in ("a.example", "b.example"):  # each name verified against its own certificate
                async with https(ca) as client:  # one client each: httpx pools by address, not by SNI
                    r = await client.get(f"https://127.0.0.1:{port}/x", extensions={"sni_hostname": name})
                    assert (r.status_code, r.text) == (200, "be1\n")
                    assert be.requests[-1][2]["x-forwarded-proto"] == "https"
            # an unknown name gets the default certificate (a.example's), which does not verify for it
            async with https(ca) as client:
                with pytest.raises(httpx.ConnectError):
                    await client.get(f"https://127.0.0.1:{port}/", extensions={"sni_hostname": "c.example"})
            raw = await raw_request(clear, b"GET /path?q=1 HTTP/1.1\r\nhost: a.example\r\nconnection: close\r\n\r\n")
            assert raw.startswith(b"HTTP/1.1 301")
            assert b"\r\nlocation: https://a.example/path?q=1\r\n" in raw.lower()
            assert len(be.requests) == 2
            nursery.cancel_scope.cancel()


async def test_mutual_tls_verify_required(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch, pem_dir: Any) -> None:
    bind = server_ctx(ca, "lb.example")
    bind.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(bind)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            be = await start_backend(nursery, "be1")
            cfg = TIMEOUTS + f"""
frontend fe
    bind 127.0.0.1:0 ssl crt DIR/lb.pem verify required ca-file DIR/ca.pem
    default_backend be
backend be
    server s1 127.0.0.1:{be.port}
"""
            lb = await start(nursery, cfg, monkeypatch, pem_dir, [bind])
            url = f"https://127.0.0.1:{lb_port(lb, 'fe')}/"
            sni = {"sni_hostname": "lb.example"}
            async with https(ca) as anonymous:
                with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
                    await anonymous.get(url, extensions=sni)
            with_cert = client_ctx(ca)
            ca.issue_cert("client.example").configure_cert(with_cert)
            async with https(ca, verify=with_cert) as client:
                r = await client.get(url, extensions=sni)
                assert r.status_code == 200
            assert be.hits == 1
            nursery.cancel_scope.cancel()


async def start_tls_backend(nursery: trio.Nursery, ca: trustme.CA, name: str) -> tuple[HttpBackend, int]:
    backend = HttpBackend(name)
    ctx = server_ctx(ca, name)
    listeners = await nursery.start(lambda task_status: trio.serve_ssl_over_tcp(
        backend._conn, 0, ctx, host="127.0.0.1", task_status=task_status))
    return backend, listeners[0].transport_listener.socket.getsockname()[1]


async def test_reencryption_to_tls_server_with_pooling(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch, pem_dir: Any) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            be, be_port = await start_tls_backend(nursery, ca, "backend.example")
            cfg = TIMEOUTS + f"""
frontend fe
    bind 127.0.0.1:0 ssl crt DIR/lb.pem
    default_backend be
backend be
    http-reuse always
    server s1 127.0.0.1:{be_port} ssl verify required ca-file DIR/ca.pem sni req.hdr(host)
"""
            servers = {("be", "s1"): server_tls(client_ctx(ca), "backend.example")}
            lb = await start(nursery, cfg, monkeypatch, pem_dir, [server_ctx(ca, "lb.example")], servers=servers)
            url = f"https://127.0.0.1:{lb_port(lb, 'fe')}/"
            async with https(ca) as client:
                for i in range(3):
                    r = await client.post(url + str(i), content=b"x" * 100_000, extensions={"sni_hostname": "lb.example"})
                    assert (r.status_code, r.text) == (200, "backend.example\n")
            assert be.hits == 3
            assert be.connections == 1  # the TLS connection to the server was pooled and reused
            nursery.cancel_scope.cancel()


async def test_tls_backend_untrusted_gives_503(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch, pem_dir: Any) -> None:
    """A server whose certificate does not verify: the handshake fails like a connect (503 SC)."""
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            be, be_port = await start_tls_backend(nursery, trustme.CA(), "backend.example")
            cfg = TIMEOUTS + f"""
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    retries 0
    server s1 127.0.0.1:{be_port} ssl verify required ca-file DIR/ca.pem
"""
            servers = {("be", "s1"): server_tls(client_ctx(ca), "backend.example")}
            lb = await start(nursery, cfg, monkeypatch, pem_dir, [None], servers=servers)
            raw = await raw_request(lb_port(lb, "fe"), b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            assert raw.startswith(b"HTTP/1.1 503")
            assert lb.runtime.backends["be"].servers[0].counters.econ == 1
            nursery.cancel_scope.cancel()


async def test_wrong_version_refused_without_disturbing_others(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch, pem_dir: Any) -> None:
    bind = server_ctx(ca, "lb.example")
    bind.minimum_version = ssl.TLSVersion.TLSv1_3
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            be = await start_backend(nursery, "be1")
            cfg = TIMEOUTS + f"""
frontend fe
    bind 127.0.0.1:0 ssl crt DIR/lb.pem ssl-min-ver TLSv1.3
    default_backend be
backend be
    server s1 127.0.0.1:{be.port}
"""
            lb = await start(nursery, cfg, monkeypatch, pem_dir, [bind])
            port = lb_port(lb, "fe")
            # a good client holds its connection open across the refused handshake
            good = trio.SSLStream(await trio.open_tcp_stream("127.0.0.1", port), client_ctx(ca),
                                  server_hostname="lb.example")
            await good.do_handshake()
            old_ctx = client_ctx(ca)
            old_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            old = trio.SSLStream(await trio.open_tcp_stream("127.0.0.1", port), old_ctx, server_hostname="lb.example")
            with pytest.raises(trio.BrokenResourceError):
                await old.do_handshake()
            await good.send_all(b"GET / HTTP/1.1\r\nhost: lb.example\r\n\r\n")
            answer = b""
            while b"be1\n" not in answer:
                answer += await good.receive_some(65536)
            assert answer.startswith(b"HTTP/1.1 200")
            assert good.transport_stream.socket.fileno() != -1
            await good.aclose()
            nursery.cancel_scope.cancel()


async def test_tcp_mode_terminates_tls(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch, pem_dir: Any) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            got = []

            async def echo(stream: trio.SocketStream) -> None:
                data = await stream.receive_some(100)
                got.append(data)
                await stream.send_all(data.upper())
                await stream.aclose()

            listeners = await nursery.start(lambda task_status: trio.serve_tcp(echo, 0, host="127.0.0.1",
                                                                               task_status=task_status))
            echo_port = listeners[0].socket.getsockname()[1]
            cfg = f"""
defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:0 ssl crt DIR/lb.pem
    default_backend be
backend be
    server s1 127.0.0.1:{echo_port}
"""
            lb = await start(nursery, cfg, monkeypatch, pem_dir, [server_ctx(ca, "lb.example")])
            client = trio.SSLStream(await trio.open_tcp_stream("127.0.0.1", lb_port(lb, "fe")), client_ctx(ca),
                                    server_hostname="lb.example")
            await client.send_all(b"hello")
            answer = b""
            while True:
                chunk = await client.receive_some(100)
                if not chunk:
                    break
                answer += chunk
            assert (got, answer) == ([b"hello"], b"HELLO")  # clear bytes on the server side
            await client.aclose()
            nursery.cancel_scope.cancel()


async def test_tls_health_check_against_tls_server(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch, pem_dir: Any) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            be, be_port = await start_tls_backend(nursery, ca, "backend.example")
            cfg = TIMEOUTS + f"""
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    option httpchk GET /health
    server s1 127.0.0.1:{be_port} check check-ssl inter 100ms ssl verify required ca-file DIR/ca.pem
"""
            tls = server_tls(client_ctx(ca), "backend.example")
            lb = await start(nursery, cfg, monkeypatch, pem_dir, [None], servers={("be", "s1"): tls},
                             checks={("be", "s1"): tls})
            server = lb.runtime.backends["be"].servers[0]
            while not be.requests:  # the check's request, through TLS (the backend speaks only TLS)
                await trio.sleep(0.02)
            assert be.requests[0][:2] == ("GET", "/health")
            while server.counters.chkfail == 0 and len(be.requests) < 2:
                await trio.sleep(0.02)
            assert server.counters.chkfail == 0
            nursery.cancel_scope.cancel()


# --- with trio_lb.tls (helper T1's build_tls and admin commands) -------------------------------

async def test_certificate_swapped_at_runtime(ca: trustme.CA, tmp_path: Any) -> None:
    contexts = pytest.importorskip("trio_lb.tls.contexts")
    registry = pytest.importorskip("trio_lb.admin.registry")
    if "set ssl cert" not in str(getattr(registry.default_registry(), "__dict__", "")) and \
            not any("ssl" in str(k) for k in getattr(registry.default_registry(), "commands", {})):
        pytest.skip("`set ssl cert` is not registered yet")
    from trio_lb.state.proxies import build_runtime

    old, new = ca.issue_cert("site.example"), ca.issue_cert("site.example")
    pem = tmp_path / "site.pem"
    pem.write_bytes(old.private_key_and_cert_chain_pem.bytes())
    sock_path = tmp_path / "admin.sock"
    cfg = f"""
global
    stats socket {sock_path} level admin
{TIMEOUTS}
frontend fe
    bind 127.0.0.1:0 ssl crt {pem}
    http-request return status 200 content-type text/plain string ok
"""
    config = config_pkg.parse(cfg, "test.cfg")

    def build(cfg: Any, now: float) -> Any:
        runtime = build_runtime(cfg, now)
        runtime.tls = contexts.build_tls(cfg)
        return runtime

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            mp = pytest.MonkeyPatch()
            mp.setattr(net_main, "build_runtime", build)
            try:
                lb = await nursery.start(lambda task_status: net_main.run(config, quiet=True, task_status=task_status))
            finally:
                mp.undo()
            port = lb_port(lb, "fe")

            async def served_serial() -> int:
                stream = trio.SSLStream(await trio.open_tcp_stream("127.0.0.1", port), client_ctx(ca),
                                        server_hostname="site.example")
                await stream.do_handshake()
                der = stream.getpeercert(binary_form=True)
                await stream.aclose()
                from cryptography import x509
                return x509.load_der_x509_certificate(der).serial_number

            from cryptography import x509
            old_serial = x509.load_pem_x509_certificate(old.cert_chain_pems[0].bytes()).serial_number
            new_serial = x509.load_pem_x509_certificate(new.cert_chain_pems[0].bytes()).serial_number
            assert await served_serial() == old_serial

            async def admin(command: str) -> str:
                stream = await trio.open_unix_socket(str(sock_path))
                await stream.send_all(command.encode())
                out = b""
                while chunk := await stream.receive_some(65536):
                    out += chunk
                await stream.aclose()
                return out.decode()

            payload = new.private_key_and_cert_chain_pem.bytes().decode()
            reply = await admin(f"set ssl cert {pem} <<\n{payload}\n")
            assert "error" not in reply.lower(), reply
            reply = await admin(f"commit ssl cert {pem}\n")
            assert "success" in reply.lower(), reply
            assert await served_serial() == new_serial
            nursery.cancel_scope.cancel()
