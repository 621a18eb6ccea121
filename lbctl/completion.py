"""Tab completion for lbctl, built from the server's own `help`.

How it works: every usage line of `help` (e.g. ``set server <bk>/<srv> [opts]``) is compiled into a
small NFA -- a table of edges ``(from_state, atom, to_state)`` plus epsilon edges -- where an atom is a
literal word (``set``), or a slot for a name (``<bk>/<srv>`` -> a server, ``<fe>`` -> a frontend,
``<table>`` -> a stick table, anything else -> a free value). ``[...]`` groups are optional, ``{...}``
groups are a required choice, a trailing ``*`` repeats, ``|`` separates alternatives. To complete a
line, the finished words are run through each NFA; the edges leaving the states reached say what may
come next, and those matching the partial last word become completions. Names are fetched live through
the `names_provider` only when a name slot is reached. A few usages that HAProxy's help abbreviates
(``[opts]`` of ``set server``, the deprecated ``enable/disable server``) are expanded from a table.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable, Generic, Iterable, Iterator, TypeVar

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

Names = tuple[list[str], list[str], dict[str, list[str]], list[str]]  # frontends, backends, servers, tables

# lbctl's own commands, in the same usage syntax as the server's help.
LBCTL_COMMANDS: tuple[str, ...] = (
    "watch <command> [interval]",
    "drain <bk>/<srv> [--timeout <t>]",
    "ready <bk>/<srv>",
    "servers [<backend>]",
    "help [<command>]",
    "quit",
    "exit",
)

# Commands whose argument is itself a command line (completed recursively).
NESTED_COMMANDS = frozenset({"watch", "help"})

# Usages that HAProxy's help abbreviates, rewritten into their full syntax.
USAGE_FIXES: dict[str, str] = {
    "set server <bk>/<srv> [opts]": (
        "set server <bk>/<srv> {addr <ip> [port <port>]|agent {up|down}|agent-addr <addr> [port <port>]"
        "|agent-port <port>|agent-send <string>|check-addr <ip> [port <port>]|check-port <port>"
        "|fqdn <fqdn>|health {up|stopping|down}|ssl {on|off}|state {ready|drain|maint}|weight <weight>}"
    ),
    "disable server": "disable server <bk>/<srv>",
    "enable server": "enable server <bk>/<srv>",
    "set weight <bk>/<srv>": "set weight <bk>/<srv> <weight>",
    "disable health": "disable health <bk>/<srv>",
    "enable health": "enable health <bk>/<srv>",
    "disable agent": "disable agent <bk>/<srv>",
    "enable agent": "enable agent <bk>/<srv>",
}

# Placeholder name -> kind of name it stands for.
SLOT_KINDS: dict[str, str] = {
    "bk/srv": "server", "b/s": "server", "backend/server": "server",
    "bk": "backend", "backend": "backend", "b": "backend",
    "fe": "frontend", "frontend": "frontend",
    "px": "proxy", "proxy": "proxy",
    "table": "table",
}

_HELP_LINE = re.compile(r"^  (\S.*?)\s*: ")
_LITERAL = re.compile(r"^-{0,2}[A-Za-z0-9][A-Za-z0-9_.-]*$")


def help_commands(help_reply: str) -> list[str]:
    """The usage strings of a `help` reply, e.g. ``["abort ssl ca-file <cafile>", ...]``."""
    commands: list[str] = []
    for line in help_reply.splitlines():
        match = _HELP_LINE.match(line)
        if match is None:
            continue
        usage = " ".join(w for w in match.group(1).split() if w != "(DEPRECATED)")
        if usage and usage not in commands:
            commands.append(usage)
    return commands


# ---------------------------------------------------------------------------------------- grammar

@dataclass(frozen=True)
class Atom:
    literal: str | None = None  # a literal word, or None for a slot
    kind: str = "free"  # slot kind: server/backend/frontend/proxy/table/command/free

    def matches(self, word: str) -> bool:
        return word == self.literal if self.literal is not None else True


@dataclass
class Nfa:
    edges: list[tuple[int, Atom, int]] = field(default_factory=list)
    epsilon: dict[int, set[int]] = field(default_factory=dict)
    states: int = 1

    def new_state(self) -> int:
        self.states += 1
        return self.states - 1

    def link(self, a: int, b: int) -> None:
        self.epsilon.setdefault(a, set()).add(b)

    def closure(self, states: Iterable[int]) -> set[int]:
        seen, todo = set(states), list(states)
        while todo:
            for nxt in self.epsilon.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    def step(self, states: set[int], word: str) -> set[int]:
        return self.closure({b for a, atom, b in self.edges if a in states and atom.matches(word)})

    def next_atoms(self, states: set[int]) -> list[Atom]:
        return [atom for a, atom, _ in self.edges if a in states]


def split_top(text: str, sep: str | None) -> list[str]:
    """Split `text` on `sep` (None: runs of whitespace) outside of (), [], {}, <> groups."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "[{<(":
            depth += 1
        elif ch in "]}>)":
            depth = max(depth - 1, 0)
        is_sep = ch.isspace() if sep is None else ch == sep
        if is_sep and depth == 0:
            if current or sep is not None:
                parts.append(current)
            current = ""
        else:
            current += ch
    if current or sep is not None:
        parts.append(current)
    return parts


def atom_for(token: str) -> Atom:
    if _LITERAL.match(token):
        return Atom(literal=token)
    if token.startswith("<"):
        name = token[1:].split(">", 1)[0]
        if "/" in token:
            name = re.sub(r"[<>]", "", token.split("[", 1)[0])
        return Atom(kind="command" if name == "command" else SLOT_KINDS.get(name, "free"))
    return Atom()


def compile_into(nfa: Nfa, text: str, start: int) -> int:
    """Add the usage `text` to `nfa` from `start`; return the end state."""
    state = start
    for token in split_top(text, None):
        repeat = token.endswith(("]*", "}*"))
        body = token[:-1] if repeat else token
        opener, closer = body[:1], body[-1:]
        if (opener, closer) in (("[", "]"), ("{", "}")):
            end = nfa.new_state()
            for alternative in split_top(body[1:-1], "|"):
                nfa.link(compile_into(nfa, alternative, state), end)
            if opener == "[":
                nfa.link(state, end)
            if repeat:
                nfa.link(end, state)
            state = end
        else:
            end = nfa.new_state()
            nfa.edges.append((state, atom_for(body), end))
            state = end
    return state


def compile_usage(usage: str) -> Nfa:
    nfa = Nfa()
    compile_into(nfa, USAGE_FIXES.get(usage, usage), 0)
    return nfa


# ------------------------------------------------------------------------------------- completion

T = TypeVar("T")


class Cached(Generic[T]):
    """Wrap a fetcher (e.g. of names) so that it runs at most once every `ttl` seconds."""

    def __init__(self, fetch: Callable[[], T], ttl: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.fetch, self.ttl, self.clock = fetch, ttl, clock
        self._value: T | None = None
        self._at = 0.0

    def __call__(self) -> T:
        now = self.clock()
        if self._value is None or now - self._at >= self.ttl:
            self._value, self._at = self.fetch(), now
        return self._value


class LbCompleter(Completer):
    """Completes server commands (from `help`), lbctl's own commands, names and state values."""

    def __init__(self, commands: list[str],
                 names_provider: Callable[[], Names]) -> None:
        self.names_provider = names_provider
        self.set_commands(commands)

    def set_commands(self, commands: list[str]) -> None:
        usages = list(dict.fromkeys([*commands, *LBCTL_COMMANDS]))
        self.nfas = [compile_usage(u) for u in usages]

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        line = document.text_before_cursor.rsplit(";", 1)[-1]
        words = line.split()
        partial = "" if not words or line[-1:].isspace() else words.pop()
        seen: set[str] = set()
        for completion in self.complete_words(words, partial):
            if completion.text not in seen:
                seen.add(completion.text)
                yield completion

    def complete_words(self, words: list[str], partial: str) -> Iterator[Completion]:
        if words and words[0] in NESTED_COMMANDS:
            yield from self.complete_words(words[1:], partial)
            return
        atoms: list[Atom] = []
        for nfa in self.nfas:
            states = nfa.closure({0})
            for word in words:
                states = nfa.step(states, word)
                if not states:
                    break
            atoms.extend(nfa.next_atoms(states))
        ordered = list(dict.fromkeys(atoms))  # literals in usage order (state values read naturally)
        if not words:
            ordered.sort(key=lambda a: a.literal or "")
        names: Names | None = None
        for atom in sorted(ordered, key=lambda a: a.literal is None):
            if atom.literal is not None:
                if atom.literal.startswith(partial):
                    yield Completion(atom.literal, -len(partial))
            elif atom.kind in ("server", "backend", "frontend", "proxy", "table"):
                names = names if names is not None else self.names_provider()
                yield from complete_name(atom.kind, partial, names)


def complete_name(kind: str, partial: str, names: Names) -> Iterator[Completion]:
    frontends, backends, servers, tables = names
    if kind == "server":
        if "/" not in partial:
            for backend in backends:
                if backend.startswith(partial):
                    yield Completion(f"{backend}/", -len(partial), display_meta="backend")
            return
        backend, server = partial.split("/", 1)
        for name in servers.get(backend, []):
            if name.startswith(server):
                yield Completion(f"{backend}/{name}", -len(partial), display_meta="server")
        return
    pool = {"backend": backends, "frontend": frontends, "proxy": [*frontends, *backends],
            "table": tables}[kind]
    for name in dict.fromkeys(pool):
        if name.startswith(partial):
            yield Completion(name, -len(partial), display_meta=kind)
