"""Random bytes and random word sequences at Session.feed: it never raises and replies stay framed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.admin.support import Env, session_registry
from trio_lb.admin.session import Session

REGISTRY = session_registry()
CTX = Env({"HOME": "/root", "LANG": "C"})
LEVELS = st.sampled_from(["user", "operator", "admin"])

TOKENS = [b"show", b"env", b"version", b"cli", b"level", b"set", b"timeout", b"severity-output",
          b"string", b"number", b"help", b"prompt", b"quit", b"user", b"operator", b"-", b"expert-mode",
          b"on", b"HOME", b" ", b"\t", b"\n", b";", b"\\", b"<<", b"\r", b"\0", b"\xff"]
PIECES = st.one_of(st.sampled_from(TOKENS), st.binary(max_size=8))
CHUNKS = st.lists(st.lists(PIECES, max_size=12).map(b"".join), max_size=10)

ENDINGS = (b"\n", b"\n> ", b"+ ")


@settings(max_examples=150, deadline=None)
@given(chunks=CHUNKS, level=LEVELS)
def test_random_bytes(chunks: list[bytes], level: str) -> None:
    session = Session(REGISTRY, CTX, level)
    for chunk in chunks:
        was_closed = session.closed
        out = session.feed(chunk)
        assert isinstance(out, bytes)
        assert out == b"" or out.endswith(ENDINGS)
        if was_closed:
            assert out == b""
    out = session.eof()
    assert out == b"" or out.endswith(ENDINGS)
    assert session.closed
    assert session.feed(b"show version\n") == b""


WORDS = st.one_of(
    st.sampled_from(["show", "env", "version", "cli", "level", "set", "timeout", "cli", "severity-output",
                     "string", "number", "help", "user", "operator", "expert-mode", "on", "off", "HOME", "5"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz-0123456789", min_size=1, max_size=10),
)
REQUEST = st.lists(WORDS, min_size=1, max_size=5).filter(lambda ws: ws[0] not in ("prompt", "quit"))


def _lines(requests: list[list[str]]) -> bytes:
    return "".join(" ".join(words) + "\n" for words in requests).encode()


@settings(max_examples=100, deadline=None)
@given(requests=st.lists(REQUEST.filter(lambda ws: ws[1:2] != ["-"]), min_size=1, max_size=8), level=LEVELS)
def test_each_reply_block_ends_with_an_empty_line(requests: list[list[str]], level: str) -> None:
    """Non-interactive: a client reading up to each empty line gets one block per request."""
    session = Session(REGISTRY, CTX, level)
    out = session.feed(_lines(requests))
    assert session.closed
    assert out.endswith(b"\n")
    assert out[:-1].split(b"\n").count(b"") == len(requests)


@settings(max_examples=100, deadline=None)
@given(requests=st.lists(REQUEST, min_size=1, max_size=8), level=LEVELS, data=st.data())
def test_prompt_mode_frames_and_ignores_how_bytes_arrive(requests: list[list[str]], level: str,
                                                         data: st.DataObject) -> None:
    """Interactive: one `\\n> ` per request; the output does not depend on the read sizes."""
    stream = b"prompt\n" + _lines(requests)
    whole = Session(REGISTRY, CTX, level).feed(stream)
    parts = whole.split(b"\n> ")
    assert len(parts) == len(requests) + 2
    assert parts[0] == parts[-1] == b""
    assert all(part == b"" or part.endswith(b"\n") for part in parts[1:-1])

    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])]
    session = Session(REGISTRY, CTX, level)
    assert b"".join(session.feed(p) for p in pieces) == whole
    assert not session.closed


# -- every command, on a real runtime ---------------------------------------------------------

FULL_CFG = """
global
    stats socket /nonexistent/admin.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 127.0.0.1:18991 check inter 1h
    server s2 127.0.0.1:18992
backend st
    balance static-rr
    server a 127.0.0.1:18995
"""


def _full_words() -> list[bytes]:
    from trio_lb.admin.registry import default_registry

    words = {w for cmd in default_registry() for w in cmd.words}
    words |= {"be", "st", "fe", "be/s1", "be/s2", "st/a", "#2/#1", "be/n1", "127.0.0.1:1", "::1", "0", "1", "-1",
              "50%", "x", "0x1", "all", "ready", "drain", "maint", "up", "stopping", "down", "port", "+5",
              "weight", "check", "state", "health", "addr", "check-port", "typed", "json", "desc", "request",
              "response", "global", "connections", "sessions", "10"}
    return sorted(w.encode() for w in words)


FULL_TOKENS = _full_words()
LINES = st.lists(st.lists(st.sampled_from(FULL_TOKENS), min_size=1, max_size=7).map(b" ".join), max_size=8)


@settings(max_examples=300, deadline=None)
@given(lines=LINES, level=LEVELS)
def test_random_commands_on_a_runtime(lines: list[bytes], level: str) -> None:
    """Word sequences built from every command's words and the config's names: no command
    raises, every reply is framed, and the runtime stays consistent."""
    import trio_lb.config as config_pkg
    from tests.net.test_admin_server_commands import _FixedClock
    from trio_lb.admin.registry import default_registry
    from trio_lb.state.proxies import build_runtime

    runtime = build_runtime(config_pkg.parse(FULL_CFG, "f.cfg"), 0.0)
    session = Session(default_registry(), _FixedClock(runtime), level)
    for line in lines:
        out = session.feed(line + b"\n")
        assert out == b"" or out.endswith(ENDINGS)
    for backend in runtime.backends.values():
        assert len({s.name for s in backend.servers}) == len(backend.servers)
        assert len({s.id for s in backend.servers}) == len(backend.servers)
        assert all(s.cur_sess == 0 for s in backend.servers)
