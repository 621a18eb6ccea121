"""BindTLS / ServerTLS: SNI selection, ALPN, versions, mutual TLS, server-side verification."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from tests.tls.helpers import Pki, front, handshake
from trio_lb.rules.sample import RequestView
from trio_lb.tls.contexts import (
    BindTLS,
    ServerTLS,
    TLSConfigError,
    build_tls,
    version_range,
)
from trio_lb.tls.store import CertStore
from trio_lb.tls.x509 import parse_certificate


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


def _bind(cfg, store=None) -> BindTLS:
    return BindTLS.from_bind(cfg.frontends[0].binds[0], cfg, store or CertStore())


def _served_names(btls: BindTLS, client: ssl.SSLContext, sni: str | None) -> list[str]:
    _server, tls_client = handshake(btls.context, client, sni)
    der = tls_client.getpeercert(binary_form=True)
    return parse_certificate(der).dns_names


def test_sni_exact_wildcard_and_default(pki: Pki) -> None:
    a = pki.bundle("a.pem", "a.example.com")
    w = pki.bundle("w.pem", "*.wild.test")
    btls = _bind(front(f"ssl crt {a} crt {w}"))
    client = pki.client_context()
    assert _served_names(btls, client, "a.example.com") == ["a.example.com"]
    assert _served_names(btls, client, "x.wild.test") == ["*.wild.test"]
    # unknown name: the default (first) certificate, which then fails the client's name check
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(btls.context, client, "nobody.test")
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
    assert _served_names(btls, insecure, "deep.x.wild.test") == ["a.example.com"]


def test_crt_directory_is_named_by_san_and_first_is_default(pki: Pki, tmp_path: Path) -> None:
    d = tmp_path / "dir"
    d.mkdir()
    pki.bundle("dir/10-one.pem", "one.test")
    pki.bundle("dir/20-two.pem", "two.test", "www.two.test")
    (d / "20-two.pem.ocsp").write_bytes(b"ignored")
    btls = _bind(front(f"ssl crt {d}"))
    client = pki.client_context()
    assert _served_names(btls, client, "www.two.test") == ["two.test", "www.two.test"]
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
    assert _served_names(btls, insecure, None) == ["one.test"]


def test_strict_sni_refuses_unknown_names(pki: Pki) -> None:
    a = pki.bundle("a.pem", "a.example.com")
    btls = _bind(front(f"ssl crt {a} strict-sni"))
    client = pki.client_context()
    assert _served_names(btls, client, "a.example.com") == ["a.example.com"]
    with pytest.raises(ssl.SSLError):
        handshake(btls.context, client, "b.example.com")


def test_crt_list_filters_and_options(pki: Pki, tmp_path: Path) -> None:
    a = pki.bundle("a.pem", "a.example.com")
    b = pki.bundle("b.pem", "b.example.com")
    lst = tmp_path / "list.txt"
    lst.write_text(f"# comment\n{a}\n\n{b} [alpn http/1.1 ssl-min-ver TLSv1.2] alias.test *.b.test !no.b.test\n")
    btls = _bind(front(f"ssl crt-list {lst}"))
    assert btls.lookup("alias.test") == 1 and btls.lookup("x.b.test") == 1
    assert btls.lookup("no.b.test") is None and btls.lookup("b.example.com") is None
    assert btls.lookup("A.EXAMPLE.COM") == 0
    client_ctx = pki.client_context(["http/1.1"])
    client_ctx.check_hostname = False  # alias.test is a crt-list filter, not a name of the certificate
    server, client = handshake(btls.context, client_ctx, "alias.test")
    assert server.selected_alpn_protocol() == "http/1.1"
    assert client.getpeercert()["subjectAltName"] == (("DNS", "b.example.com"),)


def test_alpn_h2_is_not_offered_in_http_mode(pki: Pki) -> None:
    a = pki.bundle("a.pem", "a.example.com")
    btls = _bind(front(f"ssl crt {a} alpn h2,http/1.1"))
    _server, client = handshake(btls.context, pki.client_context(["h2", "http/1.1"]), "a.example.com")
    assert client.selected_alpn_protocol() == "http/1.1"
    _server, client = handshake(btls.context, pki.client_context(["h2"]), "a.example.com")
    assert client.selected_alpn_protocol() is None  # completes; the client speaks HTTP/1.1
    tcp = _bind(front(f"ssl crt {a} alpn h2,http/1.1", mode="tcp"))
    _server, client = handshake(tcp.context, pki.client_context(["h2"]), "a.example.com")
    assert client.selected_alpn_protocol() == "h2"


def test_versions(pki: Pki) -> None:
    a = pki.bundle("a.pem", "a.example.com")
    btls = _bind(front(f"ssl crt {a} ssl-min-ver TLSv1.3"))
    client = pki.client_context()
    client.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError):
        handshake(btls.context, client, "a.example.com")
    info = btls.info(handshake(btls.context, pki.client_context(), "a.example.com")[0])
    assert info.protocol == "TLSv1.3" and info.sni == "a.example.com" and info.cipher.startswith("TLS_")
    btls = _bind(front(f"ssl crt {a} no-tlsv13"))
    assert btls.info(handshake(btls.context, pki.client_context(), "a.example.com")[0]).protocol == "TLSv1.2"
    glob = _bind(front(f"ssl crt {a}", glob="    ssl-default-bind-options ssl-max-ver TLSv1.2"))
    assert glob.info(handshake(glob.context, pki.client_context(), "a.example.com")[0]).protocol == "TLSv1.2"


def test_version_range_rules() -> None:
    assert version_range({}, {}) == ("TLSv1.2", "TLSv1.3")
    assert version_range({"ssl-min-ver": "TLSv1.0", "no-tlsv11": True}, {}) == ("TLSv1.0", "TLSv1.0")
    assert version_range({"force-tlsv12": True}, {}) == ("TLSv1.2", "TLSv1.2")
    assert version_range({"no-tlsv12": True, "no-tlsv13": True}, {}) is None
    assert version_range({}, {"ssl-min-ver": "TLSv1.3"}) == ("TLSv1.3", "TLSv1.3")


@pytest.mark.parametrize("mode", ["required", "optional"])
def test_mutual_tls(pki: Pki, mode: str) -> None:
    a = pki.bundle("a.pem", "a.example.com")
    btls = _bind(front(f"ssl crt {a} verify {mode} ca-file {pki.ca_file}"))
    with_cert = pki.client_context()
    pki.ca.issue_cert("client@example.com", common_name="alice").configure_cert(with_cert)
    info = btls.info(handshake(btls.context, with_cert, "a.example.com")[0])
    assert info.client_cert and info.verify == 0 and info.client_dn.endswith("/CN=alice")
    stranger = pki.client_context()
    pki.other_ca.issue_cert("mallory@example.com").configure_cert(stranger)
    with pytest.raises(ssl.SSLError):
        handshake(btls.context, stranger, "a.example.com")
    if mode == "required":
        with pytest.raises(ssl.SSLError):
            handshake(btls.context, pki.client_context(), "a.example.com")
    else:
        info = btls.info(handshake(btls.context, pki.client_context(), "a.example.com")[0])
        assert not info.client_cert and info.client_dn is None


def _server(cfg, check: bool = False) -> ServerTLS | None:
    return ServerTLS.from_server(cfg.backend("be").servers[0], cfg, check=check)


def test_server_verify_required_with_sni_expression(pki: Pki) -> None:
    a = pki.bundle("a.pem", "a.example.com")
    origin = _bind(front(f"ssl crt {a}"))
    cfg = front("", f"ssl verify required ca-file {pki.ca_file} sni req.hdr(host)")
    stls = _server(cfg)
    view = RequestView("1.1.1.1", 1, "2.2.2.2", 80, method="GET", target="/",
                       headers=[(b"host", b"a.example.com")])
    assert stls.server_hostname(view) == "a.example.com"
    handshake(origin.context, stls.context, stls.server_hostname(view))
    wrong = RequestView("1.1.1.1", 1, "2.2.2.2", 80, method="GET", target="/", headers=[(b"host", b"b.test")])
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(origin.context, stls.context, stls.server_hostname(wrong))


def test_server_verify_none_and_untrusted(pki: Pki) -> None:
    rogue = pki.bundle("r.pem", "a.example.com", ca=pki.other_ca)
    origin = _bind(front(f"ssl crt {rogue}"))
    handshake(origin.context, _server(front("", "ssl verify none")).context, None)
    strict = _server(front("", f"ssl verify required ca-file {pki.ca_file}"))
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(origin.context, strict.context, strict.server_hostname(None))


def test_server_client_certificate_and_alpn(pki: Pki) -> None:
    a = pki.bundle("a.pem", "a.example.com")
    client_pem = pki.bundle("client.pem", "client.test")
    origin = _bind(front(f"ssl crt {a} verify required ca-file {pki.ca_file} alpn http/1.1"))
    stls = _server(front("", f"ssl verify none crt {client_pem} alpn http/1.1"))
    server, client = handshake(origin.context, stls.context, None)
    assert origin.info(server).client_cert and client.selected_alpn_protocol() == "http/1.1"
    without = _server(front("", "ssl verify none"))
    with pytest.raises(ssl.SSLError):
        handshake(origin.context, without.context, None)


def test_check_ssl_contexts(pki: Pki) -> None:
    assert _server(front("", "check"), check=True) is None
    assert _server(front("", "check check-ssl verify none check-sni h.test"), check=True).server_hostname(None) \
        == "h.test"
    assert _server(front("", "check ssl verify none"), check=True) is not None  # inherits ssl
    assert _server(front("", "check port 81 ssl verify none"), check=True) is None  # not with port


def test_build_tls_collects_everything(pki: Pki) -> None:
    a = pki.bundle("a.pem", "a.example.com")
    cfg = front(f"ssl crt {a}", "ssl verify none check")
    rt = build_tls(cfg)
    assert list(rt.binds) == [id(cfg.frontends[0].binds[0])]
    assert set(rt.servers) == {("be", "s1")} and set(rt.checks) == {("be", "s1")}
    assert list(rt.store.bundles) == [a]
    with pytest.raises(TLSConfigError):
        build_tls(front("ssl"))


def test_committed_certificate_is_served_next_handshake(pki: Pki, tmp_path: Path) -> None:
    a = pki.bundle("a.pem", "a.example.com")
    cfg = front(f"ssl crt {a}")
    rt = build_tls(cfg)
    btls = rt.binds[id(cfg.frontends[0].binds[0])]
    client = pki.client_context()
    assert _served_names(btls, client, "a.example.com") == ["a.example.com"]
    new = pki.ca.issue_cert("a.example.com", "new.example.com")
    payload = (new.private_key_pem.bytes() + new.cert_chain_pems[0].bytes()).decode()
    rt.store.set_cert(a, payload)
    assert _served_names(btls, client, "a.example.com") == ["a.example.com"]  # not before commit
    rt.store.commit(a)
    assert _served_names(btls, client, "a.example.com") == ["a.example.com", "new.example.com"]
