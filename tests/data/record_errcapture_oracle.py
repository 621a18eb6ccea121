"""Re-record tests/data/errcapture_oracle.json from a real HAProxy 2.6 (`haproxy` and nothing else
needed: the stats socket is spoken to directly, the backend is a thread of this script).

For each case, the bytes are sent in one write (so that HAProxy parses them in one pass), then
`show errors request|response` is read and its numbers kept: error position, H1 state, flags,
lengths. Requests go to the frontend `fe_http`; response cases are answered by the fake server
behind `be_app` to a plain `GET /` request. At the end, one complete `show errors` (a request and
a response snapshot) is kept as `full_dump` with the events it was made of.

Usage: python tests/data/record_errcapture_oracle.py [output.json]
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "errcapture_oracle.json"

CRLF = b"\r\n"
BIG = b"X-Pad: " + b"a" * 1000 + CRLF

# (name, request bytes)
REQUESTS: list[tuple[str, bytes]] = [
    ("ctl_in_version", b"GET /a b\x01c HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("ctl_in_uri", b"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("del_in_uri", b"GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("nul_in_uri", b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("hash_in_uri", b"GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("hash_after_speedup", b"GET /abcdefgh#x HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("del_in_uri_alone", b"GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("utf8_in_uri", b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("bad_method_char", b"GE(T / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("method_then_nul", b"GET\x00/ HTTP/1.1\r\n\r\n"),
    ("leading_space", b" GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("leading_crlf_then_ctl", b"\r\n\r\n\x01GET / HTTP/1.1\r\n\r\n"),
    ("leading_cr_no_lf", b"\rGET / HTTP/1.1\r\n\r\n"),
    ("version_lowercase", b"GET / http/1.1\r\nHost: x\r\n\r\n"),
    ("version_letters", b"GET / HTTP/1.x\r\nHost: x\r\n\r\n"),
    ("version_too_long", b"GET / HTTP/11.1\r\nHost: x\r\n\r\n"),
    ("version_short", b"GET / HTTP/1\r\nHost: x\r\n\r\n"),
    ("version_bad_shape", b"GET / HTTP.1/1\r\nHost: x\r\n\r\n"),
    ("version_extra_token", b"GET / HTTP/1.1 x\r\nHost: x\r\n\r\n"),
    ("http09", b"GET /\r\n\r\n"),
    ("http09_post", b"POST /x\r\n\r\n"),
    ("method_only", b"GET\r\n\r\n"),
    ("cr_without_lf_reqline", b"GET / HTTP/1.1\rHost: x\r\n\r\n"),
    ("header_no_colon", b"GET / HTTP/1.1\r\nHost: x\r\nBadHeader\r\n\r\n"),
    ("header_space_in_name", b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n"),
    ("header_space_before_colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n"),
    ("header_empty_name", b"GET / HTTP/1.1\r\n: x\r\n\r\n"),
    ("header_at_in_name", b"GET / HTTP/1.1\r\nHo@st: x\r\n\r\n"),
    ("header_utf8_name", b"GET / HTTP/1.1\r\nH\xc3\xa9: x\r\n\r\n"),
    ("header_nul_in_value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n"),
    ("header_ctl_in_value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n"),
    ("header_cr_in_value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"),
    ("header_cr_no_lf_after_colon", b"GET / HTTP/1.1\r\nX-A:\rb\r\n\r\n"),
    ("last_cr_no_lf", b"GET / HTTP/1.1\r\nHost: x\r\n\rX"),
    ("bare_lf_ok_then_bad", b"GET / HTTP/1.1\nHost: x\nBad\n\n"),
    ("obs_fold_then_bad", b"GET / HTTP/1.1\r\nX-A: a\r\n\tb\r\nBad\r\n\r\n"),
    ("two_hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    ("bad_content_length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12a\r\n\r\n"),
    ("two_content_lengths", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
    ("empty_content_length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n"),
    ("cl_trailing_comma", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1,\r\n\r\na"),
    ("http10_get_with_body", b"GET / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"),
    ("te_gzip_chunked", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
    ("websocket_no_key", b"GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"),
    ("connection_cleaned_then_bad", b"GET / HTTP/1.1\r\nConnection: close, foo, keep-alive, bar\r\nBad\r\n\r\n"),
    ("cl_list_mismatch", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\nabcd"),
    ("te_not_chunked", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"),
    ("te_chunked_twice", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
    ("te_chunked_then_gzip", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
    ("connect_no_port", b"CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    ("authority_host_mismatch", b"GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n"),
    ("bad_version_after_headers", b"GET / HTTP/1.1x\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
    ("too_many_headers", b"GET / HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(110)) + CRLF),
    ("exactly_101_headers", b"GET / HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(101)) + CRLF),
    ("too_large_head", b"GET / HTTP/1.1\r\nHost: x\r\n" + BIG * 20),
    ("too_large_request_line", b"GET /" + b"a" * 17000),
    ("too_large_value", b"GET / HTTP/1.1\r\nX-Big: " + b"b" * 17000),
    ("long_line_escapes", b"GET /" + b"a\tb\\c\x1b" * 30 + b" HTTP/1.1\x01\r\n\r\n"),
]

# (name, response bytes sent by the server to a `GET /` request)
RESPONSES: list[tuple[str, bytes]] = [
    ("rp_bad_version_char", b"HTTP/1.x 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ("rp_no_space_after_version", b"HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
    ("rp_bad_code", b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"),
    ("rp_ctl_in_reason", b"HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n"),
    ("rp_header_no_colon", b"HTTP/1.1 200 OK\r\nServer\r\nContent-Length: 0\r\n\r\n"),
    ("rp_bad_content_length", b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n"),
    ("rp_version_too_long", b"HTTP/1.10 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ("rp_te_gzip", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
    ("rp_leading_garbage", b"\x01HTTP/1.1 200 OK\r\n\r\n"),
    ("rp_space_in_header_name", b"HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n"),
]

CFG = """\
global
    stats socket {dir}/admin.sock level admin
    tune.bufsize 16384
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe_http
    bind 127.0.0.1:{fe_port}
    default_backend be_app
backend be_app
    server app1 127.0.0.1:{be_port}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeServer(threading.Thread):
    """Answers every request with `self.reply`, then keeps the connection until HAProxy closes it."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.reply = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

    def run(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                conn.sendall(self.reply)
                while conn.recv(65536):
                    pass
            except OSError:
                pass


def cli(sock_path: str, command: str) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(sock_path)
        s.sendall(command.encode() + b"\n")
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out.decode("latin-1")


def exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(10)
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except OSError:
            pass
    return out


SNAP = re.compile(
    r"\[(?P<date>[^\]]+)\] (?P<kind>frontend|backend) (?P<px>\S+) \(#(?P<pxid>-?\d+)\): invalid (?P<dir>request|response)\n"
    r"  (?:backend|frontend) (?P<other>\S+) \(#(?P<otherid>-?\d+)\), server (?P<srv>\S+) \(#(?P<srvid>-?\d+)\), "
    r"event #(?P<ev>\d+), src (?P<src>\S+)\n"
    r"  buffer starts at (?P<ofs>\d+) \(including (?P<out>\d+) out\), (?P<free>\d+) free,\n"
    r"  len (?P<len>\d+), wraps at (?P<wrap>\d+), error at position (?P<pos>\d+)\n"
    r"  H1 connection flags 0x(?P<cflags>[0-9a-f]{8}), H1 stream flags 0x(?P<sflags>[0-9a-f]{8})\n"
    r"  H1 msg state (?P<state>\w+)\((?P<statenum>\d+)\), H1 msg flags 0x(?P<mflags>[0-9a-f]{8})\n"
    r"  H1 chunk len (?P<clen>\d+) bytes, H1 body len (?P<blen>\d+) bytes :\n"
)


def snapshot(sock_path: str, direction: str) -> dict:
    text = cli(sock_path, f"show errors be_app {direction}" if direction == "response" else
               f"show errors fe_http {direction}")
    m = SNAP.search(text)
    if m is None:
        raise RuntimeError(f"no snapshot in {text!r}")
    g = m.groupdict()
    ints = ("pxid", "otherid", "srvid", "ev", "ofs", "out", "free", "len", "wrap", "pos", "statenum", "clen", "blen")
    return {k: (int(v) if k in ints else v) for k, v in g.items()} | {"dump": text}


def main() -> None:
    out_path = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    server = FakeServer()
    server.start()
    with tempfile.TemporaryDirectory() as tmp:
        fe_port = free_port()
        cfg = Path(tmp) / "haproxy.cfg"
        cfg.write_text(CFG.format(dir=tmp, fe_port=fe_port, be_port=server.port))
        sock_path = f"{tmp}/admin.sock"
        proc = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                if os.path.exists(sock_path):
                    try:
                        cli(sock_path, "show info")
                        break
                    except OSError:
                        pass
                time.sleep(0.05)
            version = cli(sock_path, "show version").strip()
            cases = []
            seen: set[int] = set()
            accepted: list[dict] = []
            for direction, corpus in (("request", REQUESTS), ("response", RESPONSES)):
                for name, data in corpus:
                    if direction == "request":
                        exchange(fe_port, data)
                    else:
                        server.reply = data
                        exchange(fe_port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    snap = snapshot(sock_path, direction)
                    if snap["ev"] in seen:  # HAProxy accepted it: nothing captured
                        accepted.append({"name": name, "direction": direction, "data": data.decode("latin-1")})
                        continue
                    seen.add(snap["ev"])
                    cases.append(_case(name, direction, data, snap))
            full = cli(sock_path, "show errors")
        finally:
            proc.terminate()
            proc.wait()
    result = {
        "haproxy": version,
        "config": CFG,
        "note": "re-record with tests/data/record_errcapture_oracle.py; data strings are latin-1",
        "cases": cases,
        "accepted": accepted,
        "full_dump": full,
    }
    out_path.write_text(json.dumps(result, indent=1, ensure_ascii=True) + "\n")
    print(f"{len(cases)} cases written to {out_path}")


def _case(name: str, direction: str, data: bytes, snap: dict) -> dict:
    return {
        "name": name, "direction": direction, "data": data.decode("latin-1"),
        "pos": snap["pos"], "state": snap["state"], "state_num": snap["statenum"], "len": snap["len"],
        "wrap": snap["wrap"], "free": snap["free"], "c_flags": int(snap["cflags"], 16),
        "s_flags": int(snap["sflags"], 16), "m_flags": int(snap["mflags"], 16), "clen": snap["clen"],
        "blen": snap["blen"], "ev": snap["ev"], "src": snap["src"], "dump": snap["dump"],
    }


if __name__ == "__main__":
    main()
