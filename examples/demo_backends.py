#!/usr/bin/env python3
"""Tiny demo servers for the example configs: HTTP, Redis-like and MySQL-like, on loopback.

    python3 examples/demo_backends.py http:web1:127.0.0.1:8081 http:web2:127.0.0.1:8082 \
        redis:r1:127.0.0.1:6391 mysql:db1:127.0.0.1:3317

Each HTTP server answers every request with `<name> <method> <path>` (and `/health` with 200),
so you can watch the balancing: `curl -s http://127.0.0.1:8080/` repeatedly. The Redis-like one
answers PING with +PONG and echoes anything else as a bulk string; the MySQL-like one sends a
greeting line then echoes. `--print-ready` prints "ready" once every port listens.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial

import trio

try:
    import h11_mypyc as h11
except ImportError:
    import h11


async def http_server(name: str, stream: trio.SocketStream) -> None:
    conn = h11.Connection(h11.SERVER)
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await stream.receive_some(65536)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.Request):
                body = await _read_body(conn, stream)
                path = event.target.decode()
                text = f"{name} {event.method.decode()} {path}\n".encode()
                if path.startswith("/echo"):
                    text = body
                headers = [("content-type", "text/plain"), ("content-length", str(len(text))),
                           ("x-served-by", name)]
                for hname, value in event.headers:
                    if hname == b"x-forwarded-for":
                        headers.append(("x-seen-forwarded-for", value.decode()))
                await stream.send_all(conn.send(h11.Response(status_code=200, headers=headers)))
                await stream.send_all(conn.send(h11.Data(data=text)) + conn.send(h11.EndOfMessage()))
                if conn.our_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
            elif isinstance(event, h11.ConnectionClosed):
                return
    except (trio.BrokenResourceError, h11.RemoteProtocolError, h11.LocalProtocolError):
        return
    finally:
        await stream.aclose()


async def _read_body(conn: h11.Connection, stream: trio.SocketStream) -> bytes:
    body = b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(65536))
        elif isinstance(event, h11.Data):
            body += event.data
        else:
            return body


async def redis_server(name: str, stream: trio.SocketStream) -> None:
    buf = b""
    try:
        async for data in stream:
            buf += data
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                words = line.split()
                if not words or words[0].startswith(b"*") or words[0].startswith(b"$"):
                    continue  # RESP array/bulk headers: the words follow on their own lines
                if words[0].upper() == b"PING":
                    await stream.send_all(b"+PONG\r\n")
                elif words[0].upper() == b"QUIT":
                    await stream.send_all(b"+OK\r\n")
                    return
                else:
                    reply = f"{name}:{line.decode(errors='replace')}".encode()
                    await stream.send_all(b"$%d\r\n%s\r\n" % (len(reply), reply))
    except trio.BrokenResourceError:
        pass
    finally:
        await stream.aclose()


async def mysql_server(name: str, stream: trio.SocketStream) -> None:
    try:
        await stream.send_all(f"demo-mysql {name} ready\n".encode())
        async for data in stream:
            await stream.send_all(data)
    except trio.BrokenResourceError:
        pass
    finally:
        await stream.aclose()


KINDS = {"http": http_server, "redis": redis_server, "mysql": mysql_server}


async def main(specs: list[str], print_ready: bool) -> None:
    async with trio.open_nursery() as nursery:
        for spec in specs:
            kind, name, host, port = spec.split(":")
            handler = KINDS[kind]

            async def serve(stream: trio.SocketStream, handler=handler, name=name) -> None:
                await handler(name, stream)

            await nursery.start(partial(trio.serve_tcp, serve, int(port), host=host))
        if print_ready:
            print("ready", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("servers", nargs="+", help="kind:name:host:port, kind in http redis mysql")
    parser.add_argument("--print-ready", action="store_true")
    ns = parser.parse_args()
    try:
        trio.run(main, ns.servers, ns.print_ready)
    except KeyboardInterrupt:
        sys.exit(0)
