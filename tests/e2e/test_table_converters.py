"""`table_*(<table>)` converters in ACLs, on the wire: a limit written with the source address
looked up in a stick table (`src,table_http_req_rate(st)`) rather than with a tracked counter."""

from __future__ import annotations

import httpx
import trio

from tests.support import lb_port, start_backend, start_lb


def config(port: int) -> str:
    return f"""
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:0
    http-request track-sc0 src table st
    http-request deny deny_status 429 if {{ src,table_http_req_rate(st) gt 3 }}
    http-request set-header X-Seen %[src,table_http_req_cnt(st)]
    http-request set-header X-Unknown %[req.hdr(x-key),table_http_req_cnt(st)]
    http-request set-header X-No-Data %[src,table_conn_cnt(st)]
    default_backend be
backend st
    stick-table type ip size 1k expire 10s store http_req_rate(10s),http_req_cnt
backend be
    server s1 127.0.0.1:{port}
"""


async def test_table_converters_read_the_stick_table(nursery):
    with trio.fail_after(10):
        backend = await start_backend(nursery, "s1")
        lb = await start_lb(nursery, config(backend.port))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            statuses = [(await client.get("/", headers={"x-key": "10.9.9.9"})).status_code for _ in range(6)]
        assert statuses == [200, 200, 200, 429, 429, 429]
        seen = [headers["x-seen"] for _, _, headers in backend.requests]
        assert seen == ["1", "2", "3"]  # the counter includes the request being processed
        # a key that is not in the table reads 0; a counter the table does not store: no sample
        assert [h.get("x-unknown") for _, _, h in backend.requests] == ["0", "0", "0"]
        assert [h.get("x-no-data") for _, _, h in backend.requests] == ["", "", ""]
