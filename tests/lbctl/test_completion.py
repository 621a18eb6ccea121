"""LbCompleter and help_commands: completions for partial inputs, from HAProxy's own `help` text."""

from __future__ import annotations

from pathlib import Path

import pytest
from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from lbctl.completion import LBCTL_COMMANDS, Cached, LbCompleter, compile_usage, help_commands, split_top

SAMPLES = Path(__file__).parent.parent / "data" / "samples"
HELP = (SAMPLES / "help.txt").read_text()
NAMES = (["fe_http", "fe_tcp"], ["web", "be_app", "st_src"],
         {"web": ["web1", "web2"], "be_app": ["app1", "app2"], "st_src": []}, ["st_src"])


class Provider:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return NAMES


@pytest.fixture
def completer() -> LbCompleter:
    return LbCompleter(help_commands(HELP), Provider())


def texts(completer: LbCompleter, line: str) -> list[str]:
    return [c.text for c in completer.get_completions(Document(line), CompleteEvent(completion_requested=True))]


def apply(completer: LbCompleter, line: str) -> list[str]:
    """The whole lines each completion would produce."""
    out = []
    for c in completer.get_completions(Document(line), CompleteEvent()):
        out.append(line[: len(line) + c.start_position] + c.text)
    return out


# -- help parsing ------------------------------------------------------------------------------

def test_help_commands_parses_every_usage_line():
    commands = help_commands(HELP)
    usage_lines = [line for line in HELP.splitlines() if line.startswith("  ")]
    assert len(commands) == len(usage_lines) == 103
    assert commands[0] == "abort ssl ca-file <cafile>"
    assert "set server <bk>/<srv> [opts]" in commands
    # a syntax 40 chars long runs into the colon; a colon inside the syntax is not the separator
    assert "show stat [desc|json|no-maint|typed|up]*" in commands
    assert "set severity-output [none|number|string]" in commands
    assert "show ssl crl-file [<crlfile[:<index>>]]" in commands
    assert "del ssl crt-list <list> <cert[:line]>" in commands
    # the (DEPRECATED) marker is not a word of the command
    assert "enable server" in commands and "set weight <bk>/<srv>" in commands
    assert not any("DEPRECATED" in c or "following" in c for c in commands)


def test_help_commands_of_an_unknown_command_reply_and_of_garbage():
    reply = ("Unknown command, but maybe one of the following ones is a better match:\n"
             "  show env [var]                          : dump environment variables known to the process\n"
             "  quit                                    : disconnect\n")
    assert help_commands(reply) == ["show env [var]", "quit"]
    assert help_commands("") == []
    assert help_commands("Permission denied\n") == []


def test_split_top_keeps_groups_together():
    assert split_top("set table <table> key <k> [data.* <v>]*", None) == [
        "set", "table", "<table>", "key", "<k>", "[data.* <v>]*"]
    assert split_top("addr <ip> [port <p>]|agent {up|down}", "|") == ["addr <ip> [port <p>]", "agent {up|down}"]


# -- command words -----------------------------------------------------------------------------

def test_first_words(completer):
    assert texts(completer, "sh") == ["show", "shutdown"]
    first = texts(completer, "")
    assert first == sorted(first)
    for word in ("abort", "add", "show", "set", "trace", "help", "prompt", "quit", *[
            c.split()[0] for c in LBCTL_COMMANDS]):
        assert word in first
    assert len(first) == len(set(first))


def test_second_and_third_words(completer):
    assert set(texts(completer, "show s")) == {"stat", "servers", "sess", "schema", "ssl", "startup-logs"}
    assert texts(completer, "show servers ") == ["conn", "state"]
    assert texts(completer, "show stat ") == ["desc", "json", "no-maint", "typed", "up"]
    assert texts(completer, "show stat json t") == ["typed"]  # the group repeats
    assert texts(completer, "set severity-output ") == ["none", "number", "string"]
    assert texts(completer, "set profiling tasks ") == ["auto", "on", "off"]
    assert texts(completer, "clear counters ") == ["all"]


def test_no_completion_after_unknown_words(completer):
    assert texts(completer, "frobnicate ") == []
    assert texts(completer, "show version ") == []
    assert texts(completer, "show zz") == []


def test_pipelined_commands_complete_the_last_one(completer):
    assert texts(completer, "show version;sh") == ["show", "shutdown"]


# -- names -------------------------------------------------------------------------------------

def test_backend_then_server(completer):
    assert texts(completer, "set server w") == ["web/"]
    assert apply(completer, "set server w") == ["set server web/"]
    assert texts(completer, "set server web/") == ["web/web1", "web/web2"]
    assert apply(completer, "get weight be_app/app2") == ["get weight be_app/app2"]
    assert texts(completer, "set server nope/") == []
    assert texts(completer, "shutdown sessions server ") == ["web/", "be_app/", "st_src/"]


def test_frontends_backends_proxies_tables(completer):
    assert texts(completer, "disable frontend ") == ["fe_http", "fe_tcp"]
    assert texts(completer, "set maxconn frontend fe_t") == ["fe_tcp"]
    assert texts(completer, "show servers state ") == ["web", "be_app", "st_src"]
    assert texts(completer, "show table ") == ["st_src"]
    assert texts(completer, "enable dynamic-cookie backend b") == ["be_app"]
    # show errors [<px>] [request|response]: proxies or the literal
    assert set(texts(completer, "show errors ")) == {"request", "response", "fe_http", "fe_tcp", "web",
                                                    "be_app", "st_src"}
    assert texts(completer, "show errors web ") == ["request", "response"]


def test_names_are_fetched_only_when_a_name_can_follow():
    provider = Provider()
    completer = LbCompleter(help_commands(HELP), provider)
    texts(completer, "sh")
    texts(completer, "show stat ")
    assert provider.calls == 0
    texts(completer, "set server ")
    assert provider.calls == 1


# -- set server options and state values -------------------------------------------------------

def test_set_server_options(completer):
    options = texts(completer, "set server web/web1 ")
    for word in ("addr", "agent", "agent-addr", "agent-port", "agent-send", "check-addr", "check-port",
                 "fqdn", "health", "ssl", "state", "weight"):
        assert word in options
    assert texts(completer, "set server web/web1 st") == ["state"]


def test_state_values(completer):
    assert texts(completer, "set server web/web1 state ") == ["ready", "drain", "maint"]
    assert texts(completer, "set server web/web1 state d") == ["drain"]
    assert texts(completer, "set server web/web1 health ") == ["up", "stopping", "down"]
    assert texts(completer, "set server web/web1 agent ") == ["up", "down"]
    assert texts(completer, "set server web/web1 ssl ") == ["on", "off"]
    assert texts(completer, "set server web/web1 addr 10.0.0.1 ") == ["port"]
    assert texts(completer, "set server web/web1 state drain ") == []


def test_deprecated_commands_take_a_server(completer):
    assert texts(completer, "disable server w") == ["web/"]
    assert texts(completer, "enable health web/w") == ["web/web1", "web/web2"]


# -- lbctl's own commands ----------------------------------------------------------------------

def test_own_commands(completer):
    assert texts(completer, "dr") == ["drain"]
    assert texts(completer, "drain w") == ["web/"]
    assert texts(completer, "drain web/web1 ") == ["--timeout"]
    assert texts(completer, "ready be_app/") == ["be_app/app1", "be_app/app2"]
    assert texts(completer, "servers ") == ["web", "be_app", "st_src"]
    assert texts(completer, "ex") == ["exit"]


def test_watch_and_help_complete_a_command(completer):
    assert texts(completer, "watch ") == texts(completer, "")
    assert texts(completer, "watch sh") == ["show", "shutdown"]
    assert set(texts(completer, "watch show s")) == {"stat", "servers", "sess", "schema", "ssl",
                                                     "startup-logs"}
    assert texts(completer, "watch servers w") == ["web"]
    assert texts(completer, "help set server w") == ["web/"]
    assert texts(completer, "help show st") == ["startup-logs", "stat"]


def test_commands_follow_what_the_server_supports():
    completer = LbCompleter(["show stat [up]*", "show info"], Provider())
    assert texts(completer, "show ") == ["stat", "info"]
    assert texts(completer, "a") == []
    completer.set_commands(["abort ssl cert <certfile>"])
    assert texts(completer, "a") == ["abort"]
    assert texts(completer, "show ") == []


def test_compile_usage_shapes():
    nfa = compile_usage("set table <table> key <k> [data.* <v>]*")
    states = nfa.closure({0})
    for word in ["set", "table", "t", "key", "k", "data.gpc0", "1", "data.gpc1", "2"]:
        states = nfa.step(states, word)
        assert states, word


# -- the cache ---------------------------------------------------------------------------------

def test_cached_fetches_at_most_once_per_ttl():
    now = [100.0]  # binary-exact steps below
    fetched = []
    cached = Cached(lambda: fetched.append(now[0]) or len(fetched), ttl=2.0, clock=lambda: now[0])
    assert cached() == 1 and cached() == 1
    now[0] += 1.75
    assert cached() == 1
    now[0] += 0.25
    assert cached() == 2
    assert fetched == [100.0, 102.0]


# -- through a real prompt ---------------------------------------------------------------------

def test_tab_completes_in_a_prompt_session(completer):
    """Tab inserts the single completion. Completion runs asynchronously, so each next chunk of
    keys is sent when the buffer shows the previous completion was inserted (and no completion is
    started while typing, which would race with the Tab of the same chunk; see test_repl for that)."""
    script = {"set server web/": "web1 state dr\t", "set server web/web1 state drain": "\r"}
    with create_pipe_input() as inp:
        session = PromptSession(completer=completer, input=inp, output=DummyOutput(), complete_while_typing=False)

        def on_change(buffer) -> None:
            if buffer.text in script:
                inp.send_text(script.pop(buffer.text))

        session.default_buffer.on_text_changed += on_change
        inp.send_text("set server w\t")
        assert session.prompt() == "set server web/web1 state drain"
    assert script == {}
