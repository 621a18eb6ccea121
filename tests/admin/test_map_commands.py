"""The map/ACL Runtime API commands against real HAProxy 2.6.12 replies.

tests/data/golden/maps_transcript.txt was recorded by running `haproxy -f maps.cfg` in
tests/data/maps/ and sending each request on its own connection to a level=user socket (2.6 does
no level check on these commands); entry pointers are masked as 0xPTR on both sides. The replay
below parses the same configuration with trio-lb and sends the same requests in the same order.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.admin.support import read_transcripts, run
from trio_lb import config as cfgmod
from trio_lb.admin.registry import default_registry

DATA = Path(__file__).resolve().parent.parent / "data" / "maps"
PTR = re.compile(rb"(?m)^0x[0-9a-f]+ ")


def ctx_for(config: object) -> SimpleNamespace:
    return SimpleNamespace(runtime=SimpleNamespace(config=config))


@pytest.fixture
def ctx(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    monkeypatch.chdir(DATA)  # the map files are named relative to the working directory, as in HAProxy
    return ctx_for(cfgmod.parse((DATA / "maps.cfg").read_text(), "maps.cfg"))


def send(ctx: SimpleNamespace, request: bytes, level: str = "user") -> bytes:
    out, _ = run(request, level, registry=default_registry(), ctx=ctx)
    return out


def test_golden_transcript(ctx: SimpleNamespace) -> None:
    transcript = read_transcripts("maps_transcript.txt")
    assert len(transcript) > 70
    for _level, sent, expected in transcript:
        got = PTR.sub(b"0xPTR ", send(ctx, sent))
        assert got == expected, sent


def _ptrs(ctx: SimpleNamespace, ref: str) -> list[str]:
    out = send(ctx, f"show map {ref}\n".encode()).decode()
    return [line.split()[0] for line in out.splitlines() if line]


def test_entries_by_pointer(ctx: SimpleNamespace) -> None:
    first, second = _ptrs(ctx, "#7")
    assert send(ctx, f"set map #7 #{first} tiny\n".encode()) == b"\n"
    assert send(ctx, b"show map #7\n").decode().split("\n")[0].endswith(" 1:5 tiny")
    assert send(ctx, f"del map #7 #{second}\n".encode()) == b"\n"
    assert send(ctx, f"del map #7 #{second}\n".encode()) == b"Key not found.\n\n"
    assert send(ctx, b"show map #7\n").count(b"\n") == 2  # one entry left, then the terminator
    assert send(ctx, b"set map #7 #0x1g x\n") == b"Malformed identifier. Please use #<id> or <file>.\n\n"


def test_changes_are_seen_by_the_converters_at_once(ctx: SimpleNamespace) -> None:
    registry = ctx.runtime.config.patterns
    hosts = registry.load("hosts.map", "str")
    assert hosts.lookup("example.com") == "be_app"
    send(ctx, b"set map hosts.map example.com be_new\n")
    assert hosts.lookup("example.com") == "be_new"
    send(ctx, b"del map hosts.map example.com\n")
    assert hosts.lookup("example.com") is None
    send(ctx, b"add map hosts.map <<\nfoo.org be_foo\nbar.org   be bar \n\n")
    assert hosts.lookup("foo.org") == "be_foo"
    assert hosts.lookup("bar.org") == "be bar "  # the rest of the payload line, trailing blanks kept
    send(ctx, b"clear map hosts.map\n")
    assert hosts.lookup("foo.org") is None


def test_add_acl_changes_what_the_acl_matches(ctx: SimpleNamespace) -> None:
    from trio_lb.rules.sample import RequestView

    proxy = next(p for p in ctx.runtime.config.proxies if p.name == "f")
    blocked = proxy.acls["blocked"][0]
    path_acl = proxy.acls["p"][0]

    def view(src: str, path: str = "/") -> RequestView:
        return RequestView(src, 1234, "127.0.0.1", 80, method="GET", target=path)

    assert not blocked.match(view("172.16.0.1"))
    assert send(ctx, b"add acl blocked.lst 172.16.0.0/12\n") == b"\n"
    assert blocked.match(view("172.16.0.1"))
    assert send(ctx, b"del acl blocked.lst 172.16.0.0/12\n") == b"\n"
    assert not blocked.match(view("172.16.0.1"))
    assert path_acl.match(view("1.1.1.1", "/a"))
    assert send(ctx, b"del acl #2 /a\n") == b"\n"
    assert not path_acl.match(view("1.1.1.1", "/a"))
    send(ctx, b"add acl #2 /c\n")
    assert path_acl.match(view("1.1.1.1", "/c"))


def test_prepare_and_commit_swap_contents_atomically(ctx: SimpleNamespace) -> None:
    hosts = ctx.runtime.config.patterns.load("hosts.map", "str")
    assert send(ctx, b"prepare map hosts.map\n") == b"New version created: 1\n\n"
    send(ctx, b"add map @1 hosts.map example.com be_v1\n")
    assert hosts.lookup("example.com") == "be_app"  # version 1 is not live yet
    send(ctx, b"commit map @1 hosts.map\n")
    assert hosts.lookup("example.com") == "be_v1"
    assert hosts.lookup("api.example.com") is None
