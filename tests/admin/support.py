"""Helpers for the admin (Runtime API) tests: registries and a one-call transcript runner."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from trio_lb.admin.registry import Command, Registry, default_registry
from trio_lb.admin.session import Session

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden"
HAPROXY_VERSION = "2.6.12-1+deb12u4"


def session_registry() -> Registry:
    """Only the session commands (trio_lb.admin.commands.session), whatever else is registered,
    so that exact listings do not change when other command modules are added."""
    reg = Registry()
    for cmd in default_registry():
        if cmd.handler.__module__ == "trio_lb.admin.commands.session":
            reg.add(cmd)
    return reg


class Env:
    """A ctx giving `show env` a fixed environment."""

    def __init__(self, environ: dict[str, str] | None = None, version: str | None = None) -> None:
        self.environ = environ if environ is not None else {"HOME": "/root", "A B": "space", "A;B": "semi"}
        if version is not None:
            self.version = version


def run(chunks: bytes | list[bytes], level: str = "admin", *, registry: Registry | None = None,
        ctx: object | None = None, eof: bool = True) -> tuple[bytes, Session]:
    """Feed `chunks` one by one (then EOF unless eof=False); the concatenated output."""
    if isinstance(chunks, bytes):
        chunks = [chunks]
    session = Session(registry or session_registry(), ctx if ctx is not None else Env(), level)
    out = b"".join(session.feed(c) for c in chunks)
    if eof:
        out += session.eof()
    return out, session


def read_transcripts(name: str) -> list[tuple[str, bytes, bytes]]:
    """(socket level, sent, received) from a golden `SOCKET level=x SEND b'..'  RECV b'..'` file."""
    text = (GOLDEN / name).read_text()
    literal = r"""(b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*")"""
    found = re.findall(rf"(?:SOCKET level=(\w+)\s+)?SEND {literal}\s+RECV {literal}", text)
    assert len(found) == text.count("SEND "), "a transcript could not be read"
    levels = {"oper": "operator", "": "admin"}
    return [(levels.get(lvl, lvl), ast.literal_eval(sent), ast.literal_eval(recv)) for lvl, sent, recv in found]


USAGE = re.compile(r"^[a-z][a-z0-9_-]*$")


def usage_words(usage: str) -> tuple[str, ...]:
    """The keywords of a help line: its leading plain words (at most 5)."""
    words: list[str] = []
    for token in usage[:40].split():
        if not USAGE.match(token) or len(words) == 5:
            break
        words.append(token)
    # the one usage line that does not spell its keywords (ssl_ckch.c): "new ssl crlfile"
    return ("new", "ssl", "crl-file") if tuple(words) == ("new", "ssl", "crlfile") else tuple(words)


def help_rows(help_text: str) -> list[str]:
    """The usage lines of a `help` output, without the header and the 3 fixed lines."""
    lines = [line[2:] for line in help_text.split("\n")[1:] if line.startswith("  ")]
    return lines[:-3]


def full_table_registry(help_text: str) -> Registry:
    """A registry with every command of an HAProxy `help` (handlers print nothing) plus the
    real help/prompt/quit: to compare the listings with HAProxy's own."""
    reg = Registry()
    for cmd in session_registry():
        if cmd.usage is None:
            reg.add(cmd)
    for usage in sorted(help_rows(help_text)):
        reg.add(Command(usage_words(usage), usage, "user", lambda ctx, args, payload, session: ""))
    return reg
