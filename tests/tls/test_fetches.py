"""The TLS fetches read RequestView.tls (a TlsInfo) and the peeked ClientHello."""

from __future__ import annotations

from tests.tls.test_clienthello import client_hello
from trio_lb.rules.sample import RequestView, fetch
from trio_lb.tls import fetches  # noqa: F401  (registers the fetches)
from trio_lb.tls.contexts import TlsInfo


def view(tls: TlsInfo | None = None, ssl: bool = False) -> RequestView:
    v = RequestView("1.1.1.1", 1000, "2.2.2.2", 443, method="GET", target="/", ssl=ssl)
    v.tls = tls
    return v


INFO = TlsInfo(sni="a.example.com", protocol="TLSv1.3", cipher="TLS_AES_256_GCM_SHA384", alpn="http/1.1",
               client_cert=True, verify=0, client_dn="/C=FR/O=Acme/OU=a/OU=b/CN=alice")


def test_connection_fetches() -> None:
    v = view(INFO, ssl=True)
    assert fetch("ssl_fc", (), v) == [1]
    assert fetch("ssl_fc_sni", (), v) == ["a.example.com"]
    assert fetch("ssl_fc_protocol", (), v) == ["TLSv1.3"]
    assert fetch("ssl_fc_cipher", (), v) == ["TLS_AES_256_GCM_SHA384"]
    assert fetch("ssl_fc_alpn", (), v) == ["http/1.1"]
    assert fetch("ssl_c_used", (), v) == [1]
    assert fetch("ssl_c_verify", (), v) == [0]
    assert fetch("ssl_c_s_dn", (), v) == ["/C=FR/O=Acme/OU=a/OU=b/CN=alice"]
    assert fetch("ssl_c_s_dn", ("CN",), v) == ["alice"]
    assert fetch("ssl_c_s_dn", ("OU", 2), v) == ["b"]
    assert fetch("ssl_c_s_dn", ("OU", -2), v) == ["a"]
    assert fetch("ssl_c_s_dn", ("OU", 3), v) is None
    assert fetch("ssl_c_s_dn", ("", 0, "rfc2253"), v) == ["CN=alice,OU=b,OU=a,O=Acme,C=FR"]


def test_clear_connection_has_no_tls_samples() -> None:
    v = view()
    assert fetch("ssl_fc", (), v) == [0]
    for name in ("ssl_fc_sni", "ssl_fc_protocol", "ssl_c_used", "ssl_c_verify", "ssl_c_s_dn", "req.ssl_sni"):
        assert fetch(name, (), v) is None, name


def test_absent_values() -> None:
    v = view(TlsInfo(protocol="TLSv1.2", cipher="ECDHE-RSA-AES128-GCM-SHA256"))
    assert fetch("ssl_fc_sni", (), v) is None and fetch("ssl_fc_alpn", (), v) is None
    assert fetch("ssl_c_used", (), v) == [0] and fetch("ssl_c_s_dn", (), v) is None


def test_peeked_hello() -> None:
    data = client_hello("route.example.com")
    v = view(TlsInfo(hello=data))
    assert fetch("ssl_fc", (), v) == [0]  # not terminated
    for name in ("req.ssl_sni", "req_ssl_sni"):
        assert fetch(name, (), v) == ["route.example.com"]
    for name in ("req.ssl_hello_type", "req_ssl_hello_type"):
        assert fetch(name, (), v) == [1]
    partial = view(TlsInfo(hello=data[:20]))
    assert fetch("req.ssl_sni", (), partial) is None and fetch("req.ssl_hello_type", (), partial) is None
