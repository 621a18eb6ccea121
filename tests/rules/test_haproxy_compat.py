"""Compare with the real HAProxy (skipped when `haproxy` is not installed).

1. Error messages: one `haproxy -c` run over a config full of bad `acl` and `use_backend ... if` lines,
   each alert compared with our ValueError text.
2. Matching: HAProxy serves the same ACLs on a listening socket we bind (port 0, handed over as
   `bind fd@N`); for each request it reports which ACLs and conditions matched, and we check that
   RequestView + Acl.match + eval_condition agree on every one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio

try:
    import h11_mypyc as h11  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    import h11

from trio_lb.rules.acl import parse_acl
from trio_lb.rules.cond import eval_condition, parse_condition
from trio_lb.rules.sample import RequestView

HAPROXY = shutil.which("haproxy")
pytestmark = pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed")

HEAD = ["defaults", "  mode http", "  timeout client 2s", "  timeout server 2s", "  timeout connect 2s", "frontend f"]


def cfg_word(word: str) -> str:
    """Quote a word for HAProxy's config tokenizer."""
    return word.replace("\\", "\\\\").replace('"', '\\"').replace("#", "\\#")


# ------------------------------------------------------------------ 1. error messages

BAD_ACLS = """\
x foo
x foo(bar)
x hdr(host
x hdr(host)x
x path -m foo /
x path -z
x dst_port abc
x src 1.2.3.400
x method -m int 3
x ssl_fc -m ip 1.2.3.4
x path -f /nonexistent/file
x hdr(a,b,c) x
x dst_port 5:3
x dst_port gt x
x&y path /
x
x path -m
x src_port(1) 3
x url_param(a,b,c) x
x hdr(host,-11) x
x req.hdr(host,-11) x
x path,foo /
x src_port,foo 1
x src_port,lower(1) 1
x path,lower)x /
x src 10.0.0.0/33
x src ::1/129
x src -n localhost
x path -m bin 4
x path -m bin zz
x path -f /etc/hostname -m beg
x path -m len -3
x dst_port lt 0x3
or path /
x src_port)x 1
x always_true(
x .foo
x path -u abc /
x dst_port -- -""".splitlines()

BAD_CONDS = """\
if foo
unless foo
if { foo }
if { path /
if { }
if { path_beg /a } }
if {path_beg /a}
if known !nope
if known or { dst_port x }""".splitlines()


def test_error_messages_match_haproxy(tmp_path: Path) -> None:
    lines = [*HEAD, "  bind 127.0.0.1:8999", "  acl known path /"]
    first_acl = len(lines) + 1
    lines += [f"  acl {line}" for line in BAD_ACLS]
    first_cond = len(lines) + 1
    lines += [f"  use_backend b {line}" for line in BAD_CONDS]
    lines += ["  default_backend b", "backend b", "  server s 127.0.0.1:1"]
    cfg = tmp_path / "bad.cfg"
    cfg.write_text("\n".join(lines) + "\n")
    assert len(BAD_ACLS) + len(BAD_CONDS) < 50  # haproxy stops after 50 fatal errors

    out = subprocess.run([HAPROXY, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=10)  # type: ignore[list-item]
    alerts = {}
    for text in (out.stdout + out.stderr).splitlines():
        m = re.search(r"parsing \[.*bad\.cfg:(\d+)\] : (.*)$", text)
        if m:
            alerts[int(m.group(1))] = m.group(2)

    differences = []
    for i, line in enumerate(BAD_ACLS):
        with pytest.raises(ValueError) as info:
            parse_acl(line.split(" "))
        if alerts.get(first_acl + i) != str(info.value):
            differences.append((line, alerts.get(first_acl + i), str(info.value)))
    known = {"known": [parse_acl(["known", "path", "/"])]}
    for i, line in enumerate(BAD_CONDS):
        with pytest.raises(ValueError) as info:
            parse_condition(line.split(" "), known)
        ours = f"error detected while parsing switching rule : {info.value}."
        if alerts.get(first_cond + i) != ours:
            differences.append((line, alerts.get(first_cond + i), ours))
    assert differences == []


# ------------------------------------------------------------------ 2. matching

ACLS = [
    line.split(" ")
    for line in r"""path /a/b
path_beg /a
path_end .js
path_sub b/c
path_reg ^/a/[b-z]+
path_dir b
path_dir a/b
path_dom com
path_len 4
path_len gt 5
url_beg http://
url_dom example
url_len lt 10
url_sub ?
urlp(x) 1
urlp(x) 2
url_param(y) -m found
url_param -m found
url_param() 7
urlp(z,;) 9
urlp_beg(x) 1
url_param(x) -m len 0
hdr(host) -i example.com
hdr(host) example.com
hdr_beg(host) -i www.
hdr_dom(host) example
hdr_dom(host) com.
hdr_end(host) :8080
hdr(x-l) b
hdr(x-l) "c,d"
hdr(x-l) c
hdr(x-l,1) a
hdr(x-l,2) a
hdr(x-l,-1) e
hdr(x-l,-2) b
hdr_cnt(x-l) 4
hdr_cnt(x-l) 0
hdr_cnt eq 0
hdr_cnt() gt 6
hdr_val(x-n) gt 10
hdr_val(x-n) 12
hdr_val(x-n) 85
hdr_val(x-n) -- --12
hdr_len(x-l) 0
hdr() a
hdr a
hdr_reg(x-l) ^"
hdr_dir(x-p) b
hdr(x-missing) -m found
hdr(x-e) -m found
hdr(x-e) -m len 0
req.fhdr(x-l) e
req.fhdr_cnt(x-l) 2
src 127.0.0.1
src 127.0.0.0/8
src ::ffff:127.0.0.0/104
src 127.0.0.0/255.0.0.255
src -m str 127.0.0.1
src -m int 2130706433
dst_port -m len 5
dst_port -m len 4
src_port gt 0
method GET
method get
method -i get
method -m str GET
method PURGE
method -i purge
method -m beg G
req.ver 1.1
req_ver 1.0
req.ver -m int 1
ssl_fc
ssl_fc -m int 0
always_true
always_false -m bool
req.hdr(host),lower -m beg www
hdr_beg(host),lower www.example
path,upper /A/B
req.hdr(x-ip) -m ip 10.0.0.0/8
req.hdr(x-n) -m bool
path -m bin 2F612F62
query -m found
query a=1
path -f PATS -i /zz
path -i -f PATS
path_beg -f PATS
path -M -f MAP""".splitlines()
]

CONDS = [
    line.split(" ")
    for line in """if TRUE
if HTTP
if HTTP_1.1
if HTTP_1.0
if METH_GET
if METH_POST
if HTTP_URL_ABS
if HTTP_URL_SLASH
if HTTP_URL_STAR
if HTTP_CONTENT
if LOCALHOST
unless METH_GET
if a0 a1
if a0 || a3
if !a0 or a1
if { path_beg /a } !{ ssl_fc }
if""".splitlines()
]

REQUESTS = [
    b'GET /a/b?x=1&y=2;z=9&x=2 HTTP/1.1\r\nHost: www.example.com:8080\r\nX-L: a,b,"c,d"\r\nX-L: e\r\n'
    b"X-N: 12abc\r\nX-P: /a/b/\r\nX-E: \r\nX-IP: 10.1.1.1\r\n\r\n",
    b"GET http://www.example.com/a/bcd.js?x HTTP/1.1\r\nHost: www.example.com\r\nX-N: 1.5\r\nX-L: , c\r\n\r\n",
    b"get /a HTTP/1.1\r\nHost: example.com.\r\nX-N: -12\r\n\r\n",
    b"PURGE /x/b/c HTTP/1.0\r\nHost: EXAMPLE.COM\r\nContent-Length: 0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    b"DELETE /?x=1;x=2&=7&x= HTTP/1.1\r\nhost: a\r\nX-L: a\r\nX-L: a\r\n\r\n",
    b"GET /b/?x=1&x&y=&x=3;z=9?z=8 HTTP/1.1\r\nHost: b.example.com.\r\nX-N: +5\r\nX-P: b\r\n\r\n",
    b"CONNECT www.example.com:443 HTTP/1.1\r\nHost: www.example.com:443\r\n\r\n",
]


def runtime_config(fd: int, acls: list[list[str]]) -> str:
    lines = [*HEAD, f"  bind fd@{fd}"]
    lines += [f"  acl a{i} " + " ".join(cfg_word(w) for w in words) for i, words in enumerate(acls)]
    lines += [f"  http-request set-var(txn.a{i}) int(1) if a{i}" for i in range(len(acls))]
    lines += [f"  http-request set-var(txn.c{i}) int(1) " + " ".join(c) for i, c in enumerate(CONDS)]
    report = ",".join(f"%[var(txn.a{i})]" for i in range(len(acls)))
    report += "|" + ",".join(f"%[var(txn.c{i})]" for i in range(len(CONDS)))
    lines.append(f'  http-request return status 200 content-type text/plain lf-string "{report}"')
    return "\n".join(lines) + "\n"


async def exchange(port: int, raw: bytes) -> tuple[str, int]:
    """Send one request, return (response body, our source port)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        src_port = stream.socket.getsockname()[1]
        await stream.send_all(raw)
        data = b""
        while True:
            chunk = await stream.receive_some(65536)
            assert chunk, f"haproxy closed the connection: {data!r}"
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            if sep and length and len(body) >= int(length.group(1)):
                return body.decode(), src_port


def our_view(raw: bytes, src_port: int, port: int) -> RequestView:
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(raw)
    ev = conn.next_event()
    return RequestView(
        "127.0.0.1", src_port, "127.0.0.1", port,
        method=ev.method.decode("latin-1"), target=ev.target.decode("latin-1"),
        headers=list(ev.headers), version=ev.http_version.decode(), req_len=len(raw),
    )  # fmt: skip


async def test_matching_agrees_with_haproxy(tmp_path: Path) -> None:
    (tmp_path / "pats.lst").write_text("/A/B\n# c\n  /x/b/c\n")
    (tmp_path / "pats.map").write_text("/a/b\tval\n/x/b/c other\n")
    paths = {"PATS": str(tmp_path / "pats.lst"), "MAP": str(tmp_path / "pats.map")}
    acls = [[paths.get(w, w) for w in words] for words in ACLS]
    named: dict[str, list[Any]] = {f"a{i}": [parse_acl([f"a{i}", *words])] for i, words in enumerate(acls)}
    conds = [parse_condition(words, named) for words in CONDS]
    names = [" ".join(w) for w in ACLS] + [" ".join(c) for c in CONDS]

    with trio.fail_after(20):
        listener = trio.socket.socket()
        await listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        port = listener.getsockname()[1]
        cfg = tmp_path / "run.cfg"
        cfg.write_text(runtime_config(listener.fileno(), acls))
        check = subprocess.run(
            [HAPROXY, "-c", "-f", str(cfg)], capture_output=True, text=True, pass_fds=(listener.fileno(),), timeout=10
        )  # type: ignore[list-item]
        assert check.returncode == 0, check.stdout + check.stderr

        differences = []
        async with trio.open_nursery() as nursery:
            cmd = [HAPROXY, "-db", "-q", "-f", str(cfg)]
            proc = await nursery.start(partial(trio.run_process, cmd, pass_fds=(listener.fileno(),), check=False))
            try:
                for raw in REQUESTS:
                    body, src_port = await exchange(port, raw)
                    left, right = body.split("|")
                    theirs = [x == "1" for x in left.split(",")] + [x == "1" for x in right.split(",")]
                    view = our_view(raw, src_port, port)
                    ours = [named[f"a{i}"][0].match(view) for i in range(len(ACLS))]
                    ours += [eval_condition(c, view) for c in conds]
                    first_line = raw.split(b"\r\n", 1)[0].decode()
                    differences += [(first_line, n, t, o) for n, t, o in zip(names, theirs, ours) if t != o]
            finally:
                proc.terminate()
        listener.close()
    assert differences == []
