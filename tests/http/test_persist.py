"""Cookie persistence decisions and header bytes.

The expected header values and log flags were captured from HAProxy 2.6.12 on loopback (a raw
client, a backend echoing the request head it received, `set server ... state drain|maint` and
`set server ... health down` on the stats socket, log-format "%b %s %tsc").
"""

from __future__ import annotations

import pytest

import trio_lb.config as config_pkg
from trio_lb.http import persist as P
from trio_lb.rules.sample import RequestView
from trio_lb.state.servers import ServerState

CFG = """\
defaults
  mode http
  timeout client 5s
  timeout server 5s
  timeout connect 5s
backend ins
  cookie SRV insert indirect nocache httponly secure domain .a.com domain .b.com attr "SameSite=None" attr X
  server s1 127.0.0.1:19001 cookie c1
  server s2 127.0.0.1:19002 cookie c2
  server s3 127.0.0.1:19003
backend insdates
  cookie SRV insert maxidle 1h maxlife 1d
  server s1 127.0.0.1:19001 cookie c1
  server s2 127.0.0.1:19002 cookie c2
backend rw
  cookie JS rewrite
  server s1 127.0.0.1:19001 cookie c1
  server s2 127.0.0.1:19002 cookie c2
backend pfx
  cookie JS prefix
  server s1 127.0.0.1:19001 cookie c1
  server s2 127.0.0.1:19002 cookie c2
backend passive
  cookie SRV
  server s1 127.0.0.1:19001 cookie c1
  server s2 127.0.0.1:19002 cookie c2
backend persist
  option persist
  cookie SRV insert indirect
  server s1 127.0.0.1:19001 cookie c1
  server s2 127.0.0.1:19002 cookie c2
backend postonly
  cookie SRV insert postonly preserve
  server s1 127.0.0.1:19001 cookie c1
  server s2 127.0.0.1:19002 cookie c2
backend shared
  cookie SRV insert
  server a 127.0.0.1:19001 cookie same
  server b 127.0.0.1:19002 cookie same
backend rules
  acl forced hdr(x-force) -m found
  acl ignored hdr(x-ignore) -m found
  cookie SRV insert indirect
  force-persist if forced
  ignore-persist if ignored
  server s1 127.0.0.1:19001 cookie c1
  server s2 127.0.0.1:19002 cookie c2
"""
CONFIG = config_pkg.parse(CFG, "p.cfg")
INS_ATTRS = b"; path=/; domain=.a.com; domain=.b.com; HttpOnly; Secure; SameSite=None; X"
NOW = (P.b64tos30(b"awJlJ") << 2) - 3  # the second at which HAProxy wrote "awJlJ"


def backend(name: str):
    px = CONFIG.backend(name)
    assert px is not None
    return px, [ServerState(s, name, None, 0.0) for s in px.servers]


def view(headers: list[bytes], method: str = "GET") -> RequestView:
    pairs = []
    for h in headers:
        name, _, value = h.partition(b":")
        pairs.append((name.strip().lower(), value.strip()))
    return RequestView("127.0.0.1", 40000, "127.0.0.1", 80, method=method, target="/", headers=pairs)


def cookies(headers) -> list[bytes]:
    return [v for n, v in headers if n == b"cookie"]


def run(be: str, req: list[bytes], resp: list[tuple[bytes, bytes]], picked: str, method: str = "GET",
        now: float = NOW, setup=None):
    """One transaction; `picked` is the server HAProxy's balancer chose when the cookie did not."""
    px, servers = backend(be)
    if setup:
        setup(servers)
    srv, p = P.choose(px, servers, view(req, method), now)
    if srv is None:
        srv = next(s for s in servers if s.name == picked)
    assert srv.name == picked
    out = P.response_headers(px.cookie, resp, srv, p, now, method, 200)
    return p, out


# -- request side: what the server receives (HAProxy 2.6.12's bytes) -------------------------

@pytest.mark.parametrize("be,sent,received,picked,flag", [
    ("ins", b"a=1; SRV=c2; b=2", [b"a=1; b=2"], "s2", "V"),
    ("ins", b"SRV=c2", [], "s2", "V"),
    ("ins", b"SRV=c2; a=1", [b"a=1"], "s2", "V"),
    ("ins", b"a=1 ;  SRV = c2 ; b=2", [b"a=1; b=2"], "s2", "V"),
    ("ins", b"a=1; SRV=zz", [b"a=1"], "s1", "I"),
    ("ins", b"$Version=1; SRV=c1; $Path=/; a=b", [b"$Version=1; a=b"], "s1", "V"),
    ("ins", b"flag; SRV=c1; a=b", [b"flag; a=b"], "s1", "V"),
    ("ins", b"a=b; SRV=c1; flag", [b"a=b; flag"], "s1", "V"),
    ("ins", b"SRV=c1; SRV=c2", [], "s1", "V"),
    ("rw", b"JS=c2", [b"JS=c2"], "s2", "V"),
    ("rw", b"JS=zz", [b"JS=zz"], "s1", "I"),
    ("pfx", b"x=1; JS=c2~opaque; y=2", [b"x=1; JS=opaque; y=2"], "s2", "V"),
    ("pfx", b"JS=nodelim", [b"JS=nodelim"], "s1", "I"),
    ("passive", b"SRV=c2", [b"SRV=c2"], "s2", "V"),
    ("insdates", b"SRV=c1|AAAAA|AAAAA", [b"SRV=c1|AAAAA|AAAAA"], "s1", "V"),
])
def test_request_cookie_rewrite_and_choice(be, sent, received, picked, flag):
    px, servers = backend(be)
    srv, p = P.choose(px, servers, view([b"Cookie: " + sent]), NOW)
    assert cookies(p.headers) == received
    assert p.ck == flag
    if flag == "V":
        assert srv is not None and srv.name == picked and p.direct
    else:
        assert srv is None and not p.direct
    assert cookies(P.request_headers(px.cookie, view([b"Cookie: " + sent]).headers)) == received


def test_several_cookie_headers_and_comma_delimiter():
    px, servers = backend("ins")
    srv, p = P.choose(px, servers, view([b"Cookie: a=1;SRV=c2;b=2", b"Cookie: SRV=c1, c=3"]), NOW)
    assert cookies(p.headers) == [b"a=1; b=2", b"c=3"]
    assert srv.name == "s2" and p.ck == "V"


def test_other_headers_untouched_and_in_order():
    px, servers = backend("ins")
    _, p = P.choose(px, servers, view([b"Host: x", b"Cookie: SRV=c1", b"X-A: 1"]), NOW)
    assert p.headers == [(b"host", b"x"), (b"x-a", b"1")]


# -- decisions for UP / DRAIN / MAINT / DOWN (HAProxy: VN, DI, DI; with option persist DN) -------

def _drain(servers):
    servers[1].set_admin("drain", 0.0)


def _maint(servers):
    servers[1].set_admin("maint", 0.0)


def _down(servers):
    servers[1].forced_down = True
    servers[1].refresh(0.0)


@pytest.mark.parametrize("be,setup,picked,flags", [
    ("ins", _drain, "s2", "VN"),
    ("ins", _maint, "s1", "DI"),
    ("ins", _down, "s3", "DI"),
    ("persist", _drain, "s2", "VN"),
    ("persist", _maint, "s2", "DN"),
    ("persist", _down, "s2", "DN"),
])
def test_server_states(be, setup, picked, flags):
    p, out = run(be, [b"Cookie: SRV=c2"], [], picked, setup=setup)
    assert P.log_flags(CONFIG.backend(be).cookie, p) == flags
    if flags == "DI":
        assert out[0][1].startswith(f"SRV={'c1' if picked == 's1' else ''}".encode())
    else:
        assert out == []
    assert (p.server is not None) == (flags != "DI")


def test_shared_cookie_takes_the_first_running_server():
    px, servers = backend("shared")
    servers[0].set_admin("maint", 0.0)
    srv, p = P.choose(px, servers, view([b"Cookie: SRV=same"]), NOW)
    assert srv is servers[1] and p.ck == "V"


def test_force_and_ignore_persist():
    px, servers = backend("rules")
    servers[1].set_admin("maint", 0.0)
    srv, p = P.choose(px, servers, view([b"Cookie: SRV=c2", b"X-Force: 1"]), NOW)
    assert srv is servers[1] and p.force and p.ck == "D"
    servers[1].set_admin("ready", 0.0)
    srv, p = P.choose(px, servers, view([b"Cookie: SRV=c2", b"X-Ignore: 1"]), NOW)
    assert srv is None and p.ignore and p.ck == "U"
    assert cookies(p.headers) == []  # still removed (insert indirect)
    out = P.response_headers(px.cookie, [(b"set-cookie", b"SRV=x")], servers[0], p, NOW, "GET", 200)
    assert out == [(b"set-cookie", b"SRV=x")] and p.sck == "N"  # no insertion, server cookie untouched


def test_use_server_assignment_leaves_the_cookie_unused():
    px, servers = backend("ins")
    srv, p = P.choose(px, servers, view([b"Cookie: SRV=c2"]), NOW, assigned=servers[0])
    assert srv is servers[0] and p.ck == "U"


def test_redispatch_reinserts_the_cookie():
    px, servers = backend("persist")
    srv, p = P.choose(px, servers, view([b"Cookie: SRV=c2"]), NOW)
    assert srv is servers[1]
    p.redispatched()
    out = P.response_headers(px.cookie, [], servers[0], p, NOW, "GET", 200)
    assert out == [(b"set-cookie", b"SRV=c1; path=/")] and P.log_flags(px.cookie, p) == "VI"


# -- response side --------------------------------------------------------------------------

LM = (b"last-modified", b"Mon, 01 Jan 2024 00:00:00 GMT")


@pytest.mark.parametrize("be,method,req,resp,picked,expected,flags", [
    # insert on a non-direct request; nocache adds cache-control only to a cacheable response
    ("ins", "GET", [b"Cookie: a=1; SRV=zz"], [LM], "s1",
     [LM, (b"set-cookie", b"SRV=c1" + INS_ATTRS), (b"cache-control", b"private")], "II"),
    ("ins", "GET", [], [(b"set-cookie", b"SRV=abc; path=/"), (b"cache-control", b"max-age=60")], "s2",
     [(b"cache-control", b"max-age=60"), (b"set-cookie", b"SRV=c2" + INS_ATTRS), (b"cache-control", b"private")],
     "NI"),
    ("ins", "POST", [], [(b"cache-control", b"max-age=60")], "s3",
     [(b"cache-control", b"max-age=60"),
      (b"set-cookie", b"SRV=; Expires=Thu, 01-Jan-1970 00:00:01 GMT" + INS_ATTRS)], "NI"),
    ("ins", "GET", [], [], "s1", [(b"set-cookie", b"SRV=c1" + INS_ATTRS)], "NI"),  # not cacheable: no validator
    # direct + indirect: the server's own cookie is deleted, nothing inserted
    ("ins", "GET", [b"Cookie: SRV=c2"], [(b"set-cookie", b"SRV=abc; path=/"), (b"set-cookie", b"k=v")], "s2",
     [(b"set-cookie", b"k=v")], "VD"),
    # dates: last|first, refreshed on every request
    ("insdates", "GET", [], [], "s1", [(b"set-cookie", b"SRV=c1|awJlJ|awJlJ; path=/")], "NI"),
    ("insdates", "GET", [b"Cookie: SRV=c1"], [], "s1", [(b"set-cookie", b"SRV=c1|awJlJ|awJlJ; path=/")], "VU"),
    # rewrite and prefix
    ("rw", "GET", [b"Cookie: JS=c2"], [(b"set-cookie", b"JS=abc; path=/"), (b"set-cookie", b"JS = def ; path=/")],
     "s2", [(b"set-cookie", b"JS=c2; path=/"), (b"set-cookie", b"JS=c2 ; path=/")], "VR"),
    ("rw", "GET", [b"Cookie: JS=zz"], [], "s1", [], "IN"),
    ("pfx", "GET", [b"Cookie: JS=c2~opaque"], [(b"set-cookie", b"JS=abc; path=/")], "s2",
     [(b"set-cookie", b"JS=c2~abc; path=/")], "VR"),
    # passive mode: nothing touched, nothing logged
    ("passive", "GET", [b"Cookie: SRV=c2"], [(b"set-cookie", b"SRV=abc")], "s2", [(b"set-cookie", b"SRV=abc")], "--"),
    # postonly + preserve
    ("postonly", "GET", [], [], "s1", [], "NN"),
    ("postonly", "POST", [], [], "s2", [(b"set-cookie", b"SRV=c2; path=/")], "NI"),
    ("postonly", "POST", [], [(b"set-cookie", b"SRV=mine")], "s1", [(b"set-cookie", b"SRV=mine")], "NP"),
])
def test_response_headers_match_haproxy(be, method, req, resp, picked, expected, flags):
    p, out = run(be, req, resp, picked, method)
    assert out == expected
    assert P.log_flags(CONFIG.backend(be).cookie, p) == flags


def test_expired_and_old_cookies():
    px, servers = backend("insdates")
    stamp = P.s30tob64(int(NOW - 7200) >> 2)  # 2 h ago > maxidle 1h
    _, p = P.choose(px, servers, view([f"Cookie: SRV=c1|{stamp}|{stamp}".encode()]), NOW)
    assert p.ck == "E" and p.server is None and p.last_date == 0
    old = P.s30tob64(int(NOW - 2 * 86400) >> 2)
    fresh = P.s30tob64(int(NOW) >> 2)
    _, p = P.choose(px, servers, view([f"Cookie: SRV=c1|{fresh}|{old}".encode()]), NOW)
    assert p.ck == "O"
    future = P.s30tob64(int(NOW + 2 * 86400) >> 2)
    _, p = P.choose(px, servers, view([f"Cookie: SRV=c1|{future}".encode()]), NOW)
    assert p.ck == "E"


def test_fresh_dated_cookie_keeps_first_date():
    px, servers = backend("insdates")
    first = P.s30tob64(int(NOW - 3600) >> 2)
    last = P.s30tob64(int(NOW - 60) >> 2)
    _, p = P.choose(px, servers, view([f"Cookie: SRV=c1|{last}|{first}".encode()]), NOW)
    assert p.ck == "V" and p.first_date == (int(NOW - 3600) >> 2) << 2
    out = P.response_headers(px.cookie, [], servers[0], p, NOW, "GET", 200)
    assert out == [(b"set-cookie", f"SRV=c1|awJlJ|{first}; path=/".encode())] and p.sck == "U"


def test_interim_responses_are_left_alone():
    px, servers = backend("ins")
    _, p = P.choose(px, servers, view([]), NOW)
    assert P.response_headers(px.cookie, [], servers[0], p, NOW, "GET", 100) == []
    assert p.sck == "N"


@pytest.mark.parametrize("resp,private", [
    ([LM], True),
    ([(b"expires", b"x")], True),
    ([(b"etag", b'"1"')], True),
    ([(b"cache-control", b"public")], False),  # public but no freshness nor validator
    ([(b"cache-control", b"public, max-age=5")], True),
    ([LM, (b"cache-control", b"no-store")], False),
    ([LM, (b"pragma", b"no-cache")], False),
    ([LM, (b"cache-control", b"private")], False),
])
def test_nocache_follows_haproxy_cacheability(resp, private):
    px, servers = backend("ins")
    _, p = P.choose(px, servers, view([]), NOW)
    out = P.response_headers(px.cookie, resp, servers[0], p, NOW, "GET", 200)
    assert ((b"cache-control", b"private") in out[len(resp):]) is private


def test_set_cookie2_multiple_values():
    px, servers = backend("ins")
    _, p = P.choose(px, servers, view([b"Cookie: SRV=c1"]), NOW)
    out = P.response_headers(px.cookie, [(b"set-cookie2", b"a=1; Max-Age=5, SRV=z; Version=1, b=2")],
                             servers[0], p, NOW, "GET", 200)
    assert out == [(b"set-cookie2", b"a=1; Max-Age=5, b=2")] and p.sck == "D"


def test_base64_dates_round_trip():
    for value in (0, 1, 63, 64, 0x3FFFFFFF, 431_000_000):
        assert P.b64tos30(P.s30tob64(value).encode()) == value
    assert P.b64tos30(b"AA=AA") == -1 and P.b64tos30(b"AAAA") == -1


def test_no_cookie_config_only_evaluates_rules():
    px = CONFIG.backend("rules")
    assert P.persist_verdict(px.persist_rules, view([b"X-Force: 1", b"X-Ignore: 1"])) == "force"
    assert P.persist_verdict(px.persist_rules, view([b"X-Ignore: 1"])) == "ignore"
    assert P.persist_verdict(px.persist_rules, view([])) is None
    assert P.log_flags(None, None) == "--"
