"""Input bytes -> exact output bytes, for every CLI session rule of HAProxy 2.6 (pure, no I/O).

Expected bytes are those HAProxy 2.6.12 sent for the same input (verified with socat and raw
sockets); the version string is HAProxy's, given through the ctx.
"""

from __future__ import annotations

import pytest

from tests.admin.support import HAPROXY_VERSION, Env, run, session_registry
from trio_lb.admin.registry import Registry
from trio_lb.admin.session import Session

V = HAPROXY_VERSION.encode()
CTX = Env(version=HAPROXY_VERSION)

HELP_LINES = (
    b"  operator                                : lower the level of the current CLI session to operator\n"
    b"  set severity-output [none|number|string]: set presence of severity level in feedback information\n"
    b"  set timeout [cli] <delay>               : change a timeout setting\n"
    b"  show cli level                          : display the level of the current CLI session\n"
    b"  show env [var]                          : dump environment variables known to the process\n"
    b"  show version                            : show version of the current process\n"
    b"  user                                    : lower the level of the current CLI session to user\n"
)
FIXED = (
    b"  help [<command>]                        : list matching or all commands\n"
    b"  prompt                                  : toggle interactive mode with prompt\n"
    b"  quit                                    : disconnect\n"
)
HELP = b"The following commands are valid at this level:\n" + HELP_LINES + FIXED
UNKNOWN = b"Unknown command. Please enter one of the following commands only:\n" + HELP_LINES + FIXED
MAYBE = b"Unknown command, but maybe one of the following ones is a better match:\n"
SHOW_LINES = (
    b"  show cli level                          : display the level of the current CLI session\n"
    b"  show env [var]                          : dump environment variables known to the process\n"
    b"  show version                            : show version of the current process\n"
)

CASES = [
    # (id, socket level, input chunks, expected output, closed at the end without EOF)
    ("one command", "admin", [b"show version\n"], V + b"\n\n", True),
    ("no final LF: never run", "admin", [b"show version"], b"", False),
    ("semicolons", "admin", [b"show version;show cli level\n"], V + b"\n\nadmin\n\n", True),
    ("CRLF", "admin", [b"show version\r\n"], V + b"\n\n", True),
    ("only one CR stripped", "admin", [b"show version\r\r\n"], MAYBE + b"  show version                            : show version of the current process\n" + FIXED + b"\n", True),
    ("CR before a semicolon", "admin", [b"show version\r;show version\n"], V + b"\n\n" + V + b"\n\n", True),
    ("spaces and tabs", "admin", [b"  show   \t  version   \n"], V + b"\n\n", True),
    ("extra words ignored", "admin", [b"show cli level foo bar\n"], b"admin\n\n", True),
    ("empty line lists all", "admin", [b"\n"], UNKNOWN + b"\n", True),
    ("empty commands", "admin", [b";;\n"], (UNKNOWN + b"\n") * 3, True),
    ("help", "user", [b"help\n"], HELP + b"\n", True),
    ("help at every level is the same", "operator", [b"help\n"], HELP + b"\n", True),
    ("help with words", "admin", [b"help show cli\n"], b"The following commands are valid at this level:\n  show cli level                          : display the level of the current CLI session\n" + FIXED + b"\n", True),
    ("help with a prefix", "admin", [b"help show\n"], b"The following commands are valid at this level:\n" + SHOW_LINES + FIXED + b"\n", True),
    ("partial command", "admin", [b"show\n"], MAYBE + SHOW_LINES + FIXED + b"\n", True),
    ("escaped space makes one word", "admin", [b"show\\ cli level\n"], MAYBE + b"  show cli level                          : display the level of the current CLI session\n" + FIXED + b"\n", True),
    # interactive mode
    ("prompt", "admin", [b"prompt\nshow version\nquit\n"], b"\n> " + V + b"\n\n> ", True),
    ("prompt stays open", "admin", [b"prompt\nshow version\n"], b"\n> " + V + b"\n\n> ", False),
    ("prompt with words", "admin", [b"prompt foo\nshow version\n"], b"\n> " + V + b"\n\n> ", False),
    ("prompt toggles back", "admin", [b"prompt;show version;prompt\n"], b"\n> " + V + b"\n\n> \n", True),
    ("toggled back, pending input still runs", "admin", [b"prompt\nprompt\nshow version\n"], b"\n> \n" + V + b"\n\n", True),
    ("empty line in prompt mode", "admin", [b"prompt\n", b"\n"], b"\n> " + UNKNOWN + b"\n> ", False),
    ("operator level prompt", "operator", [b"prompt\nshow cli level\nquit\n"], b"\n> operator\n\n> ", True),
    # quit
    ("quit", "admin", [b"quit\n"], b"", True),
    ("quit with words", "admin", [b"quit now;show version\n"], b"", True),
    ("quit drops the rest of the line", "admin", [b"show version;quit;show version\n"], V + b"\n\n", True),
    # non-interactive: close once everything received is answered
    ("second write is too late", "admin", [b"show version\n", b"show version\n"], V + b"\n\n", True),
    ("request split over reads", "admin", [b"show ver", b"sion\n"], V + b"\n\n", True),
    ("pending partial request keeps it open", "admin", [b"show version\nshow ver", b"sion\n"], (V + b"\n\n") * 2, True),
    # levels
    ("user cannot raise", "user", [b"operator\n"], b"Permission denied\n\n", True),
    ("lowering", "admin", [b"operator;show cli level;user;show cli level;operator\n"],
     b"\noperator\n\n\nuser\n\nPermission denied\n\n", True),
    ("user command from user", "user", [b"user x\n"], b"\n", True),
    ("operator-only command", "user", [b"show env\n"], b"Permission denied\n\n", True),
    ("lowered level applies", "admin", [b"user;show env HOME\n"], b"\nPermission denied\n\n", True),
    ("operator - suppresses the LF", "admin", [b"operator -\n"], b"", True),
    ("operator - then more", "admin", [b"operator -;show cli level\n"], b"operator\n\n", True),
    ("operator - denied", "user", [b"operator -\n"], b"Permission denied\n", True),
    ("user - / operator -", "admin", [b"user -;show cli level;operator -;show cli level\n"],
     b"user\n\nPermission denied\nuser\n\n", True),
    ("no-LF is ignored in prompt mode", "admin", [b"prompt\nuser -\nshow cli level\n"], b"\n> \n> user\n\n> ", False),
    # payloads
    ("payload", "admin", [b"show env A <<\nfoo\n\n"], b"Variable not found\n\n", True),
    ("payload over several reads", "admin", [b"show env A <<\n", b"foo\n", b"\n"], b"Variable not found\n\n", True),
    ("payload never ended", "admin", [b"show env A <<\nfoo\n"], b"", False),
    ("payload in prompt mode", "admin", [b"prompt\nshow env A <<\nfoo\n\nshow version\n"],
     b"\n> + + Variable not found\n\n> " + V + b"\n\n> ", False),
    ("empty payload in prompt mode", "admin", [b"prompt\nshow env A <<\n\n"], b"\n> + Variable not found\n\n> ", False),
    ("<< glued to a word is a word", "admin", [b"show env A<<\n\n"], b"A<<=pl\n\n", True),
    ("<< glued, with payload lines", "admin", [b"show env A<<\nfoo\nbar\n\n"], b"A<<=pl\n\n", True),
    ("<< alone", "admin", [b"prompt\n<<\nx\n\n"], b"\n> + + " + UNKNOWN + b"\n> ", False),
    # escapes and odd bytes
    ("escaped semicolon", "admin", [b"show env A\\;B\n"], b"A;B=semi\n\n", True),
    ("escaped space", "admin", [b"show env A\\ B\n"], b"A B=space\n\n", True),
    ("escaped backslash", "admin", [b"show env A\\\\B\n"], b"A\\B=bslash\n\n", True),
    ("escaped letter", "admin", [b"show env A\\B\n"], b"AB=plain\n\n", True),
    ("escaped keyword letters", "admin", [b"show cli lev\\el\n"], b"admin\n\n", True),
    ("escaped LF continues the request", "admin", [b"show env A\\\nB\n"], b"Variable not found\n\n", True),
    ("escaped CR", "admin", [b"show env A\\\r\n"], b"Variable not found\n\n", True),
    ("escaped LF at the end waits", "admin", [b"show env A\\\n"], b"", False),
    ("NUL inside a word separates", "admin", [b"show\0cli level\n"], b"admin\n\n", True),
    ("NUL where a word starts ends the words", "admin", [b"show \0cli level\n"], MAYBE + SHOW_LINES + FIXED + b"\n", True),
    ("NUL first", "admin", [b"\0show cli level\n"], UNKNOWN + b"\n", True),
    ("NUL at the end", "admin", [b"show cli level\0\n"], b"admin\n\n", True),
    # severity output
    ("severity string", "admin", [b"set severity-output string\nset timeout cli\nshow env NOPE\nshow cli level\nshow env HOME\n"],
     b"\n[err]: Expects an integer value.\n\n[err]: Variable not found\n\n[info]: admin\n\nHOME=/root\n\n", True),
    ("severity number", "user", [b"set severity-output number;show env;operator;show version\n"],
     b"\n[3]: Permission denied\n\n[3]: Permission denied\n\n[6]: " + V + b"\n\n", True),
    ("severity on listings", "admin", [b"set severity-output string\nhelp show version\n"],
     b"\n[info]: The following commands are valid at this level:\n  show version                            : show version of the current process\n" + FIXED + b"\n", True),
    ("severity back to none", "admin", [b"set severity-output number;set severity-output none;show version\n"], b"\n\n" + V + b"\n\n", True),
    ("severity bad", "admin", [b"set severity-output\n"], b"one of 'none', 'number', 'string' is a required argument\n\n", True),
    # expert/experimental modes
    ("expert-mode state", "admin", [b"expert-mode\n"], b"expert-mode is OFF\n\n", True),
    ("expert-mode on, lowered off", "admin", [b"expert-mode on;expert-mode;user;show cli level;expert-mode\n"],
     b"\nexpert-mode is ON\n\n\nuser\n\nPermission denied\n\n", True),
    ("experimental-mode", "admin", [b"experimental-mode on;experimental-mode;experimental-mode off;experimental-mode\n"],
     b"\nexperimental-mode is ON\n\n\nexperimental-mode is OFF\n\n", True),
    ("expert-mode other word is off", "admin", [b"expert-mode foo;expert-mode\n"], b"\nexpert-mode is OFF\n\n", True),
    ("expert-mode needs admin", "operator", [b"expert-mode\n"], b"Permission denied\n\n", True),
    # show env / show version
    ("show env", "operator", [b"show env\n"], b"HOME=/root\nA B=space\nA;B=semi\nAB=plain\nA\\B=bslash\nA<<=pl\n\n", True),
    ("show env one", "admin", [b"show env HOME\n"], b"HOME=/root\n\n", True),
    ("show env prefix is not a match", "admin", [b"show env HOM\n"], b"Variable not found\n\n", True),
    ("show version extra words", "admin", [b"show version extra\n"], V + b"\n\n", True),
]

ENVIRON = {"HOME": "/root", "A B": "space", "A;B": "semi", "AB": "plain", "A\\B": "bslash", "A<<": "pl"}


@pytest.mark.parametrize("level,chunks,expected,closed", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_transcript(level: str, chunks: list[bytes], expected: bytes, closed: bool) -> None:
    out, session = run(chunks, level, ctx=Env(ENVIRON, version=HAPROXY_VERSION), eof=False)
    assert out == expected
    assert session.closed is closed


def test_final_line_without_lf_at_eof_is_dropped() -> None:
    out, session = run([b"show version;show cli level\nshow version"], ctx=CTX)
    assert out == V + b"\n\nadmin\n\n"
    assert session.closed


def test_half_closed_client_gets_its_answers() -> None:
    session = Session(run(b"")[1].registry, CTX, "admin")
    assert session.feed(b"prompt\nshow version\n") == b"\n> " + V + b"\n\n> "
    assert not session.closed
    assert session.eof() == b""
    assert session.closed


def test_escaped_lf_then_eof_runs_the_remainder() -> None:
    out, session = run([b"show env A\\\n"], ctx=Env(ENVIRON))
    assert out == b"Variable not found\n\n"
    assert session.closed


def test_escaped_lf_then_eof_in_prompt_mode() -> None:
    out, _ = run([b"prompt\n", b"show cli level\\\n"], ctx=CTX)
    assert out == b"\n> admin\n\n> "


def test_eof_during_payload_runs_nothing() -> None:
    out, session = run([b"prompt\nshow env HOME <<\nfoo\n"], ctx=CTX)
    assert out == b"\n> + + "
    assert session.closed


def test_nothing_after_close() -> None:
    _, session = run([b"show version\n"], ctx=CTX, eof=False)
    assert session.closed
    assert session.feed(b"show version\n") == b""
    assert session.eof() == b""


@pytest.mark.parametrize("size,answered", [(15360, True), (15361, False)])
def test_request_must_fit_the_buffer(size: int, answered: bool) -> None:
    request = b"show env " + b"x" * (size - 10) + b"\n"
    assert len(request) == size
    out, session = run([request], ctx=CTX, eof=False)
    assert out == (b"Variable not found\n\n" if answered else b"")
    assert session.closed


def test_oversized_request_closes_before_its_end_arrives() -> None:
    session = Session(run(b"")[1].registry, CTX, "admin")
    assert session.feed(b"prompt\n") == b"\n> "
    assert session.feed(b"x" * 20000) == b""
    assert session.closed


def _echo_registry(seen: list) -> Registry:
    reg = session_registry()
    reg.command(("echo",), None)(lambda ctx, args, payload, session: seen.append((list(args), payload)) or "ok\n")
    return reg


@pytest.mark.parametrize("data,args,payload", [
    (b"echo a <<\nk1 v1\nk2 v2 with space\n\n", ["echo", "a"], "k1 v1\nk2 v2 with space"),
    (b"echo <<\nx;y\\z\r\n \n\n", ["echo"], "x;y\\z\n "),  # no ; split, no escapes, CR dropped
    (b"echo <<\n\n", ["echo"], "\n"),  # HAProxy's pointer then lands on a LF it wrote
    (b"echo b;<<\n\n", ["echo", "b"], None),  # `;` ends the request: "<<" is a request alone
    (b"echo <<;x\n\n", ["echo"], "x"),  # the first request ends at the `;`
    (b"echo x<<\nk v\n\n", ["echo", "x<<", "k", "v"], None),  # glued: words run into the lines
    (b"echo <<\0junk\n", ["echo"], "junk"),  # a `<<` word ended by a NUL still starts a payload
])
def test_payload_contents(data: bytes, args: list[str], payload: str | None) -> None:
    seen: list = []
    Session(_echo_registry(seen), CTX, "admin").feed(data)
    assert seen[0] == (args, payload)


def test_payload_must_fit_the_request_chunk() -> None:
    seen: list = []
    session = Session(_echo_registry(seen), CTX, "admin")
    line = b"y" * 8000 + b"\n"
    assert session.feed(b"prompt\necho <<\n" + line + line) == b"\n> + + + "
    assert not session.closed
    session.feed(b"z" * 400 + b"\n")  # 8 + 2 * 8001 + 401 > 16383: cannot fit
    assert session.closed
    assert seen == []


def test_set_timeout_changes_the_session_timeout() -> None:
    session = Session(run(b"")[1].registry, CTX, "admin", timeout=10.0)
    assert session.feed(b"prompt\nset timeout cli 60\n") == b"\n> \n> "
    assert session.timeout == 60.0
    assert session.feed(b"set timeout cli 1500ms\n") == b"\n> "
    assert session.timeout == 2.0  # rounded up to the second, as HAProxy does
    assert session.feed(b"set timeout cli 1d\n") == b"\n> "
    assert session.timeout == 86400.0


@pytest.mark.parametrize("value,reply", [
    (b"", b"Expects an integer value.\n"),
    (b" ", b"Expects an integer value.\n"),
    (b"0", b"Invalid timeout value.\n"),
    (b"0s", b"Invalid timeout value.\n"),
    (b"5x", b"Invalid timeout value.\n"),
    (b"-5", b"Invalid timeout value.\n"),
    (b"2147483648", b"Invalid timeout value.\n"),
    (b"25000d", b"Invalid timeout value.\n"),
    (b"99999999999999999999", b"Invalid timeout value.\n"),
    (b"1", b""),
    (b"500ms", b""),
    (b"5sx", b""),
    (b"2147483647", b""),
])
def test_set_timeout_values(value: bytes, reply: bytes) -> None:
    out, _ = run([b"set timeout cli " + value + b"\n"], ctx=CTX)
    assert out == reply + b"\n"


@pytest.mark.parametrize("request_", [b"set timeout\n", b"set timeout foo 5\n", b"set timeout CLI 5\n"])
def test_set_timeout_other_than_cli(request_: bytes) -> None:
    out, _ = run([request_], ctx=CTX)
    assert out == b"'set timeout' only supports 'cli'.\n\n"


def test_set_timeout_allowed_to_users() -> None:
    out, session = run([b"set timeout cli 5\n"], "user", ctx=CTX)
    assert out == b"\n"
    assert session.timeout == 5.0
