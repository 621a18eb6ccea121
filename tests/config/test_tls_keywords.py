"""TLS configuration errors worded as `haproxy -c` (2.6.12) prints them (recorded live, see
trio_lb/tls/contexts.py); trio_lb.tls.contexts.check_tls() returns the alert texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tls.helpers import Pki, front
from trio_lb.tls.contexts import check_tls


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


def _alerts(bind: str, server: str = "", glob: str = "") -> tuple[list[str], str, str]:
    cfg = front(bind, server, glob=glob)
    b = cfg.frontends[0].binds[0]
    s = cfg.backend("be").servers[0]
    return check_tls(cfg), f"parsing [t.cfg:{b.line}] : 'bind 127.0.0.1:8443' in section 'frontend' : ", \
        f"[t.cfg:{s.line}] : 'server be/s1' : "


def test_valid(pki: Pki) -> None:
    crt = pki.bundle("a.pem", "a.test")
    assert _alerts(f"ssl crt {crt} verify required ca-file {pki.ca_file} alpn h2,http/1.1 ssl-min-ver TLSv1.2 "
                   "ciphers ECDHE-ECDSA-AES128-GCM-SHA256 ciphersuites TLS_AES_128_GCM_SHA256",
                   f"ssl verify required ca-file {pki.ca_file} sni req.hdr(host) crt {crt}")[0] == []
    assert _alerts(f"crt {crt}")[0] == []  # crt without ssl: not used
    assert _alerts("ssl crt a.pem", glob=f"    crt-base {pki.root}")[0] == []


def test_bind_errors(pki: Pki, tmp_path: Path) -> None:
    crt = pki.bundle("a.pem", "a.test")
    at = "for bind '127.0.0.1:8443' at [t.cfg:{line}]"
    alerts, where, _ = _alerts("ssl crt /nonexistent/x.pem")
    assert alerts == [where + "unable to stat SSL certificate from file '/nonexistent/x.pem' : No such file or "
                      "directory."]
    alerts, where, _ = _alerts("ssl")
    line = where.split(":")[1].split("]")[0]
    assert alerts == [f"Proxy 'fe': no SSL certificate specified {at.format(line=line)} (use 'crt')."]
    (tmp_path / "empty").mkdir()
    assert _alerts(f"ssl crt {tmp_path / 'empty'}")[0] == alerts
    alerts, where, _ = _alerts(f"ssl crt {crt} verify required ca-file /nonexistent/ca.pem")
    assert alerts == ["Couldn't open the ca-file '/nonexistent/ca.pem' (No such file or directory).",
                      where + "'ca-file' : unable to load /nonexistent/ca.pem"]
    alerts, where, _ = _alerts(f"ssl crt {crt} verify bogus")
    assert alerts == [where + "'verify' : unknown verify method 'bogus', only 'none', 'optional', and 'required' "
                      "are supported"]
    alerts, where, _ = _alerts(f"ssl crt {crt} ssl-min-ver TLSv9")
    assert alerts == [where + "'TLSv9' : unknown ssl/tls version"]
    assert _alerts(f"ssl crt {crt} ciphers NOPE")[0] == [
        f"Proxy 'fe': unable to set SSL cipher list to 'NOPE' {at.format(line=line)}."]
    assert _alerts(f"ssl crt {crt} ciphersuites NOPE")[0] == [
        f"Proxy 'fe': unable to set TLS 1.3 cipher suites to 'NOPE' {at.format(line=line)}."]
    assert _alerts(f"ssl crt {crt} verify required")[0] == [
        f"Proxy 'fe': verify is enabled but no CA file specified {at.format(line=line)}."]
    assert _alerts(f"ssl crt {crt} ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.2")[0] == [
        f"Proxy 'fe': all SSL/TLS versions are disabled {at.format(line=line)}."]
    alerts, where, _ = _alerts("ssl crt-list /nonexistent/l.txt")
    assert alerts == [where + "'crt-list' : cannot open file '/nonexistent/l.txt' : No such file or directory"]
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("garbage\n")
    alerts, where, _ = _alerts(f"ssl crt {garbage}")
    assert alerts == [where + f"unable to load certificate from file '{garbage}'."]
    alerts, where, _ = _alerts(f"ssl crt {pki.ca_file}")
    assert alerts == [where + f"No Private Key found in '{pki.ca_file}.key'."]


def test_server_errors(pki: Pki) -> None:
    alerts, _, where = _alerts("", "ssl verify required ca-file /nonexistent/ca.pem")
    assert alerts == [where + "Couldn't open the ca-file '/nonexistent/ca.pem' (No such file or directory).",
                      "'ca-file' : unable to load /nonexistent/ca.pem."]
    alerts, _, where = _alerts("", "ssl verify none crt /nonexistent/c.pem")
    assert alerts == [where + "unable to stat SSL certificate from file '/nonexistent/c.pem' : No such file or "
                      "directory."]
    alerts, _, where = _alerts("", "ssl verify none sni bogus_fetch")
    assert alerts == [where + "error detected while parsing sni expression : unknown fetch method 'bogus_fetch'"]
