"""Command rows, dispatch, reply kinds and the listing algorithm (pure)."""

from __future__ import annotations

import pytest

from tests.admin.support import run, session_registry
from trio_lb.admin import messages
from trio_lb.admin.registry import (
    Args,
    Registry,
    default_registry,
    distance,
    fingerprint,
)
from trio_lb.admin.session import Session
from trio_lb.errors import CommandError


def _noop(ctx, args, payload, session):
    return f"{' '.join(args)}\n"


def _registry(*rows: tuple[tuple[str, ...], str | None, str]) -> Registry:
    reg = session_registry()
    for words, usage, level in rows:
        reg.command(words, usage, level)(_noop)
    return reg


def test_longest_prefix_wins() -> None:
    reg = _registry((("show", "x"), None, "user"), (("show", "x", "y"), None, "user"))
    assert reg.find(["show", "x", "y", "z"]).words == ("show", "x", "y")
    assert reg.find(["show", "x", "z"]).words == ("show", "x")
    assert reg.find(["show"]) is None
    assert reg.find([]) is None


def test_keywords_are_exact_words() -> None:
    reg = _registry((("show", "x"), None, "user"))
    assert reg.find(["show", "X"]) is None
    assert reg.find(["sho", "x"]) is None


@pytest.mark.parametrize("words,level", [
    (("show", "version"), "user"),  # already registered
    ((), "user"),
    (("a", "b", "c", "d", "e", "f"), "user"),
    (("x",), "root"),
])
def test_bad_rows_are_refused(words: tuple[str, ...], level: str) -> None:
    reg = session_registry()
    with pytest.raises(ValueError):
        reg.command(words, None, level)(_noop)


def test_default_registry_holds_the_session_commands_once() -> None:
    reg = default_registry()
    assert default_registry() is reg
    for words in [("help",), ("prompt",), ("quit",), ("show", "version"), ("show", "env"),
                  ("set", "timeout"), ("show", "cli", "level"), ("operator",), ("user",)]:
        assert reg.find(list(words)).words == words


def test_args_at() -> None:
    args = Args(["show", "env"])
    assert args.at(1) == "env"
    assert args.at(2) == ""
    assert args.at(-1) == ""


def test_level_is_checked_before_the_handler() -> None:
    called = []
    reg = session_registry()
    reg.command(("do", "it"), None, "admin")(lambda *a: called.append(a) or "done\n")
    assert run(b"do it\n", "operator", registry=reg)[0] == b"Permission denied\n\n"
    assert called == []
    assert run(b"do it\n", "admin", registry=reg)[0] == b"done\n\n"


def test_reply_kinds_and_severity() -> None:
    reg = session_registry()
    reg.command(("dump",), None)(lambda *a: "row1\nrow2\n")
    reg.command(("msg",), None)(lambda *a: messages.info("hello\n"))
    reg.command(("fail",), None)(lambda *a: (_ for _ in ()).throw(CommandError("No such thing.\n")))
    reg.command(("quirk",), None)(lambda *a: (_ for _ in ()).throw(CommandError("No LF")))
    reg.command(("nothing",), None)(lambda *a: None)
    out, _ = run(b"set severity-output string;dump;msg;fail;quirk;nothing\n", registry=reg)
    assert out == b"\nrow1\nrow2\n\n[info]: hello\n\n[err]: No such thing.\n\n[err]: No LF\n\n"


def test_no_lf_error_quirk_leaves_no_empty_line() -> None:
    reg = session_registry()
    reg.command(("quirk",), None)(lambda *a: (_ for _ in ()).throw(CommandError("Trailing garbage in weight string")))
    out, _ = run(b"quirk;show cli level\n", registry=reg)
    assert out == b"Trailing garbage in weight string\nadmin\n\n"


def test_handler_sees_args_payload_ctx_and_session() -> None:
    seen = []
    reg = session_registry()
    reg.command(("see",), None)(lambda ctx, args, payload, session: seen.append((ctx, args, payload, session)) or "")
    session = Session(reg, "CTX", "operator")
    session.feed(b"see a\\ b  c <<\nline\n\n")
    ctx, args, payload, who = seen[0]
    assert (ctx, args, payload, who) == ("CTX", ["see", "a b", "c"], "line", session)
    assert isinstance(args, Args)


def test_expert_commands_are_hidden_and_refused_until_enabled() -> None:
    reg = session_registry()
    reg.command(("debug", "dev", "x"), "debug dev x                             : dangerous", "admin", mode="expert")(_noop)
    reg.command(("exp", "y"), "exp y                                   : experimental", "admin", mode="experimental")(_noop)
    out, _ = run(b"help\n", registry=reg)
    assert b"debug dev" not in out and b"exp y" not in out
    out, _ = run(b"debug dev x;exp y\n", registry=reg)
    assert out == (b"This command is restricted to expert mode only.\n\n"
                   b"This command is restricted to experimental mode only.\n\n")
    out, _ = run(b"expert-mode on;experimental-mode on;debug dev x;exp y;help debug\n", registry=reg)
    assert out.startswith(b"\n\ndebug dev x\n\nexp y\n\nThe following commands are valid at this level:\n"
                          b"  debug dev x                             : dangerous\n")


def test_listing_is_sorted_as_strcmp() -> None:
    reg = Registry()
    for words in [("b",), ("a", "z"), ("a",), ("Z",)]:
        reg.command(words, f"{' '.join(words):<40}: x", "user")(_noop)
    text = reg.usage_message([], is_help=True)
    assert [line.split(":")[0].strip() for line in text.splitlines()[1:5]] == ["Z", "a", "a z", "b"]


def test_fingerprint() -> None:
    fp = fingerprint([b"Ab1-"])
    # presence marks, then begin->a, a->b, b->digit, digit->other, other->end
    assert fp == {1: 1, 2: 1, 27: 1, 28: 1, 32 * 28 + 1: 1, 32 * 1 + 2: 1, 32 * 2 + 27: 1,
                  32 * 27 + 28: 1, 32 * 28 + 28: 1}
    assert fingerprint([b"ab"]) == fingerprint([b"AB"])
    assert fingerprint([b"a" * 300])[32 + 1] == 299 % 256  # uint8_t counters wrap
    assert distance(fingerprint([b"show"]), fingerprint([b"show"])) == 0
    assert distance(fingerprint([b"ab"]), fingerprint([b"ac"])) == 6


def test_suggestions_follow_haproxy_registration_order_on_ties() -> None:
    """`show sess` is registered before `show acl` in HAProxy: it wins their tie for `show foo`,
    whatever order our modules register in."""
    reg = Registry()
    for words in [("show", "acl"), ("show", "env"), ("show", "fd"), ("show", "info"), ("show", "pools"),
                  ("show", "sess")]:
        reg.command(words, f"{' '.join(words):<40}: x", "user")(_noop)
    text = reg.usage_message(["show", "foo"], is_help=False)
    assert [line.split(":")[0].strip() for line in text.splitlines()[1:6]] == [
        "show env", "show fd", "show info", "show pools", "show sess"]
