"""The table of CLI commands, keyword dispatch, and the `help` / unknown-command listings.

How it works: a command is a row (keywords, usage line, level, handler), registered with the
`@registry.command(...)` decorator by the modules of trio_lb.admin.commands. A request's words
select the row whose keywords are the longest prefix of the words (HAProxy matches up to 5
keywords). The listings are generated from the rows exactly as HAProxy 2.6's cli_gen_usage_msg()
does it:

* the header depends on why the list is printed (`help`, nothing matched, partial match);
* `length` = how many leading words match some row's keywords;
* if a word follows those, rows sharing the `length` matched keywords are ranked by the distance
  between the character-transition fingerprints of the remaining words (update_word_fingerprint
  in src/tools.c); the best 5 with a distance under 5/2 of the total length are kept (the first
  registered in HAProxy wins a tie), and those worse than 5/2 of the best are dropped;
* with no such candidate, every row sharing the matched keywords is listed;
* the lines are sorted by usage string (strcmp) and followed by the fixed help/prompt/quit lines.

Rows without a usage line (help, prompt, quit, expert-mode) are never listed. HAProxy 2.6 lists
commands whatever the session's level (verified: `help` is identical on user, operator and admin
sockets); only expert/experimental rows are hidden until that mode is on.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from trio_lb.admin import messages

if TYPE_CHECKING:
    from trio_lb.admin.session import Session

LEVELS = {"user": 1, "operator": 2, "admin": 3}
Mode = Literal["expert", "experimental"]

PREFIX_KW_NB = 5  # CLI_PREFIX_KW_NB: keywords compared when matching
MAX_MATCHES = 5  # CLI_MAX_MATCHES: fuzzy suggestions at most

# The order in which HAProxy 2.6.12 registers its listed commands (link order of its objects, then
# each keyword table's order). Fuzzy suggestions at equal distance keep the first registered, so
# candidates are ranked by this order whatever order our modules register in (verified against
# 2.6.12: identical suggestions for random words over the full command table).
HAPROXY_ORDER = tuple(tuple(words.split()) for words in (
    "show tls-keys", "set ssl tls-key", "set ssl ocsp-response", "show ssl ocsp-response",
    "show ssl providers", "add ssl crt-list", "del ssl crt-list", "show ssl crt-list",
    "new ssl cert", "set ssl cert", "commit ssl cert", "abort ssl cert", "del ssl cert",
    "show ssl cert", "new ssl ca-file", "set ssl ca-file", "commit ssl ca-file",
    "abort ssl ca-file", "del ssl ca-file", "show ssl ca-file", "new ssl crl-file",
    "set ssl crl-file", "commit ssl crl-file", "abort ssl crl-file", "del ssl crl-file",
    "show ssl crl-file", "show sess", "shutdown session", "shutdown sessions server",
    "clear counters", "show info", "show stat", "show schema json", "disable agent",
    "disable health", "disable server", "enable agent", "enable health", "enable server",
    "set maxconn server", "set server", "get weight", "set weight", "add server", "del server",
    "clear table", "set table", "show table", "show peers", "show resolvers", "set maxconn global",
    "set rate-limit", "set severity-output", "set timeout", "show env", "show cli sockets",
    "show cli level", "show fd", "show activity", "show version", "operator", "user",
    "disable frontend", "enable frontend", "set maxconn frontend", "show servers conn",
    "show servers state", "show backend", "shutdown frontend", "set dynamic-cookie-key backend",
    "enable dynamic-cookie backend", "disable dynamic-cookie backend", "show errors", "show cache",
    "get var", "show libs", "show threads", "show events", "add acl", "clear acl", "commit acl",
    "del acl", "get acl", "prepare acl", "show acl", "add map", "clear map", "commit map",
    "del map", "get map", "prepare map", "set map", "show map", "show pools", "trace",
    "show trace", "set profiling", "show profiling", "show tasks", "show startup-logs",
))
_RANK = {words: rank for rank, words in enumerate(HAPROXY_ORDER)}

Handler = Callable[[Any, "Args", "str | None", "Session"], "str | None"]


class Args(list):
    """The words of a request (keywords included, as HAProxy's args[]); `at(i)` is "" past the end."""

    def at(self, index: int) -> str:
        return self[index] if 0 <= index < len(self) else ""


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]
    usage: str | None
    level: str
    handler: Handler
    mode: Mode | None = None  # expert/experimental-only commands

    def matches(self, args: list[str]) -> bool:
        return len(args) >= len(self.words) and tuple(args[: len(self.words)]) == self.words


class Registry:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, ...], Command] = {}

    # -- registration ------------------------------------------------------------------------

    def command(self, words: tuple[str, ...], usage: str | None, level: str = "user", *,
                mode: Mode | None = None) -> Callable[[Handler], Handler]:
        """Decorator: register `handler(ctx, args, payload, session) -> str` for `words`.

        `usage` is HAProxy's help line (`"<syntax padded to 40 columns>: <description>"`), None
        for an unlisted command. Sessions below `level` get `Permission denied` without the
        handler being called; a handler needing another order checks `session.has_level()`.
        """
        def register(handler: Handler) -> Handler:
            self.add(Command(tuple(words), usage, level, handler, mode))
            return handler
        return register

    def add(self, cmd: Command) -> None:
        if not cmd.words or len(cmd.words) > PREFIX_KW_NB:
            raise ValueError(f"a command has 1 to {PREFIX_KW_NB} keywords: {cmd.words!r}")
        if cmd.level not in LEVELS:
            raise ValueError(f"unknown level {cmd.level!r}")
        if cmd.words in self._rows:
            raise ValueError(f"command {' '.join(cmd.words)!r} is already registered")
        self._rows[cmd.words] = cmd

    def __iter__(self) -> Iterator[Command]:
        return iter(self._rows.values())

    def __len__(self) -> int:
        return len(self._rows)

    # -- dispatch ----------------------------------------------------------------------------

    def find(self, args: list[str]) -> Command | None:
        """The row whose keywords are the longest prefix of `args`."""
        for n in range(min(len(args), PREFIX_KW_NB), 0, -1):
            cmd = self._rows.get(tuple(args[:n]))
            if cmd is not None:
                return cmd
        return None

    # -- listings ----------------------------------------------------------------------------

    def usage_message(self, args: list[str], *, is_help: bool,
                      visible: Callable[[Command], bool] = lambda cmd: cmd.mode is None) -> str:
        """The text HAProxy prints for `help [words]` (is_help, args without "help") or for an
        unknown command (args = all the words)."""
        rows = [cmd for cmd in self._rows.values() if visible(cmd)]
        length = _matched_length(rows, args)
        if is_help:
            header = messages.HELP_HEADER
        elif length == 0 and (not args or not args[0]):
            header = messages.UNKNOWN_HEADER
        else:
            header = messages.MAYBE_HEADER
        sharing = [cmd for cmd in rows if cmd.usage and _shares_prefix(cmd, args, length)]
        sharing.sort(key=lambda cmd: _RANK.get(cmd.words, len(_RANK)))  # stable: ours after
        entries = _fuzzy(sharing, args, length) if _word(args, length) else []
        if not entries:
            entries = sharing
        lines = sorted((cmd.usage for cmd in entries if cmd.usage), key=_c_order)
        return header + "".join(f"  {usage}\n" for usage in lines) + messages.ALWAYS_LISTED


def _word(args: list[str], i: int) -> str:
    return args[i] if i < len(args) else ""


def _matched_length(rows: list[Command], args: list[str]) -> int:
    """The largest number of leading words equal to some row's keywords."""
    length = 0
    for cmd in rows:
        for idx in range(PREFIX_KW_NB):
            if idx >= len(cmd.words) or not _word(args, idx) or cmd.words[idx] != args[idx]:
                break
            length = max(length, idx + 1)
    return length


def _shares_prefix(cmd: Command, args: list[str], length: int) -> bool:
    return len(cmd.words) >= length and tuple(cmd.words[:length]) == tuple(args[:length])


def _fuzzy(rows: list[Command], args: list[str], length: int) -> list[Command]:
    """Up to MAX_MATCHES rows closest to the words after the `length` matched ones."""
    rest = []
    for i in range(length, PREFIX_KW_NB):
        if not _word(args, i):
            break
        rest.append(_bytes(args[i]))
    word_sig = fingerprint(rest)
    matches: list[tuple[int, Command]] = []  # kept sorted by distance, first registered first
    for cmd in rows:
        kw_sig, kw_len = _keywords_fingerprint(cmd.words[length:PREFIX_KW_NB])
        totlen = sum(map(len, rest)) + kw_len
        dist = distance(word_sig, kw_sig)
        worst = matches[-1][0] if len(matches) == MAX_MATCHES else None
        if dist < 5 * totlen // 2 and (worst is None or dist < worst):
            pos = len(matches)
            while pos > 0 and matches[pos - 1][0] > dist:
                pos -= 1
            matches.insert(pos, (dist, cmd))
            del matches[MAX_MATCHES:]
    if not matches:
        return []
    best = matches[0][0]
    return [cmd for dist, cmd in matches if dist <= 5 * best // 2]


# -- word fingerprints (src/tools.c) ------------------------------------------------------------

def _char_class(byte: int) -> int:
    """1..26 for letters (any case), 27 for digits, 28 for anything else."""
    if 97 <= byte <= 122:
        return byte - 96
    if 65 <= byte <= 90:
        return byte - 64
    if 48 <= byte <= 57:
        return 27
    return 28


def fingerprint(words: list[bytes] | tuple[bytes, ...]) -> dict[int, int]:
    """update_word_fingerprint() over `words` into one table (HAProxy's 1024 uint8 entries, kept
    sparse): entries 0..31 mark the classes present, 32*from+to counts transitions (28 = word
    start/end), wrapping at 256 as uint8_t does."""
    fp: dict[int, int] = {}
    for word in words:
        frm = 28
        for byte in word:
            to = _char_class(byte)
            fp[to] = 1
            fp[32 * frm + to] = (fp.get(32 * frm + to, 0) + 1) & 0xFF
            frm = to
        fp[32 * frm + 28] = (fp.get(32 * frm + 28, 0) + 1) & 0xFF
    return fp


def distance(a: dict[int, int], b: dict[int, int]) -> int:
    """word_fingerprint_distance(): the sum of the entries' absolute differences."""
    return sum(abs(a.get(k, 0) - b.get(k, 0)) for k in a.keys() | b.keys())


@functools.lru_cache(maxsize=4096)
def _keywords_fingerprint(words: tuple[str, ...]) -> tuple[dict[int, int], int]:
    encoded = tuple(_bytes(w) for w in words)
    return fingerprint(encoded), sum(map(len, encoded))


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _c_order(usage: str) -> bytes:
    return _bytes(usage)


# -- the process-wide registry ------------------------------------------------------------------

DEFAULT = Registry()
command = DEFAULT.command  # `@command(("show", "foo"), "show foo ...: ...", "operator")`


def default_registry() -> Registry:
    """The registry every module of trio_lb.admin.commands registers into (all imported here)."""
    import trio_lb.admin.commands as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")
    return DEFAULT
