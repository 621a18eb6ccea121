"""HAProxy word splitting (tools.c parse_line()) and its error messages."""

from __future__ import annotations

import pytest

from trio_lb.config.lexer import LexError, Record, iter_lines, records, sanitize_for_printing, split_line


def words(line: str, env: dict[str, str] | None = None, **kw: object) -> list[str]:
    return split_line(line, env or {}, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("  bind  :80\tname x ", ["bind", ":80", "name", "x"]),
        ("acl a path /x # comment", ["acl", "a", "path", "/x"]),
        ("# only a comment", []),
        ("", []),
        (r"log-format %{+Q}o\ %t\ %s", ["log-format", "%{+Q}o %t %s"]),
        (r"a \#b \\c \'d \"e", ["a", "#b", "\\c", "'d", '"e']),
        (r"a x\ty\nz\r", ["a", "x\ty\nz\r"]),
        (r"a \x41\x4a\x6b", ["a", "AJk"]),
        (r"a \q \1", ["a", "\\q", "\\1"]),  # not an escape: the backslash stays
        ('a "b c" d', ["a", "b c", "d"]),
        ("a 'b c' d", ["a", "b c", "d"]),
        ("a \"it's\" 'say \"hi\"'", ["a", "it's", 'say "hi"']),
        ("a \"#not a comment\" '#nor this'", ["a", "#not a comment", "#nor this"]),
        ("a '\\x41 $HOME \\'", ["a", "\\x41 $HOME \\"]),  # strong quotes interpret nothing
        ('a "\\x41\\t\\$HOME"', ["a", "A\t$HOME"]),
        ('a x"y"z', ["a", "xyz"]),
        ('log-format "%{+Q}o %t"\' %s\'\\ %{-Q}r', ["log-format", "%{+Q}o %t %s %{-Q}r"]),
        ('a "" b', ["a", "", "b"]),  # an empty word is kept...
        ('a b ""', ["a", "b"]),  # ...except at the end of the line, as in HAProxy
        ("a b\r", ["a", "b"]),
    ],
)
def test_split(line: str, expected: list[str]) -> None:
    assert words(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('x "$HOME"', ["x", "/home/u"]),
        ("x $HOME", ["x", "$HOME"]),  # only inside double quotes
        ('x "${HOME}/.cfg"', ["x", "/home/u/.cfg"]),
        ('x "$HOME-1"', ["x", "/home/u-1"]),  # the name stops at the dash
        ('x "${NOPE-dflt}" "${HOME-dflt}"', ["x", "dflt", "/home/u"]),
        ('x "${EMPTY-dflt}"', ["x"]),  # the default replaces only unset variables
        ('x "[$NOPE]"', ["x", "[]"]),
        ('x "${LIST[*]}" y', ["x", "a", "b", "c", "y"]),
        ('x "${LIST}"', ["x", "a  b c"]),
        ('x "${.FILE}:${.LINE}" "${.SECTION}"', ["x", "f.cfg:7", "backend"]),
    ],
)
def test_environment(line: str, expected: list[str]) -> None:
    env = {"HOME": "/home/u", "EMPTY": "", "LIST": "a  b c"}
    assert split_line(line, env, file="f.cfg", lineno=7, section="backend") == expected


def error(line: str) -> str:
    with pytest.raises(LexError) as info:
        split_line(line, {}, file="t.cfg", lineno=2)
    return info.value.body


def test_unmatched_quotes() -> None:
    assert error('    node "abc') == 'parsing [t.cfg:2]: unmatched quote at position 10:\n  node "abc\n       ^'
    assert error("  node 'abc") == "parsing [t.cfg:2]: unmatched quote at position 8:\n  node 'abc\n       ^"
    # inside double quotes a single quote is a plain character (and vice versa)
    assert error("    node '\\x41\"") == (
        "parsing [t.cfg:2]: unmatched quote at position 10:\n  node '\\x41\"\n       ^")


def test_bad_hex_escape() -> None:
    assert error("  node a\\x4") == (
        "parsing [t.cfg:2]: truncated or invalid hexadecimal sequence at position 9:\n  node a\\x4\n        ^")


def test_variable_errors() -> None:
    assert error('  description "${1A}"') == (
        "parsing [t.cfg:2]: forbidden first char in environment variable name at position 18:\n"
        '  description "${1A}"\n                 ^')
    assert error('  description "${FOO"') == (
        "parsing [t.cfg:2]: unmatched brace in environment variable name at position 17:\n"
        '  description "${FOO"\n                ^')
    assert error('  description "${FOO[x]}"') == (
        "parsing [t.cfg:2]: truncated or invalid word expansion sequence at position 21:\n"
        '  description "${FOO[x]}"\n                    ^')
    # HAProxy prints the line cut after an unknown pseudo-variable's name
    assert error('  d "${.FOO}" x') == (
        "parsing [t.cfg:2]: forbidden first char in environment variable name at position 8:\n"
        '  d "${.FOO\n       ^')


def test_too_many_words() -> None:
    line = "  description " + " ".join(f"w{i}" for i in range(70))
    assert error(line) == "parsing [t.cfg:2]: too many words, truncating after word 64, position 251: <w62>."
    assert len(words("a " + " ".join("x" * 63))) == 64


def test_long_lines_are_shortened_around_the_error() -> None:
    line = "x" * 200 + ' "y'
    body = error(line)
    shown, caret = body.split("\n")[1:]
    # centred on the error: HAProxy skips 161 + 3 characters and marks both cuts with "..."
    assert shown == "  ..." + line[164:] + "..."
    assert shown[caret.index("^")] == '"'


def test_sanitize_for_printing() -> None:
    assert sanitize_for_printing("a\tb\x01c", 2) == ("a b?c", 2)
    text, pos = sanitize_for_printing("0123456789" * 20, 150)
    assert text.startswith("...") and text.endswith("...") and len(text) == 80
    assert text[pos] == "0123456789"[150 % 10]


def test_iter_lines_and_records() -> None:
    assert list(iter_lines("a\nb\r\n\nc")) == [(1, "a"), (2, "b\r"), (3, ""), (4, "c")]
    assert list(iter_lines("a\n")) == [(1, "a")]
    text = "global\n  # comment\n\n  maxconn 5\n"
    assert list(records(text, "r.cfg")) == [
        Record("r.cfg", 1, ["global"]),
        Record("r.cfg", 4, ["maxconn", "5"]),
    ]
