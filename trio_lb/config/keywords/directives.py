"""Conditional blocks and report directives: `.if/.elif/.else/.endif`, `.diag`, `.notice`,
`.warning`, `.alert` (HAProxy 2.4+, configuration.txt section 2.4).

Theory of operation
-------------------
`Blocks` keeps a stack with one frame per open `.if`: whether some branch of it was already
taken, whether the current branch is active, whether `.else` was seen. A line is dropped when
any frame of the stack is inactive. Conditions are parsed by a small recursive-descent parser
over the text of the `.if` arguments joined by spaces (as HAProxy does):

    expr := and ("||" and)* ;  and := term ("&&" term)* ;
    term := "!" term | "(" expr ")" | integer | predicate "(" args ")"

trio-lb answers `version_atleast()`/`version_before()` as HAProxy VERSION would and `feature()`
for the features it provides. Errors reuse HAProxy's wording and abort the parse as HAProxy does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from trio_lb.config.keywords import Alert

VERSION = "2.6.12"
FEATURES = frozenset({"OPENSSL"})


@dataclass
class _Frame:
    taken: bool  # a branch of this block was already selected
    active: bool  # the current branch is selected
    in_else: bool = False
    parent_active: bool = True
    where: str = ""  # "parsing [file:line]: " of the `.if`


class Blocks:
    """The `.if` stack of one file."""

    def __init__(self) -> None:
        self.stack: list[_Frame] = []

    @property
    def active(self) -> bool:
        return all(f.active for f in self.stack)

    def handle(self, words: list[str], where: str, env: Mapping[str, str], raw: str) -> str | None:
        """Process a directive line; returns ("warning"|"alert"|"notice", text) info via a tag.

        Returns None for a block directive, or "<level>\\0<text>" for a report directive whose
        branch is active (the caller emits it).
        """
        kw = words[0]
        if kw == ".if":
            parent = self.active
            value = parent and self._eval(words, where, raw, env)
            self.stack.append(_Frame(taken=value, active=value, parent_active=parent, where=where))
            return None
        if kw in (".elif", ".else", ".endif") and not self.stack:
            raise Alert(f"{where}lone '{kw}' with no matching '.if'.", abort=True)
        if kw == ".elif":
            frame = self.stack[-1]
            if frame.in_else:
                raise Alert(f"{where}'.elif' after '.else' is not permitted.", abort=True)
            value = frame.parent_active and not frame.taken and self._eval(words, where, raw, env)
            frame.active = value
            frame.taken = frame.taken or value
            return None
        if kw == ".else":
            frame = self.stack[-1]
            if frame.in_else:
                raise Alert(f"{where}'.else' after '.else' is not permitted.", abort=True)
            frame.in_else = True
            frame.active = frame.parent_active and not frame.taken
            frame.taken = True
            return None
        if kw == ".endif":
            self.stack.pop()
            return None
        level = {".diag": "diag", ".notice": "notice", ".warning": "warning", ".alert": "alert"}.get(kw)
        if level is None:
            raise Alert(f"{where}unknown directive '{kw}'.")
        if not self.active:
            return None
        text = words[1] if len(words) > 1 else ""
        return f"{level}\0{text}"

    def finish(self, where_last: str) -> None:
        """End of file: HAProxy reports an open block at the file's last line."""
        if self.stack:
            raise Alert(f"{where_last}non-terminated '.if' block.", abort=True)

    def _eval(self, words: list[str], where: str, raw: str, env: Mapping[str, str]) -> bool:
        text = " ".join(words[1:])
        parser = _CondParser(text, env)
        try:
            value = parser.parse()
        except _CondError as e:
            kw = words[0]
            line = raw.strip()
            caret_col = line.find(kw) + len(kw) + 1 + e.pos
            raise Alert(f"{where}{e.msg.format(expr=text, kw=kw)} at position {e.pos + 1}:\n"
                        f"  {line}\n  {' ' * caret_col}^", abort=True) from None
        return value


class _CondError(Exception):
    def __init__(self, msg: str, pos: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.pos = pos


_UNPARSABLE = "unparsable conditional expression '{expr}' in '{kw}'"


class _CondParser:
    def __init__(self, text: str, env: Mapping[str, str]) -> None:
        self.s = text
        self.i = 0
        self.env = env

    def parse(self) -> bool:
        self.skip()
        if self.i >= len(self.s):
            return False
        value = self.expr()
        self.skip()
        if self.i < len(self.s):
            raise _CondError(_UNPARSABLE, self.i)
        return value

    def skip(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1

    def expr(self) -> bool:
        value = self.conj()
        while True:
            self.skip()
            if not self.s.startswith("||", self.i):
                return value
            rhs = self.operand(self.conj)
            value = value or rhs

    def conj(self) -> bool:
        value = self.term()
        while True:
            self.skip()
            if not self.s.startswith("&&", self.i):
                return value
            rhs = self.operand(self.term)
            value = value and rhs

    def operand(self, parse: Callable[[], bool]) -> bool:
        """The right side of an operator; a missing one is reported at the operator."""
        op = self.i
        self.i += 2
        try:
            return parse()
        except _CondError as e:
            if e.pos >= len(self.s):
                e.pos = op
            raise

    def term(self) -> bool:
        self.skip()
        start = self.i
        if self.i >= len(self.s):
            raise _CondError(_UNPARSABLE, start)
        c = self.s[self.i]
        if c == "!":
            self.i += 1
            return not self.term()
        if c == "(":
            self.i += 1
            value = self.expr()
            self.skip()
            if self.i >= len(self.s) or self.s[self.i] != ")":
                raise _CondError("expected ')' after conditional expression '{expr}' in '{kw}'", start)
            self.i += 1
            return value
        if c.isdigit() or (c == "-" and self.s[self.i + 1:self.i + 2].isdigit()):
            self.i += 1
            while self.i < len(self.s) and self.s[self.i].isdigit():
                self.i += 1
            return int(self.s[start:self.i]) != 0
        return self.predicate(start)

    def predicate(self, start: int) -> bool:
        while self.i < len(self.s) and (self.s[self.i].isalnum() or self.s[self.i] == "_"):
            self.i += 1
        name = self.s[start:self.i]
        if name not in _PREDICATES or self.i >= len(self.s) or self.s[self.i] != "(":
            raise _CondError(_UNPARSABLE, start)
        close = self.s.find(")", self.i)
        if close < 0:
            raise _CondError(_UNPARSABLE, start)
        args = [a.strip() for a in self.s[self.i + 1:close].split(",")]
        if args == [""]:
            args = []
        nargs, func = _PREDICATES[name]
        if len(args) < nargs:
            raise _CondError(f"missing arguments (got {len(args)}/{nargs}), type 'string' expected in "
                             f"argument {len(args)} of predicate '{name}' used in conditional expression "
                             "in '{kw}'", close)
        self.i = close + 1
        return func(self.env, [_unquote(a) for a in args])


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _version_tuple(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.replace("-", ".").split("."):
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _cmp_version(a: str, b: str) -> int:
    ta, tb = _version_tuple(a), _version_tuple(b)
    n = max(len(ta), len(tb))
    ta, tb = ta + (0,) * (n - len(ta)), tb + (0,) * (n - len(tb))
    return (ta > tb) - (ta < tb)


_PREDICATES = {
    "defined": (1, lambda env, a: a[0] in env),
    "feature": (1, lambda env, a: a[0] in FEATURES),
    "streq": (2, lambda env, a: a[0] == a[1]),
    "strneq": (2, lambda env, a: a[0] != a[1]),
    "version_atleast": (1, lambda env, a: _cmp_version(VERSION, a[0]) >= 0),
    "version_before": (1, lambda env, a: _cmp_version(VERSION, a[0]) < 0),
}
