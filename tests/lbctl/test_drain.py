"""lbctl.drain: the drain loop with a scripted client and a fake clock, then the whole flow against a
live in-process trio-lb holding a request open on the drained server."""

from __future__ import annotations

import httpx
import pytest
import trio

from lbctl.client import Client, ServerError
from lbctl.drain import Progress, drain, parse_duration, progress_bar, ready, split_target
from tests.support import lb_port, start_backend, start_lb, wait_for

HEADER = "# pxname,svname,qcur,qmax,scur,smax,status,type,"


def stat(*servers: tuple[str, int, int, str]) -> str:
    rows = "".join(f"be,{name},{q},0,{s},0,{status},2,\n" for name, s, q, status in servers)
    return HEADER + "\n" + rows + "be,BACKEND,0,0,0,0,UP,1,\n"


class ScriptedClient:
    """Answers `show stat ...` from a list of (scur, qcur) readings of be/s1; records every command."""

    def __init__(self, readings: list[tuple[int, int]], replies: dict[str, str] | None = None) -> None:
        self.readings = list(readings)
        self.replies = replies or {}
        self.sent: list[str] = []

    def run(self, command: str) -> str:
        self.sent.append(command)
        if command in self.replies:
            return self.replies[command]
        if command.startswith("show stat"):
            scur, qcur = self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]
            return stat(("s1", scur, qcur, "DRAIN"), ("s2", 7, 0, "UP"))
        return ""


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def test_drain_waits_for_sessions_and_queue_then_maint():
    client = ScriptedClient([(3, 1), (2, 1), (1, 0), (0, 0)])
    t = FakeTime()
    seen: list[Progress] = []
    assert drain(client, "be", "s1", timeout=60, on_progress=seen.append, interval=0.5,
                 sleep=t.sleep, clock=t.clock) is True
    assert client.sent == ["set server be/s1 state drain", "show stat be 4 -1", "show stat be 4 -1",
                           "show stat be 4 -1", "show stat be 4 -1", "set server be/s1 state maint"]
    assert [(p.scur, p.qcur, p.elapsed) for p in seen] == [(3, 1, 0.0), (2, 1, 0.5), (1, 0, 1.0), (0, 0, 1.5)]
    assert seen[0].status == "DRAIN"
    assert t.sleeps == [0.5, 0.5, 0.5]


def test_queue_alone_keeps_the_drain_waiting():
    client = ScriptedClient([(0, 2), (0, 1), (0, 0)])
    t = FakeTime()
    assert drain(client, "be", "s1", timeout=None, interval=1, sleep=t.sleep, clock=t.clock) is True
    assert client.sent.count("show stat be 4 -1") == 3


def test_drain_timeout_leaves_the_server_in_drain():
    client = ScriptedClient([(4, 0)])
    t = FakeTime()
    seen: list[Progress] = []
    assert drain(client, "be", "s1", timeout=2, on_progress=seen.append, interval=0.75,
                 sleep=t.sleep, clock=t.clock) is False
    assert "set server be/s1 state maint" not in client.sent
    assert t.sleeps == [0.75, 0.75, 0.5]  # the last sleep ends exactly at the deadline
    assert seen[-1].elapsed == 2 and seen[-1].scur == 4


def test_zero_timeout_checks_once():
    client = ScriptedClient([(1, 0)])
    t = FakeTime()
    assert drain(client, "be", "s1", timeout=0, sleep=t.sleep, clock=t.clock) is False
    assert client.sent.count("show stat be 4 -1") == 1 and t.sleeps == []


def test_server_errors_raise():
    client = ScriptedClient([(0, 0)], {"set server be/zz state drain": "No such server.\n"})
    with pytest.raises(ServerError, match="No such server"):
        drain(client, "be", "zz", timeout=1, sleep=lambda s: None)
    client = ScriptedClient([(0, 0)], {"set server be/s1 state ready": "Permission denied\n"})
    with pytest.raises(ServerError, match="Permission denied"):
        ready(client, "be", "s1")
    client = ScriptedClient([(0, 0)])
    ready(client, "be", "s1")
    assert client.sent == ["set server be/s1 state ready"]
    client = ScriptedClient([(0, 0)])
    with pytest.raises(ServerError, match="No such server"):  # accepted by set server, absent from stats
        drain(client, "be", "s9", timeout=1, sleep=lambda s: None)


@pytest.mark.parametrize("text, seconds", [("60s", 60), ("500ms", 0.5), ("2m", 120), ("90", 90), ("1h", 3600),
                                           ("1.5s", 1.5), ("250us", 0.00025), (" 3s ", 3), ("1d", 86400)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "-1s", "10 s", "5x", "1e3", "ten"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_split_target_and_progress_bar():
    assert split_target("be_app/app1") == ("be_app", "app1")
    for bad in ("be_app", "/app1", "be_app/", ""):
        with pytest.raises(ValueError):
            split_target(bad)
    bar = progress_bar(Progress(scur=1, qcur=0, elapsed=2.25, status="DRAIN"), peak=4, width=8)
    assert bar == "[######..] scur=1 qcur=0 DRAIN 2.2s"
    assert progress_bar(Progress(0, 0, 0.0, "DRAIN"), peak=0, width=4).startswith("[####]")


# -- against a live trio-lb ----------------------------------------------------------------------

async def _live(nursery, tmp_path):
    release = trio.Event()
    entered = trio.Event()

    async def held(backend, event, body):
        if event.target == b"/hold":
            entered.set()
            await release.wait()
        return 200, [], f"{backend.name}\n".encode()

    s1 = await start_backend(nursery, "s1", handler=held)
    s2 = await start_backend(nursery, "s2")
    sock = tmp_path / "admin.sock"
    running = await start_lb(nursery, f"""
global
    stats socket {sock} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    balance first
    server s1 127.0.0.1:{s1.port}
    server s2 127.0.0.1:{s2.port}
""")
    return sock, f"http://127.0.0.1:{lb_port(running, 'fe')}/", release, entered


async def test_drain_against_trio_lb_waits_for_the_open_request(nursery, tmp_path):
    with trio.fail_after(20):
        lb_sock, url, release, entered = await _live(nursery, tmp_path)
        client = Client(str(lb_sock), timeout=5)
        results: list[str] = []

        async def held_request() -> None:
            async with httpx.AsyncClient() as http:
                results.append((await http.get(url + "hold")).text)

        nursery.start_soon(held_request)
        await entered.wait()  # s1 ("balance first") has the request now
        seen: list[Progress] = []

        def progress(p: Progress) -> None:
            seen.append(p)
            if p.scur and sum(1 for q in seen if q.scur) == 3:
                trio.from_thread.run_sync(release.set)  # the request ends while we poll

        done = await trio.to_thread.run_sync(
            lambda: drain(client, "be", "s1", timeout=10, on_progress=progress, interval=0.02))
        assert done is True
        await wait_for(lambda: bool(results))
        assert results == ["s1\n"]  # the held request completed normally
        assert [p.scur for p in seen[:3]] == [1, 1, 1] and seen[-1].scur == 0 and seen[0].status == "DRAIN"
        status = await trio.to_thread.run_sync(lambda: _status(client, "s1"))
        assert status == "MAINT"
        async with httpx.AsyncClient() as http:  # new traffic goes to s2 now
            assert (await http.get(url)).text == "s2\n"
        await trio.to_thread.run_sync(lambda: ready(client, "be", "s1"))
        assert await trio.to_thread.run_sync(lambda: _status(client, "s1")) in ("UP", "no check")
        await trio.to_thread.run_sync(client.close)


async def test_drain_timeout_against_trio_lb(nursery, tmp_path):
    with trio.fail_after(20):
        lb_sock, url, release, entered = await _live(nursery, tmp_path)
        client = Client(str(lb_sock), timeout=5)

        async def held_request() -> None:
            async with httpx.AsyncClient() as http:
                await http.get(url + "hold")

        nursery.start_soon(held_request)
        await entered.wait()
        done = await trio.to_thread.run_sync(
            lambda: drain(client, "be", "s1", timeout=0.2, interval=0.02))
        assert done is False
        assert await trio.to_thread.run_sync(lambda: _status(client, "s1")) == "DRAIN"
        release.set()
        await trio.to_thread.run_sync(client.close)


def _status(client: Client, server: str) -> str:
    for line in client.run("show stat").splitlines():
        fields = line.split(",")
        if fields[:2] == ["be", server]:
            return fields[17]
    raise AssertionError(server)
