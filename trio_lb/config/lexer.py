"""HAProxy configuration lexer: one physical line -> a list of words.

Theory of operation
-------------------
This is a transcription of HAProxy's `parse_line()` (src/tools.c) with the options the config
reader uses (comments, both quote kinds, backslash escapes, environment variables, `[*]` word
expansion). The line is scanned once, left to right, with three bits of state: inside "weak"
double quotes, inside 'strong' single quotes, and the word being built. Characters are appended
to the current word; an unquoted blank ends it; an unquoted `#` ends the line.

* Backslash (outside single quotes) escapes ` `, `\\`, `#`, `'`, `"`, `$` (the last one only inside
  double quotes) and produces `\\t \\n \\r \\xNN`; any other `\\c` is kept as the two characters.
* `$NAME`, `${NAME}`, `${NAME-default}` and `${NAME[*]}` are expanded only inside double quotes.
  Unset variables expand to nothing; `[*]` splits the value on blanks into several words.
  `.FILE`, `.LINE` and `.SECTION` are pseudo-variables describing the current position.
* A word made empty by quoting (`""`) is kept, except as the last word of the line, exactly as in
  HAProxy: keyword parsers then see it as "argument absent", which is HAProxy's behaviour.

Errors carry HAProxy's exact message (with the offending line and a caret) so that `-c` output
matches. The lexer is pure: the caller passes the environment and the pseudo-variables.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

MAX_LINE_ARGS = 64  # HAProxy's MAX_LINE_ARGS: the 65th word is an error


@dataclass(frozen=True)
class Record:
    """One non-empty logical line of a configuration file."""

    file: str
    lineno: int
    words: list[str]


class LexError(Exception):
    """A line that cannot be split; `body` is HAProxy's whole alert text for it."""

    def __init__(self, body: str) -> None:
        super().__init__(body)
        self.body = body


_QUOTE = "unmatched quote"
_BRACE = "unmatched brace in environment variable name"
_VARNAME = "forbidden first char in environment variable name"
_HEX = "truncated or invalid hexadecimal sequence"
_EXPAND = "truncated or invalid word expansion sequence"
_TOO_MANY = "too many words"

_SIMPLE_ESCAPES = {" ": " ", "\\": "\\", "t": "\t", "n": "\n", "r": "\r", "#": "#", "'": "'", '"': '"'}
_BLANKS = " \t\n\r\v\f"


def _isalpha(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _isalnum(c: str) -> bool:
    return _isalpha(c) or ("0" <= c <= "9")


def _ishex(c: str) -> bool:
    return c != "" and c in "0123456789abcdefABCDEF"


class _Failure(Exception):
    def __init__(self, kind: str, pos: int, cut: int | None = None, words: list[str] | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.pos = pos
        self.cut = cut  # HAProxy prints the line truncated here in some cases
        self.words = words or []


class _Splitter:
    """The state machine of parse_line() for one line (see module docstring)."""

    def __init__(self, line: str, env: Mapping[str, str], pseudo: Mapping[str, str]) -> None:
        self.s = line
        self.env = env
        self.pseudo = pseudo
        self.words: list[str] = []
        self.cur: list[str] = []
        self.squote = False
        self.dquote = False
        self.quote_pos: int | None = None
        self.too_many = False

    def char(self, i: int) -> str:
        return self.s[i] if i < len(self.s) else ""

    def end_word(self, pos: int) -> None:
        self.words.append("".join(self.cur))
        self.cur = []
        if len(self.words) >= MAX_LINE_ARGS:
            self.too_many = True

    def run(self) -> list[str]:
        i = 0
        while True:
            c = self.char(i)
            if c in ("", "\n", "\r", "\0"):
                break
            if c == "#" and not self.squote and not self.dquote:
                break
            if c == '"' and not self.squote:
                self.dquote = not self.dquote
                self.quote_pos = i if self.dquote else None
                i += 1
            elif c == "'" and not self.dquote:
                self.squote = not self.squote
                self.quote_pos = i if self.squote else None
                i += 1
            elif c == "\\" and not self.squote:
                i = self.escape(i)
            elif c in _BLANKS and not self.squote and not self.dquote:
                while self.char(i) != "" and self.char(i) in _BLANKS:
                    i += 1
                self.end_word(i)
            elif c == "$" and self.dquote:
                i = self.variable(i)
            else:
                self.cur.append(c)
                i += 1
        if self.cur:
            self.words.append("".join(self.cur))
        if self.quote_pos is not None:
            raise _Failure(_QUOTE, self.quote_pos)
        if self.too_many:
            raise _Failure(_TOO_MANY, 0, words=self.words)
        return self.words

    def escape(self, i: int) -> int:
        nxt = self.char(i + 1)
        if nxt == "x":
            h1, h2 = self.char(i + 2), self.char(i + 3)
            if not (_ishex(h1) and _ishex(h2)):
                raise _Failure(_HEX, i)
            self.cur.append(chr(int(h1 + h2, 16)))
            return i + 4
        if nxt == "$" and self.dquote:
            self.cur.append("$")
            return i + 2
        if nxt in _SIMPLE_ESCAPES and nxt != "":
            self.cur.append(_SIMPLE_ESCAPES[nxt])
            return i + 2
        self.cur.append("\\")  # not an escape sequence: keep the backslash
        return i + 1

    def variable(self, i: int) -> int:
        i += 1
        brace = None
        if self.char(i) == "{":
            brace = i
            i += 1
        first = self.char(i)
        if not (_isalpha(first) or first in ("_", ".")):
            raise _Failure(_VARNAME, i)
        start = i
        if first == ".":
            i += 1
        while self.char(i) != "" and (_isalnum(self.char(i)) or self.char(i) == "_"):
            i += 1
        name = self.s[start:i]
        if name.startswith("."):
            if name not in self.pseudo:
                raise _Failure(_VARNAME, start, cut=i)
            value: str | None = self.pseudo[name]
        else:
            value = self.env.get(name)
        expand = False
        if self.char(i) == "[" and brace is not None:
            at = i
            if self.s[i + 1 : i + 3] != "*]":
                raise _Failure(_EXPAND, at)
            expand = True
            i += 3
        if brace is not None:
            if self.char(i) == "-":
                close = self.s.find("}", i)
                if close < 0:
                    raise _Failure(_BRACE, brace)
                if value is None:
                    value = self.s[i + 1 : close]
                i = close
            elif self.char(i) != "}":
                raise _Failure(_BRACE, brace)
            i += 1
        if value:
            self.emit_value(value, expand, i)
        return i

    def emit_value(self, value: str, expand: bool, pos: int) -> None:
        j = 0
        while j < len(value):
            if expand and value[j] in _BLANKS:
                self.end_word(pos)
                while j < len(value) and value[j] in _BLANKS:
                    j += 1
            else:
                self.cur.append(value[j])
                j += 1


def sanitize_for_printing(line: str, pos: int, width: int = 80) -> tuple[str, int]:
    """HAProxy's sanitize_for_printing(): fit `line` in `width` columns around `pos`."""
    shift = 0
    start, end, prefix = 0, width, ""
    if pos >= width:
        shift = pos - width // 2
        start, end, prefix = shift + 3, width - 3, "..."
    out = []
    for c in line[start:]:
        if len(prefix) + len(out) >= end:
            break
        if c in _BLANKS:
            out.append(" ")
        elif c.isprintable() and ord(c) < 127:
            out.append(c)
        else:
            out.append("?")
    text = prefix + "".join(out)
    if end < width:
        text += "..."
    return text, pos - shift


def split_line(
    raw: str,
    env: Mapping[str, str],
    *,
    file: str = "<string>",
    lineno: int = 0,
    section: str = "",
) -> list[str]:
    """Split one physical line into words; raise LexError with HAProxy's alert body.

    `raw` is the line as read (leading blanks included, no trailing newline).
    """
    skipped = len(raw) - len(raw.lstrip(_BLANKS))
    line = raw[skipped:]
    pseudo = {".FILE": file, ".LINE": str(lineno), ".SECTION": section}
    try:
        return _Splitter(line, env, pseudo).run()
    except _Failure as f:
        raise LexError(_error_body(f, line, skipped, file, lineno)) from None


def _error_body(f: _Failure, line: str, skipped: int, file: str, lineno: int) -> str:
    if f.kind == _TOO_MANY:
        # HAProxy reports the offset of the last kept word in its output buffer (words
        # separated by NULs), and that word.
        last = MAX_LINE_ARGS - 1
        offset = sum(len(w) + 1 for w in f.words[:last]) + 1
        return (
            f"parsing [{file}:{lineno}]: too many words, truncating after word {MAX_LINE_ARGS}, "
            f"position {offset}: <{f.words[last]}>."
        )
    shown = line[: f.cut] if f.cut is not None else line
    text, newpos = sanitize_for_printing(shown, f.pos)
    caret = " " * newpos + "^"
    return (
        f"parsing [{file}:{lineno}]: {f.kind} at position {f.pos + skipped + 1}:\n"
        f"  {text}\n  {caret}\n"
    ).rstrip("\n")


def iter_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number from 1, physical line without its end-of-line) for each line of `text`."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline ending the last line does not start another one
    for n, line in enumerate(lines, start=1):
        yield n, line


def records(text: str, filename: str = "<string>", env: Mapping[str, str] | None = None) -> Iterator[Record]:
    """Every non-empty line of `text` as a Record (static environment; LexError on bad lines).

    The configuration parser does not use this (its environment changes with `setenv`), but it
    is the convenient entry point for tools and tests.
    """
    env = env or {}
    for lineno, raw in iter_lines(text):
        words = split_line(raw, env, file=filename, lineno=lineno)
        if words and words[0] != "":
            yield Record(filename, lineno, words)
