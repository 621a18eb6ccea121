"""The session against HAProxy 2.6.12's own bytes: the captured samples always, and a live
`haproxy` (stats sockets on a temporary directory) when one is installed."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.admin import test_session_transcripts as transcripts
from tests.admin.support import (
    GOLDEN,
    HAPROXY_VERSION,
    Env,
    full_table_registry,
    help_rows,
    read_transcripts,
    run,
    session_registry,
    usage_words,
)
from trio_lb.admin.registry import Command, Registry, default_registry
from trio_lb.admin.session import Session

HELP_TEXT = (GOLDEN / "admin_help.txt").read_text()
HEADER = "The following commands are valid at this level:\n"
FIXED = HELP_TEXT.split("\n")[-5:-2]


def _expected_listing(header: str, registry: Registry) -> bytes:
    ours = {cmd.usage for cmd in registry if cmd.usage}
    rows = [row for row in help_rows(HELP_TEXT) if row in ours]
    return (header + "".join(f"  {row}\n" for row in rows) + "\n".join(FIXED) + "\n\n").encode()


def test_every_usage_line_is_haproxys() -> None:
    """Appendix A, verbatim, for each command we register (whoever registers it)."""
    appendix = set(help_rows(HELP_TEXT))
    for cmd in default_registry():
        if cmd.usage is not None:
            assert cmd.usage in appendix, cmd.words
            assert usage_words(cmd.usage) == cmd.words


def test_help_is_appendix_a_restricted_to_our_commands() -> None:
    out, _ = run(b"help\n", registry=default_registry())
    assert out == _expected_listing(HEADER, default_registry())


def test_unknown_command_lists_what_help_lists() -> None:
    out, _ = run(b"\n", "user", registry=default_registry())
    header = "Unknown command. Please enter one of the following commands only:\n"
    assert out == _expected_listing(header, default_registry())


def test_full_command_table_gives_haproxys_help() -> None:
    out, _ = run(b"help\n", registry=full_table_registry(HELP_TEXT))
    assert out.decode() == HELP_TEXT


def _supported(registry: Registry, sent: bytes) -> bool:
    requests = sent.replace(b";", b"\n").split(b"\n")
    return all(not r.split() or registry.find([w.decode() for w in r.split()]) for r in requests)


def _sample_registry(sent: bytes, received: bytes) -> Registry | None:
    """The session commands if they are all the sample needs; the full command table for a
    listing; None for samples about other modules' commands (get weight, add map...)."""
    if received.startswith((b"The following", b"Unknown command")):
        return full_table_registry(HELP_TEXT)
    if _supported(session_registry(), sent):
        return session_registry()
    return None


SAMPLES = [(lvl, sent, recv, reg) for lvl, sent, recv in read_transcripts("admin_interactive_transcripts.txt")
           if (reg := _sample_registry(sent, recv)) is not None]


@pytest.mark.parametrize("level,sent,received,registry", SAMPLES, ids=[repr(s[1])[:40] for s in SAMPLES])
def test_interactive_transcript_samples(level: str, sent: bytes, received: bytes, registry: Registry) -> None:
    out, _ = run(sent, level, registry=registry, ctx=Env(version=HAPROXY_VERSION))
    assert out == received


def test_most_samples_are_covered() -> None:
    assert len(SAMPLES) >= 12


USAGE_SAMPLES = read_transcripts("admin_usage_transcripts.txt")


@pytest.mark.parametrize("level,sent,received", USAGE_SAMPLES, ids=[repr(s[1]) for s in USAGE_SAMPLES])
def test_fuzzy_suggestions_as_haproxy(level: str, sent: bytes, received: bytes) -> None:
    out, _ = run(sent, level, registry=full_table_registry(HELP_TEXT))
    assert out == received


# -- live HAProxy ---------------------------------------------------------------------------------

HAPROXY = shutil.which("haproxy")
ENVIRON = transcripts.ENVIRON


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """HAProxy 2.6 daemonized with an admin, an operator and a user socket in a temporary dir."""
    if HAPROXY is None:
        pytest.skip("haproxy is not installed")
    version = subprocess.run([HAPROXY, "-v"], capture_output=True, text=True, timeout=10,
                             check=False).stdout
    if not version.startswith("HAProxy version 2.6."):
        pytest.skip("the expected bytes are those of HAProxy 2.6")
    d = tmp_path_factory.mktemp("haproxy")
    (d / "h.cfg").write_text(
        "global\n"
        f"    stats socket {d}/admin.sock level admin\n"
        f"    stats socket {d}/operator.sock level operator\n"
        f"    stats socket {d}/user.sock level user\n"
        "    stats maxconn 100\n"
        "defaults\n    timeout client 5s\n"
    )
    pidfile = d / "pid"
    # -D returns once the sockets are bound and listening: no waiting needed
    subprocess.run([HAPROXY, "-D", "-q", "-f", str(d / "h.cfg"), "-p", str(pidfile)],
                   env=ENVIRON | {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, check=True, timeout=30)
    pid = int(pidfile.read_text().split()[0])
    try:
        yield d
    finally:
        os.kill(pid, signal.SIGTERM)


def _ask(d: Path, level: str, data: bytes) -> bytes:
    """Send `data`, half-close, read until HAProxy closes."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(d / f"{level}.sock"))
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def _mixed_registry(help_text: str) -> Registry:
    """Our session commands for real, every other HAProxy command as a silent row."""
    reg = session_registry()
    for row in help_rows(help_text):
        if reg.find(list(usage_words(row))) is None:
            reg.add(Command(usage_words(row), row, "user", lambda ctx, args, payload, session: ""))
    return reg


def test_live_help_is_the_sample(live: Path) -> None:
    for level in ("admin", "operator", "user"):
        assert _ask(live, level, b"help\n").decode() == HELP_TEXT


LIVE_CASES = [c for c in transcripts.CASES if len(c[2]) == 1 and c[0] != "show env"]


@pytest.mark.parametrize("level,chunks", [(c[1], c[2]) for c in LIVE_CASES], ids=[c[0] for c in LIVE_CASES])
def test_live_same_bytes(live: Path, level: str, chunks: list[bytes]) -> None:
    registry = _mixed_registry(HELP_TEXT)
    session = Session(registry, Env(ENVIRON, version=HAPROXY_VERSION), level)
    ours = session.feed(chunks[0]) + session.eof()
    assert ours == _ask(live, level, chunks[0])


def _random_requests(rnd: random.Random, vocab: list[str], n: int) -> list[str]:
    def word() -> str:
        k = rnd.random()
        if k < 0.5:
            return rnd.choice(vocab)
        if k < 0.8:
            w = list(rnd.choice(vocab))
            w[rnd.randrange(len(w))] = rnd.choice("abcdefghijklmnopqrstuvwxyz-0")
            return "".join(w)
        return "".join(rnd.choice("abcdefgxyz019-_") for _ in range(rnd.randint(1, 12)))
    out = []
    for _ in range(n):
        words = [word() for _ in range(rnd.randint(1, 5))]
        out.append(" ".join((["help"] if rnd.random() < 0.3 else []) + words))
    return out


def test_live_suggestions_for_random_words(live: Path) -> None:
    """Unknown commands and `help <words>`: the same listing as HAProxy, byte for byte."""
    registry = _mixed_registry(HELP_TEXT)
    vocab = sorted({w for cmd in registry for w in cmd.words})
    requests = [r for r in _random_requests(random.Random(2606), vocab, 300)
                if r.startswith("help") or registry.find(r.split()) is None]
    replies = _ask(live, "admin", b"prompt\n" + "".join(f"{r}\n" for r in requests).encode())
    blocks = replies.split(b"\n> ")[1:]
    assert len(blocks) == len(requests) + 1
    for request, real in zip(requests, blocks):
        ours = Session(registry, Env(ENVIRON), "admin").feed(request.encode() + b"\n")
        assert ours == real + b"\n", request
